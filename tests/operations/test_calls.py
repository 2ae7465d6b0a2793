"""The AWS calls one request makes, counted where they arrive: exact, so they can be pinned. Each
request's floor is its one Cognito write (two for an adoption: the look, and the write)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support import events
from tests.support.cloudformation import new_stack, set_stack_status
from tests.support.emulator import FAULTS
from tests.support.in_process import Harness
from tests.support.servers import API, adopting, existing_server

V2 = "https://v2.example.com"
# The ledger's and the answers store's share: the answer kept (2), the lease taken and given back (2).
GOALS = {
    "Create": 6,
    "Update in place": 6,
    "Update with a new Identifier": 6,
    "Delete": 6,
    "Create with AdoptExisting": 8,
    "rollback Delete of an adoption": 7,
}


def counted(provider: Harness, event: dict[str, Any]) -> dict[str, int]:
    FAULTS.reset()
    answer = provider.send(event)
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    return dict(FAULTS.attempts)


def in_stack(stack_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "StackId": stack_id, "LogicalResourceId": "Api"}


def test_a_create_update_replacement_and_delete_each_make_at_most_six_calls(provider: Harness, pool: str) -> None:
    props = events.properties(pool)
    renamed = events.properties(pool, name="Renamed")
    moved = events.properties(pool, identifier=V2)
    calls = {
        "Create": counted(provider, events.request("Create", props)),
        "Update in place": counted(
            provider, events.request("Update", renamed, physical_id=f"{pool}|{API}", old_properties=props)
        ),
        "Update with a new Identifier": counted(
            provider, events.request("Update", moved, physical_id=f"{pool}|{API}", old_properties=renamed)
        ),
        "Delete": counted(provider, events.request("Delete", moved, physical_id=f"{pool}|{V2}")),
    }

    assert {kind: sum(c.values()) for kind, c in calls.items()} == {kind: GOALS[kind] for kind in calls}, calls
    assert all(c.get("GetItem", 0) == 0 for c in calls.values()), "no read before a claim: write first"


@pytest.mark.usefixtures("pool")
def test_an_adoption_and_its_rollback_delete_make_eight_and_seven_calls(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack_id = new_stack(f"calls-{uuid.uuid4().hex[:8]}")
    set_stack_status(stack_id, "CREATE_IN_PROGRESS")
    adopted = counted(provider, in_stack(stack_id, events.request("Create", adopting(pool))))
    set_stack_status(stack_id, "ROLLBACK_IN_PROGRESS")  # a sibling failed: the adoption is undone
    given_back = counted(
        provider, in_stack(stack_id, events.request("Delete", adopting(pool), physical_id=f"{pool}|{API}"))
    )

    assert sum(adopted.values()) == GOALS["Create with AdoptExisting"], adopted
    assert sum(given_back.values()) == GOALS["rollback Delete of an adoption"], given_back
    assert given_back.get("DescribeStackEvents") == 1, "the stack's events read once"
