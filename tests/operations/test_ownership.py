"""Ownership from the ledger, where CloudFormation's signals lie: nested stacks' events, requests
CloudFormation cancelled, reads it throttles, a provider reinstalled, stacks that share it, and
stacks made with 1.0.0. Issue 14 reproduced each case on 1.0.0 (ee227e6)."""

from __future__ import annotations

import datetime
import time
from typing import Any

import boto3
import pytest

from resource_server.ownership import State
from tests.support import events, legacy
from tests.support.cloudformation import forget_events_before_the_last_operation, set_stack_status
from tests.support.emulator import (
    FAULTS,
    IDEMPOTENCY_TABLE,
    LEDGER_TABLE,
    reinstall_provider,
)
from tests.support.in_process import Environments, Harness
from tests.support.servers import API, HAND_MADE, adopting, existing_server, held
from tests.support.stack_operations import Custom, ModelStack, Nested, ReplacementRollback, Sibling


def record(pool: str, identifier: str = API) -> dict[str, Any] | None:
    """The ledger's record of a server, as DynamoDB holds it."""
    found = boto3.client("dynamodb").get_item(TableName=LEDGER_TABLE, Key={"server": {"S": f"{pool}|{identifier}"}})
    item: dict[str, Any] | None = found.get("Item")
    return item


def state_of(pool: str, identifier: str = API) -> str | None:
    item = record(pool, identifier)
    return item["state"]["S"] if item else None


# Nested stacks


def test_a_nested_stack_completing_does_not_make_a_failed_adoption_look_like_a_success(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(adopting(pool)), "Provider": Nested(), "Client": Sibling(fails=True)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before, "given back as it was, not deleted"


def test_a_nested_stack_completing_mid_update_does_not_settle_an_adoption_that_then_fails(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Other": Custom(events.properties(pool, identifier="https://other.example.com"))})
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)

    status = stack.update(
        {**stack.template, "Api": Custom(adopting(pool)), "Provider": Nested(), "Client": Sibling(fails=True)}
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


# Requests CloudFormation cancelled


def test_a_cancelled_create_is_removed_by_the_delete_with_the_id_cloudformation_made_up(
    environments: Environments, cognito_idp: Any, pool: str
) -> None:
    FAULTS.hold("CreateResourceServer", 1.0)  # in flight when the sibling fails
    stack = ModelStack(start=environments.start)
    template = {"Api": Custom(events.properties(pool)), "Client": Sibling(fails=True, after_s=0.3)}

    assert stack.create(template) == "ROLLBACK_COMPLETE"

    create, delete = stack.requests
    assert create.cancelled
    assert delete.event["PhysicalResourceId"].startswith(f"{stack.name}-Api-")
    assert delete.answer["Status"] == "SUCCESS"
    assert held(cognito_idp, pool) == {}, "nothing leaked"
    assert environments.unanswered() == [], "the cancelled Create answered too, once"
    again = ModelStack(start=environments.start)
    assert again.create({"Api": Custom(events.properties(pool))}) == "CREATE_COMPLETE", "no 'already exists'"


def test_a_cancelled_create_that_runs_after_its_delete_makes_nothing(provider: Harness, pool: str) -> None:
    # Lambda can deliver the Create late: the Delete CloudFormation sent after it runs first.
    props = events.properties(pool)
    signed = time.time()
    create = events.request("Create", props, signed_at=signed)
    delete = events.request("Delete", props, physical_id="solar-system-api-Api-1X2Y3Z4W5V6U", signed_at=signed + 2)

    assert provider.send(delete)["Status"] == "SUCCESS"
    late = provider.send(create)

    assert late["Status"] == "FAILED"
    assert late["Reason"].startswith("Cancelled")
    assert late["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert provider.writes == []
    next_operation = events.request("Create", props, signed_at=signed + 10)
    assert provider.send(next_operation)["Status"] == "SUCCESS", "a later Create of the same resource is no fence's"


def test_a_cancelled_adoption_is_given_back(environments: Environments, cognito_idp: Any, pool: str) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    FAULTS.hold("UpdateResourceServer", 1.0)  # the adoption's write is in flight when the sibling fails
    stack = ModelStack(start=environments.start)

    status = stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True, after_s=0.3)})

    assert status == "ROLLBACK_COMPLETE"
    assert stack.requests[0].cancelled
    assert held(cognito_idp, pool) == before
    assert state_of(pool) == State.GONE


