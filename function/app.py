"""Entry point for Custom::CognitoResourceServer: wiring only. Lambda calls `handler`.

Until it can answer, it imports only the standard library (and the provider's own modules
that use nothing else): whatever fails while the rest loads, every request still gets one
FAILED answer that says why, rather than leaving CloudFormation to wait out ServiceTimeout.
"""

# ruff: noqa: E402 - the collector is paused before the imports it would otherwise scan
from __future__ import annotations

import gc

# Init only allocates objects that live as long as the process; collecting during it cost
# about a tenth of the cold start (`make bench`, figure 1). Frozen afterwards, they are
# never scanned again, so warm requests' collections stay small too.
gc.disable()

from typing import Any

from resource_server import startup
from resource_server.event import is_drift_check

try:
    from resource_server.provider import Provider

    provider: Provider | None = Provider.from_environment()
    failure = ""
except Exception as error:  # noqa: BLE001 - any failure to start is answered, never raised
    provider, failure = None, startup.explain(error)
gc.freeze()
gc.enable()


def handler(raw_event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    if is_drift_check(raw_event):
        if provider is None:
            raise RuntimeError(failure)  # no one to answer: the invocation fails, and says why
        return provider.check_drift(raw_event, context)
    if provider is None:
        startup.answer_unstarted(raw_event, context, failure)
        return None
    provider.handle(raw_event, context)
    return None
