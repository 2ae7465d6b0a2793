"""What differs between what a stack last applied to a server and what Cognito holds now."""

from __future__ import annotations

from resource_server.cognito import Held
from resource_server.contract import ResourceServer

MISSING = "missing: Cognito holds no such server"


def differences(applied: ResourceServer | None, held: Held | None) -> tuple[str, ...]:
    """Each difference in one line, Cognito's side first; none when Cognito holds what was
    applied. A record that predates `applied` can only be checked for being there, and unmanaged."""
    if held is None:
        return (MISSING,)
    found: list[str] = []
    if held.managed_by:
        found.append(f"ManagedBy: Cognito manages it now ({held.managed_by:.40})")
    if applied is None:
        return tuple(found)
    now = held.server
    if now.name != applied.name:
        found.append(f"Name: {now.name!r} in Cognito, {applied.name!r} declared")
    declared = dict(applied.scopes)
    holds = dict(now.scopes)
    found += [f"scope added: {name}" for name in holds if name not in declared]
    found += [f"scope removed: {name}" for name in declared if name not in holds]
    found += [
        f"scope description: {name} is {holds[name]!r} in Cognito, {description!r} declared"
        for name, description in declared.items()
        if name in holds and holds[name] != description
    ]
    return tuple(found)
