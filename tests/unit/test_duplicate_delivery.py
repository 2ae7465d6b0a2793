"""Lambda may deliver a request twice: the second delivery gets the first's answer (moto's DynamoDB)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from resource_server.cognito import Cognito
from resource_server.contract import ResourceServer
from resource_server.replay import Replay
from tests.support import events
from tests.support.lambda_context import LambdaContext
from tests.unit.conftest import Provider

TABLE = "cognito-resource-server-idempotency"
API = "https://api.example.com"


@pytest.fixture
def replaying(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Provider:
    """The provider as deployed: answers kept in a DynamoDB table shaped like template.yaml's."""
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    import app

    monkeypatch.setattr(app, "replay", Replay(TABLE))
    return provider


def twice(provider: Provider, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return provider.send(event), provider.send(event)


def test_create_delivered_twice_gets_the_same_success_and_makes_one_server(replaying: Provider, pool: str) -> None:
    first, second = twice(replaying, events.request("Create", events.properties(pool)))

    assert first["Status"] == "SUCCESS", first["Reason"]
    assert second == first
    assert replaying.writes == ["CreateResourceServer"]


def test_failed_create_delivered_twice_gets_the_same_failure_and_physical_id(
    replaying: Provider, cognito_idp: Any, pool: str
) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name="Not ours")

    first, second = twice(replaying, events.request("Create", events.properties(pool)))

    assert first["Status"] == "FAILED"
    assert second == first
    assert replaying.writes == ["CreateResourceServer"]


def test_update_delivered_twice_writes_once(replaying: Provider, pool: str) -> None:
    old = events.properties(pool)
    replaying.send(events.request("Create", old))
    new = events.properties(pool, scopes=[("admin", "Run it")])

    first, second = twice(replaying, events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert first["Status"] == "SUCCESS", first["Reason"]
    assert second == first
    assert replaying.writes == ["CreateResourceServer", "UpdateResourceServer"]


def test_delete_delivered_twice_is_harmless(replaying: Provider, pool: str) -> None:
    props = events.properties(pool)
    replaying.send(events.request("Create", props))

    first, second = twice(replaying, events.request("Delete", props, physical_id=f"{pool}|{API}"))

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert second == first


def test_a_new_request_for_the_same_resource_is_worked_out_afresh(replaying: Provider, pool: str) -> None:
    props = events.properties(pool)
    replaying.send(events.request("Create", props))
    replaying.send(events.request("Delete", props, physical_id=f"{pool}|{API}"))

    again = replaying.send(events.request("Create", props))  # a new RequestId

    assert again["Status"] == "SUCCESS", again["Reason"]
    assert replaying.writes == ["CreateResourceServer", "DeleteResourceServer", "CreateResourceServer"]


def test_when_the_store_is_unreachable_the_request_is_still_answered_once(
    provider: Provider, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app

    monkeypatch.setattr(app, "replay", Replay("no-such-table"))

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.writes == ["CreateResourceServer"]


def test_after_a_deadline_answer_a_repeated_delivery_gets_that_answer(
    replaying: Provider, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = Cognito.create

    def slow_create(self: Cognito, server: ResourceServer) -> None:
        self.set_time_left(60_000)  # let the create itself through
        real_create(self, server)
        self.server_in_doubt = server.id
        time.sleep(1.5)  # the create landed, but the Lambda deadline comes first

    monkeypatch.setattr(Cognito, "create", slow_create)
    event = events.request("Create", events.properties(pool))
    before = len(replaying.answers)
    replaying.handler(event, LambdaContext(timeout_s=1.5))
    timed_out = replaying.answers[-1]
    assert len(replaying.answers) == before + 1
    assert timed_out["Status"] == "FAILED"
    monkeypatch.setattr(Cognito, "create", real_create)

    again = replaying.send(event)

    assert again == timed_out, "CloudFormation must not hear SUCCESS after FAILED for one request"
    assert again["PhysicalResourceId"] == f"{pool}|{API}", "the rollback Delete removes the server that landed"
