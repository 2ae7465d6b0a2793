"""What version 1.0.0 left behind, for the tests of an upgrade from it.

1.0.0 (commit ee227e6) kept no ledger: a server it made has no record. When it adopted a server,
it kept the server's prior state in the answers table (IDEMPOTENCY_TABLE), one item per resource
and server, keyed `adoption|{StackId}|{LogicalResourceId}|{pool}|{identifier}`, holding `name`,
`scopes` (JSON, [[name, description], ...]), `operation` (the EventId of the stack event that
began the adopting operation), `request_id` and `adopted_at`, with no expiry. It removed the item
once it gave the server back or deleted it, never when the adoption succeeded
(function/resource_server/adoption.py at ee227e6).
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE, REGION
from tests.support.servers import API, adopting
from tests.support.stack_operations import Custom, ModelStack


def answers_table_of_1_0_0(answers_table: str, age_s: float = 30 * 24 * 3600, ledger: str = LEDGER_TABLE) -> None:
    """As if the answers table were 1.0.0's, made long before the upgrade made the ledger, and the
    upgrade not yet recorded in the ledger."""
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    table = backend.get_table(answers_table)
    table.created_at = table.created_at - datetime.timedelta(seconds=age_s)
    backend.get_table(ledger).delete_item(DynamoType({"S": "#upgraded-from-1.0.0"}), None)


def made_by_1_0_0(dynamodb: Any, physical_id: str, ledger: str = LEDGER_TABLE) -> None:
    """As if 1.0.0 had made the server that `physical_id` names: no ledger record."""
    dynamodb.delete_item(TableName=ledger, Key={"server": {"S": physical_id}})


def adopted_by_1_0_0(
    dynamodb: Any,
    answers_table: str,
    *,
    stack_id: str,
    logical_id: str,
    physical_id: str,
    prior: tuple[str, list[tuple[str, str]]],
    operation: str,
    ledger: str = LEDGER_TABLE,
) -> None:
    """As if 1.0.0 had adopted the server: no ledger record, and 1.0.0's adoption item."""
    made_by_1_0_0(dynamodb, physical_id, ledger)
    name, scopes = prior
    dynamodb.put_item(
        TableName=answers_table,
        Item={
            "id": {"S": f"adoption|{stack_id}|{logical_id}|{physical_id}"},
            "name": {"S": name},
            "scopes": {"S": json.dumps([[n, d] for n, d in scopes])},
            "operation": {"S": operation},
            "request_id": {"S": "1.0.0-adopting-request"},
            "adopted_at": {"S": datetime.datetime.now(datetime.UTC).isoformat()},
        },
    )


def stack_upgraded_from_1_0_0(send: Any, pool: str) -> ModelStack:
    """A stack holding a server (AdoptExisting "true") that 1.0.0 made: no adoption record of
    1.0.0's, the ledger's record of it as 1.0.0's, and 1.0.0's answers table, older than the ledger."""
    stack = ModelStack(send)
    stack.create({"Api": Custom(adopting(pool))})
    made_by_1_0_0(boto3.client("dynamodb"), f"{pool}|{API}")
    answers_table_of_1_0_0(IDEMPOTENCY_TABLE)
    return stack
