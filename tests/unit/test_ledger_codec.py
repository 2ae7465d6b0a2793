"""What the ledger keeps of a server's state, and gives back: every field, whatever fields there are."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from resource_server import aws
from resource_server.budget import Budget
from resource_server.contract import ResourceServer, ServerId
from resource_server.ledger import Ledger
from resource_server.ownership import Owner, State
from tests.support.emulator import LEDGER_TABLE, REGION, create_ledger_table

OWNER = Owner("arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "Api")


@pytest.fixture
def ledger(aws_environment: None) -> Iterator[Ledger]:
    with mock_aws():
        create_ledger_table(boto3.client("dynamodb", region_name=REGION))
        budget = Budget()
        budget.start(60_000)
        made = Ledger(LEDGER_TABLE, budget, aws.tables(budget.tables_end), write_attempt_s=aws.COGNITO.attempt_s)
        made.start("request", "invocation")
        yield made


def a_new_server() -> ServerId:
    return ServerId("us-east-1_pool", f"https://{uuid.uuid4().hex}.example.com")


# Built from ResourceServer's and Scope's own annotations: a field added to either later is filled
# in, and must come back, with no edit here.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(held=st.from_type(ResourceServer))
def test_an_adopted_servers_prior_state_comes_back_from_the_ledger_field_for_field(
    ledger: Ledger, held: ResourceServer
) -> None:
    server_id = a_new_server()
    prior = held._replace(**server_id._asdict())  # where it lives is the record's key

    claimed = ledger.claim(
        server_id, None, state=State.ADOPTED, owner=OWNER, request_id="r", issued_at=None, prior=prior
    )
    ledger.settle(claimed, State.ADOPTED)
    read = ledger.read(server_id)

    assert read is not None
    assert read.prior == prior
    assert read.prior is not None
    assert [type(scope) for scope in read.prior.scopes] == [type(scope) for scope in prior.scopes]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declared=st.from_type(ResourceServer))
def test_what_a_request_applied_comes_back_through_the_same_codec_and_survives_a_later_lease(
    ledger: Ledger, declared: ResourceServer
) -> None:
    server_id = a_new_server()
    applied = declared._replace(**server_id._asdict())

    claimed = ledger.claim(server_id, None, state=State.CREATING, owner=OWNER, request_id="r", issued_at=None)
    ledger.settle(claimed, State.MADE, applied=applied)
    taken, took = ledger.take(server_id, OWNER)  # a later Update's lease keeps it until it applies its own
    assert took
    assert taken is not None
    assert taken.applied == applied
    ledger.settle(taken, State.HELD)
    read = ledger.read(server_id)

    assert read is not None
    assert read.applied == applied


def test_a_prior_state_as_2_0_0_wrote_it_still_loads(ledger: Ledger) -> None:
    server_id = a_new_server()
    item: dict[str, Any] = {
        "server": {"S": str(server_id)},
        "pool": {"S": server_id.user_pool_id},
        "state": {"S": "adopted"},
        "stack": {"S": OWNER.stack_id},
        "logical": {"S": OWNER.logical_id},
        "origin": {"S": "adopted"},
        "request": {"S": "r"},
        "version": {"N": "2"},
        "updated": {"S": "2026-12-01T00:00:00+00:00"},
        "write": {"S": "token"},
        "prior": {"S": json.dumps({"name": "Before", "scopes": [["read", "Read it"], ["write", "Write it"]]})},
    }
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=LEDGER_TABLE, Item=item)

    read = ledger.read(server_id)

    assert read is not None
    assert read.prior is not None
    assert read.prior.name == "Before"
    assert [(scope.name, scope.description) for scope in read.prior.scopes] == [
        ("read", "Read it"),
        ("write", "Write it"),
    ]
    assert read.prior.id == server_id
