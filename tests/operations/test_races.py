"""The races an adversarial review found, each played as it happened (the explorer, in
tests/explore, finds R1, R2 and R5 by itself once their fixes are switched off)."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from resource_server.ownership import State
from tests.support import events, in_process, legacy
from tests.support.cloudformation import new_stack, set_stack_status
from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE
from tests.support.in_process import Harness
from tests.support.servers import API, adopting, existing_server, held
from tests.support.stack_operations import Custom, ModelStack


def record(pool: str, table: str = LEDGER_TABLE) -> dict[str, Any] | None:
    found = boto3.client("dynamodb").get_item(TableName=table, Key={"server": {"S": f"{pool}|{API}"}})
    item: dict[str, Any] | None = found.get("Item")
    return item


def in_stack(stack_id: str, event: dict[str, Any], logical_id: str = "Api") -> dict[str, Any]:
    return {**event, "StackId": stack_id, "LogicalResourceId": logical_id}


def test_r6_a_server_another_stack_is_still_creating_is_not_adopted(provider: Harness, pool: str) -> None:
    # Stack X's Create made the server and let its lease go; its answer has not reached
    # CloudFormation yet, so its resource shows no physical id: X's operation still runs.
    x = new_stack(f"x-{uuid.uuid4().hex[:8]}")
    set_stack_status(x, "CREATE_IN_PROGRESS")
    assert provider.send(in_stack(x, events.request("Create", events.properties(pool))))["Status"] == "SUCCESS"
    y = new_stack(f"y-{uuid.uuid4().hex[:8]}")
    set_stack_status(y, "CREATE_IN_PROGRESS")

    taking = provider.send(in_stack(y, events.request("Create", adopting(pool, name="Taken"))))

    assert taking["Status"] == "FAILED"
    assert "held by Api of stack x-" in taking["Reason"]
    kept = record(pool)
    assert kept is not None
    assert kept["stack"]["S"] == x


def test_r3_a_delete_with_no_record_on_a_restored_ledger_stops_to_ask(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    assert stack.create({"Api": Custom(adopting(pool))}) == "CREATE_COMPLETE"  # adopted, and not yet settled
    dynamodb = boto3.client("dynamodb")
    restored = f"ledger-restored-{uuid.uuid4().hex[:8]}"
    dynamodb.restore_table_to_point_in_time(SourceTableName=LEDGER_TABLE, TargetTableName=restored)
    dynamodb.delete_item(TableName=restored, Key={"server": {"S": f"{pool}|{API}"}})  # a record lost to the restore
    legacy.answers_table_of_1_0_0(IDEMPOTENCY_TABLE)
    import app

    monkeypatch.setattr(app, "provider", in_process.build(provider.client, IDEMPOTENCY_TABLE, ledger_table=restored))

    assert stack.delete() == "DELETE_FAILED"
    assert "it may have been adopted, so it was not deleted" in stack.requests[-1].answer["Reason"]
    assert API in held(cognito_idp, pool), "left as it was"


def test_r3_the_upgrade_from_1_0_0_is_recorded_once_in_the_ledger_for_the_answers_table_it_names(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = legacy.stack_upgraded_from_1_0_0(provider.send, pool)

    assert stack.delete() == "DELETE_COMPLETE"
    kept = boto3.client("dynamodb").get_item(TableName=LEDGER_TABLE, Key={"server": {"S": "#upgraded-from-1.0.0"}})
    assert "Item" in kept, "the upgrade, known once, is kept"
    assert record(pool) is not None
    assert record(pool)["state"]["S"] == State.GONE