def test_an_adoption_delivered_after_the_delete_that_undoes_it_takes_nothing(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # Found by test_provider_model.py: Admin, in the same update, adopts the server Api held; the
    # Delete with the id CloudFormation made up ran first, found Api's record, and had nothing to undo.
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool, name="Alpha", scopes=[]))})
    before = held(cognito_idp, pool)
    props = adopting(pool, name="Alpha", scopes=[("read", "Read")])
    set_stack_status(stack.stack_id, "UPDATE_IN_PROGRESS")
    create = {**events.request("Create", props), "StackId": stack.stack_id, "LogicalResourceId": "Admin"}
    set_stack_status(stack.stack_id, "UPDATE_ROLLBACK_IN_PROGRESS")  # a sibling failed; the Create is cancelled
    delete = {
        **events.request("Delete", props, physical_id=f"{stack.name}-Admin-1X2Y3Z4W5V6U"),
        "StackId": stack.stack_id,
        "LogicalResourceId": "Admin",
    }

    assert provider.send(delete)["Status"] == "SUCCESS"
    late = provider.send(create)

    assert late["Status"] == "FAILED"
    assert late["Reason"].startswith("Cancelled: the stack is already in UPDATE_ROLLBACK_IN_PROGRESS")
    assert held(cognito_idp, pool) == before
    assert record(pool)["logical"]["S"] == "Api"


def test_a_cancelled_create_never_touches_a_server_that_existed_before_it(
    environments: Environments, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    FAULTS.hold("DescribeResourceServer", 1.0)  # the Create is still looking when the sibling fails
    stack = ModelStack(start=environments.start)

    status = stack.create({"Api": Custom(events.properties(pool)), "Client": Sibling(fails=True, after_s=0.3)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_a_rollback_update_that_overtakes_its_forward_update_leaves_the_rollbacks_state(
    environments: Environments, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(start=environments.start)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(cognito_idp, pool)
    FAULTS.hold("UpdateResourceServer", 1.0, act_first=True)  # the forward write lands; its answer is late

    status = stack.update(
        {"Api": Custom(events.properties(pool, name="Renamed")), "Client": Sibling(fails=True, after_s=0.3)}
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.requests[-2].cancelled
    assert held(cognito_idp, pool) == before, "the rollback's write came last"


def test_a_forward_update_delivered_after_its_rollback_changes_nothing(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    old, new = events.properties(pool), events.properties(pool, name="Renamed")
    physical_id = f"{pool}|{API}"
    signed = time.time()
    provider.send(events.request("Create", old, signed_at=signed))
    forward = events.request("Update", new, physical_id=physical_id, old_properties=old, signed_at=signed + 2)
    rollback = events.request("Update", old, physical_id=physical_id, old_properties=new, signed_at=signed + 4)
    before = held(cognito_idp, pool)

    assert provider.send(rollback)["Status"] == "SUCCESS"
    late = provider.send(forward)

    assert late["Reason"].startswith("Superseded")
    assert held(cognito_idp, pool) == before


def test_a_cancelled_replacement_is_removed_by_the_rollback(
    environments: Environments, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(start=environments.start)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(cognito_idp, pool)
    FAULTS.hold("CreateResourceServer", 1.0)  # the new server's create is in flight

    status = stack.update(
        {
            "Api": Custom(events.properties(pool, identifier="https://v2.api.example.com")),
            "Client": Sibling(fails=True, after_s=0.3),
        }
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before, "the replacement CloudFormation never took is gone"


# Reads CloudFormation and DynamoDB throttle


@pytest.mark.parametrize(
    ("operation", "code"),
    # The Delete takes its lease and reads the record in one UpdateItem (write first, read on conflict).
    [("DescribeStackEvents", "Throttling"), ("UpdateItem", "ThrottlingException"), ("PutItem", "ThrottlingException")],
)
def test_six_throttled_reads_in_a_row_still_give_an_adopted_server_back(
    provider: Harness, cognito_idp: Any, pool: str, operation: str, code: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    stack = ModelStack(
        provider.send,
        on_status=lambda s: FAULTS.fail(operation, code, times=6) if s == "ROLLBACK_IN_PROGRESS" else None,
    )

    status = stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before
    assert FAULTS.pending() == 0, "every throttle was met, and outlasted"


def test_an_adoption_settles_so_that_a_later_delete_needs_no_history(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool))})
    assert state_of(pool) == State.ADOPTED
    stack.update({"Api": Custom(adopting(pool, name="Renamed"))})  # the next request for it settles it
    assert state_of(pool) == State.HELD
    FAULTS.fail("DescribeStackEvents", "AccessDenied", times=10, status=403)
    reads = FAULTS.attempts["DescribeStackEvents"]

    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}
    assert FAULTS.attempts["DescribeStackEvents"] == reads, "no read of the stack's history"


def test_an_adoption_no_later_request_settled_is_deleted_without_the_stacks_history(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool))})
    stack.update({**stack.template, "Other": Custom(events.properties(pool, identifier="https://other.example.com"))})
    assert state_of(pool) == State.ADOPTED, "no request named it since"
    forget_events_before_the_last_operation(stack.stack_id)  # as years on: the adoption is no longer listed

    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}, "a later operation began: the one that adopted it succeeded"


# The provider reinstalled, and the ledger lost


def test_a_reinstalled_provider_still_gives_back_what_a_failed_deployment_adopted(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    stack = ModelStack(provider.send, on_status=give_back_fails)
    assert stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)}) == "ROLLBACK_FAILED"
    FAULTS.clear()
    reinstall_provider()

    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == before


