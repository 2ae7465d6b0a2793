"""5. The outputs: the values a stack reads with Fn::GetAtt.

All are flat strings, since nested Data keys can't be addressed by GetAtt.
"""

from __future__ import annotations

from .contract import ResourceServer
from .delivery import Answer


def data(server: ResourceServer) -> dict[str, str]:
    return {
        "Identifier": server.identifier,
        "UserPoolId": server.user_pool_id,
        "Name": server.name,
        # Space is OAuth's own scope delimiter (RFC 6749 3.3) and can't occur in a scope string:
        # `!Split [" ", !GetAtt X.Scopes]` gives the list, and clients can send it as-is.
        "Scopes": " ".join(server.scope_strings),
    }


def answer(server: ResourceServer) -> Answer:
    """The SUCCESS answer for a server: its physical id, and its outputs."""
    return Answer(str(server.id), data(server))
