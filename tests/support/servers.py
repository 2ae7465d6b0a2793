"""Servers in Cognito as the tests set them up and read them back: the stack's own, one made by
hand, one someone else made, and what a pool holds."""

from __future__ import annotations

from typing import Any

from tests.support import events

API = "https://api.example.com"  # the Identifier events/ and events.properties() use
HAND_MADE = {"name": "Made by hand", "scopes": [("legacy", "What the clients hold today")]}


def held(cognito_idp: Any, pool: str) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """What Cognito holds in a pool: Name and sorted scopes, by Identifier."""
    listed = cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"]
    return {
        s["Identifier"]: (s["Name"], sorted((x["ScopeName"], x["ScopeDescription"]) for x in s.get("Scopes", [])))
        for s in listed
    }


def existing_server(cognito_idp: Any, pool: str) -> None:
    """A server made outside any stack, say by hand or by AWS::Cognito::UserPoolResourceServer."""
    scopes = [{"ScopeName": n, "ScopeDescription": d} for n, d in HAND_MADE["scopes"]]
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name=HAND_MADE["name"], Scopes=scopes)


def adopting(pool: str, **state: Any) -> dict[str, Any]:
    """Properties that take over the server already at their Identifier."""
    return events.properties(pool, AdoptExisting="true", **state)