def give_back_fails(status: str) -> None:
    """The rollback can't give an adopted server back: Cognito fails every attempt."""
    if status == "ROLLBACK_IN_PROGRESS":
        FAULTS.fail("UpdateResourceServer", "InternalErrorException", times=20, status=500)


def test_with_the_ledger_lost_a_delete_never_deletes_what_may_have_been_adopted(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool))})
    boto3.client("dynamodb").delete_item(TableName=LEDGER_TABLE, Key={"server": {"S": f"{pool}|{API}"}})
    reinstall_provider()  # and the answers table is newer than the ledger: 1.0.0's records can't be told

    assert stack.delete() == "DELETE_FAILED"
    reason = stack.requests[-1].answer["Reason"]
    assert "it may have been adopted, so it was not deleted" in reason
    assert len(reason) <= 240
    assert API in held(cognito_idp, pool)


# Stacks that share the provider


def test_a_stack_cannot_adopt_a_server_another_stack_holds_until_that_stack_lets_it_go(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    owner = ModelStack(provider.send)
    owner.create({"Api": Custom(events.properties(pool, name="Owned"))})
    before = held(cognito_idp, pool)
    other = ModelStack(provider.send)

    assert other.create({"Taken": Custom(adopting(pool))}) == "ROLLBACK_COMPLETE"
    assert "held by Api of stack " + owner.name in other.requests[0].answer["Reason"]
    assert held(cognito_idp, pool) == before
    assert other.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == before, "the refused stack's rollback and delete left it alone"

    # DeletionPolicy Retain, then removed: the owner's stack no longer lists it.
    owner.update({"Api": Custom(events.properties(pool, name="Owned"), retain=True)})
    owner.update({})
    taker = ModelStack(provider.send)
    assert taker.create({"Taken": Custom(adopting(pool))}) == "CREATE_COMPLETE"
    assert owner.delete() == "DELETE_COMPLETE"
    assert API in held(cognito_idp, pool), "the old owner's stack can no longer delete it"


def test_a_move_within_a_stack_that_fails_gives_the_server_back_to_the_logical_id_it_came_from(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool, name="Before the move"))})
    before = held(cognito_idp, pool)

    status = stack.update({"Admin": Custom(adopting(pool, name="Moved")), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before
    restored = record(pool)
    assert restored is not None
    assert (restored["logical"]["S"], restored["state"]["S"]) == ("Api", State.MADE)
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}, "the logical id that holds it again deletes it: nothing leaked"


@pytest.mark.parametrize("rollback", list(ReplacementRollback))
def test_a_failed_move_while_the_old_logical_id_moves_to_another_identifier_gives_the_server_back(
    provider: Harness, cognito_idp: Any, pool: str, rollback: ReplacementRollback
) -> None:
    # Found by test_provider_model.py: Api is replaced onto a new Identifier while Admin adopts
    # Api's server, and a sibling fails; Api's rollback Update comes back onto that server first.
    stack = ModelStack(provider.send, rollback)
    stack.create({"Api": Custom(events.properties(pool, name="Alpha", scopes=[]))})
    before = held(cognito_idp, pool)

    status = stack.update(
        {
            "Api": Custom(events.properties(pool, "https://a.example.com")),
            "Admin": Custom(adopting(pool, name="Alpha", scopes=[("read", "Read")])),
            "Client": Sibling(fails=True),
        }
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before, "given back as it was, and the replacement removed"
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}


FOREIGN = "https://foreign.example.com"


def test_a_rollback_update_onto_the_server_another_logical_id_adopted_in_the_failed_update_answers(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # Found by test_provider_model.py: Admin adopts Api's server while Api moves onto a server
    # that exists, which fails; Api's rollback Update comes back to its server before Admin's
    # cleanup Delete gives it back.
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=FOREIGN, Name="Not ours")
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool, name="Alpha", scopes=[]))})
    before = held(cognito_idp, pool)
    old, moved = events.properties(pool, name="Alpha", scopes=[]), events.properties(pool, FOREIGN, "Alpha")
    physical_id = f"{pool}|{API}"

    def sent(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        return provider.send({**event, "StackId": stack.stack_id, "LogicalResourceId": logical_id})

    set_stack_status(stack.stack_id, "UPDATE_IN_PROGRESS")
    admin = sent("Admin", events.request("Create", adopting(pool, name="Alpha", scopes=[("read", "Read")])))
    forward = sent("Api", events.request("Update", moved, physical_id=physical_id, old_properties=old))
    set_stack_status(stack.stack_id, "UPDATE_ROLLBACK_IN_PROGRESS")
    back = sent("Api", events.request("Update", old, physical_id=physical_id, old_properties=moved))
    set_stack_status(stack.stack_id, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    cleanup = sent("Admin", events.request("Delete", adopting(pool), physical_id=admin["PhysicalResourceId"]))

    assert (admin["Status"], forward["Status"]) == ("SUCCESS", "FAILED")
    assert back["Status"] == cleanup["Status"] == "SUCCESS"
    assert held(cognito_idp, pool) == before
    restored = record(pool)
    assert restored is not None
    assert restored["logical"]["S"] == "Api"


def test_a_forward_replacement_delivered_after_the_rollback_began_never_takes_a_server_that_exists(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # Found by test_provider_model.py: a cancelled forward Update, delivered late, looked like the
    # rollback of a replacement onto a server 1.0.0 made, and took over someone else's server.
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=FOREIGN, Name="Not ours")
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(cognito_idp, pool)
    old, moved = events.properties(pool), events.properties(pool, FOREIGN, "Taken")
    began = time.time() + 10  # on CloudFormation's clock, after the create-stack's requests
    set_stack_status(stack.stack_id, "UPDATE_IN_PROGRESS", datetime.datetime.fromtimestamp(began, datetime.UTC))
    forward = events.request("Update", moved, physical_id=f"{pool}|{API}", old_properties=old, signed_at=began + 1)
    set_stack_status(stack.stack_id, "UPDATE_ROLLBACK_IN_PROGRESS")  # a sibling failed; it was cancelled

    late = provider.send({**forward, "StackId": stack.stack_id, "LogicalResourceId": "Api"})

    assert late["Status"] == "FAILED"
    assert "a replacement never takes over an existing server" in late["Reason"]
    assert held(cognito_idp, pool) == before


def test_a_failed_move_of_a_server_1_0_0_made_leaves_it_to_the_logical_id_it_came_from(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool, name="Before the move"))})
    legacy.made_by_1_0_0(boto3.client("dynamodb"), f"{pool}|{API}")
    before = held(cognito_idp, pool)

    status = stack.update({"Admin": Custom(adopting(pool, name="Moved")), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}, "deleted as 1.0.0 deletes it: nothing leaked"


def test_throttled_reads_of_another_stacks_resource_still_let_a_stack_adopt_what_it_let_go(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    owner = ModelStack(provider.send)
    owner.create({"Api": Custom(events.properties(pool), retain=True)})
    owner.update({})
    FAULTS.fail("DescribeStackResource", "Throttling", times=6)

    assert ModelStack(provider.send).create({"Taken": Custom(adopting(pool))}) == "CREATE_COMPLETE"
    assert FAULTS.pending() == 0, "every throttle was met, and outlasted"


# Stacks made with 1.0.0


def test_a_1_0_0_adoption_record_is_honoured_and_moved_into_the_ledger(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    stack = ModelStack(provider.send, on_status=give_back_fails)
    assert stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)}) == "ROLLBACK_FAILED"
    FAULTS.clear()
    # What 1.0.0 would have left: no ledger record, and its adoption item in the answers table.
    adopted = record(pool)
    assert adopted is not None
    legacy.adopted_by_1_0_0(
        boto3.client("dynamodb"),
        IDEMPOTENCY_TABLE,
        stack_id=stack.stack_id,
        logical_id="Api",
        physical_id=f"{pool}|{API}",
        prior=(HAND_MADE["name"], HAND_MADE["scopes"]),
        operation=adopted["operation"]["S"],
    )

    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == before, "given back as 1.0.0 recorded it"
    assert state_of(pool) == State.GONE
    legacy_key = {"id": {"S": f"adoption|{stack.stack_id}|Api|{pool}|{API}"}}
    assert "Item" not in boto3.client("dynamodb").get_item(TableName=IDEMPOTENCY_TABLE, Key=legacy_key)


def test_a_1_0_0_server_with_adopt_existing_and_no_adoption_record_is_deleted_as_1_0_0_deleted_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # 1.0.0 kept an adoption record until the server was deleted: with its answers table older
    # than the ledger, no record means it created the server.
    stack = legacy.stack_upgraded_from_1_0_0(provider.send, pool)

    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}


def test_a_server_1_0_0_made_is_deleted_as_1_0_0_deleted_it(provider: Harness, cognito_idp: Any, pool: str) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool))})
    legacy.made_by_1_0_0(boto3.client("dynamodb"), f"{pool}|{API}")

    assert stack.update({"Api": Custom(events.properties(pool, name="Renamed"))}) == "UPDATE_COMPLETE"
    assert record(pool) is not None, "the Update recorded it"
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}


def test_a_replacement_cancelled_before_it_began_is_fenced_by_its_rollback(
    environments: Environments, cognito_idp: Any, pool: str
) -> None:
    # Found by test_provider_model.py: the rollback Update ran before the cancelled Update had
    # recorded its new server, which it then made, and nothing ever deleted.
    a, b = "https://a.example.com", "https://b.example.com"
    stack = ModelStack(start=environments.start)
    stack.create({"Api": Custom(events.properties(pool, a))})
    before = held(cognito_idp, pool)
    FAULTS.hold("CreateResourceServer", 0.7)

    status = stack.update(
        {
            "Api": Custom(events.properties(pool, b)),
            "Admin": Custom(events.properties(pool, a)),  # refused: Api holds it
            "Client": Sibling(fails=True, after_s=0.0),
        }
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before
