"""Lambda may deliver a request twice: the second delivery gets the first's answer (moto's DynamoDB)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from resource_server.replay import Replay
from tests.support import events, in_process
from tests.support.emulator import FAULTS
from tests.support.in_process import Harness
from tests.support.lambda_context import LambdaContext

TABLE = "cognito-resource-server-idempotency"
API = "https://api.example.com"


def create_table() -> None:
    """A DynamoDB table shaped like template.yaml's, in moto."""
    boto3.client("dynamodb").create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def replaying(provider: Harness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """The provider as deployed: answers kept in DynamoDB."""
    create_table()
    import app

    # Sharing the ledger's client, as from_environment() makes it.
    monkeypatch.setattr(app.provider, "replay", Replay(TABLE, app.provider.budget, app.provider.replay._tables))
    return provider


def twice(provider: Harness, event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return provider.send(event), provider.send(event)


def test_create_delivered_twice_gets_the_same_success_and_makes_one_server(replaying: Harness, pool: str) -> None:
    first, second = twice(replaying, events.request("Create", events.properties(pool)))

    assert first["Status"] == "SUCCESS", first["Reason"]
    assert second == first
    assert replaying.writes == ["CreateResourceServer"]


def test_a_duplicate_delivered_late_still_gets_the_first_answer(replaying: Harness, pool: str) -> None:
    event = events.request("Create", events.properties(pool))

    first = replaying.send(event)
    late = replaying.send(event, timeout_s=4.5)  # time to read the kept answer, none for Cognito

    assert first["Status"] == "SUCCESS", first["Reason"]
    assert late == first


def test_failed_create_delivered_twice_gets_the_same_failure_and_physical_id(
    replaying: Harness, cognito_idp: Any, pool: str
) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name="Not ours")

    first, second = twice(replaying, events.request("Create", events.properties(pool)))

    assert first["Status"] == "FAILED"
    assert second == first
    assert replaying.calls == ["DescribeResourceServer"], "the second delivery is answered from the store"


def test_update_delivered_twice_writes_once(replaying: Harness, pool: str) -> None:
    old = events.properties(pool)
    replaying.send(events.request("Create", old))
    new = events.properties(pool, scopes=[("admin", "Run it")])

    first, second = twice(replaying, events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert first["Status"] == "SUCCESS", first["Reason"]
    assert second == first
    assert replaying.writes == ["CreateResourceServer", "UpdateResourceServer"]


def test_delete_delivered_twice_is_harmless(replaying: Harness, pool: str) -> None:
    props = events.properties(pool)
    replaying.send(events.request("Create", props))

    first, second = twice(replaying, events.request("Delete", props, physical_id=f"{pool}|{API}"))

    assert first["Status"] == second["Status"] == "SUCCESS"
    assert second == first


def test_a_new_request_for_the_same_resource_is_worked_out_afresh(replaying: Harness, pool: str) -> None:
    props = events.properties(pool)
    replaying.send(events.request("Create", props))
    replaying.send(events.request("Delete", props, physical_id=f"{pool}|{API}"))

    again = replaying.send(events.request("Create", props))  # a new RequestId

    assert again["Status"] == "SUCCESS", again["Reason"]
    assert replaying.writes == ["CreateResourceServer", "DeleteResourceServer", "CreateResourceServer"]


def test_when_the_store_is_unreachable_the_request_is_still_answered_once(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app

    unreachable = Replay("no-such-table", app.provider.budget, app.provider.replay._tables)
    monkeypatch.setattr(app.provider, "replay", unreachable)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.writes == ["CreateResourceServer"]


def test_create_whose_answer_save_outlasts_the_deadline_still_answers_success_naming_its_server(
    cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table()
    quick = in_process.wire(monkeypatch, boto3.client("cognito-idp", config=in_process.QUICK), TABLE)
    # The server lands at once; saving the answer for a repeated delivery then hangs past
    # crhelper's timer, which fires half a second before the Lambda deadline.
    FAULTS.hold("UpdateItem", 5.5)
    in_process.short_lambda(monkeypatch)
    event = events.request("Create", events.properties(pool))

    quick.handler(event, LambdaContext(timeout_s=5.5))

    assert len(quick.answers) == 1
    answer = quick.answers[0]
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|{API}", "the rollback or the stack's Delete can find it"
    assert answer["Data"]["Scopes"] == f"{API}/read {API}/write"
    assert quick.send(event) == answer, "a repeated delivery gets the same answer"
    assert quick.writes == ["CreateResourceServer"]


class ProcessDied(BaseException):
    """The function's process ends here, as when Lambda kills it: no handler of ours runs."""


def dies_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    from resource_server import plan

    def dying(*_args: Any) -> Any:
        raise ProcessDied

    monkeypatch.setattr(plan, "carry_out", dying)


def test_lambdas_retry_of_an_attempt_that_died_answers_even_when_service_timeout_ends_first(
    replaying: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resource_server import plan

    carry_out = plan.carry_out
    event = events.request("Create", events.properties(pool, ServiceTimeout="300"))
    first = LambdaContext(900)
    dies_midway(monkeypatch)
    with pytest.raises(ProcessDied):
        replaying.handler(event, first)
    monkeypatch.setattr(plan, "carry_out", carry_out)
    retry = LambdaContext(900)
    retry.aws_request_id = first.aws_request_id  # Lambda's retry carries its attempt's request id

    replaying.handler(event, retry)

    assert [a["Status"] for a in replaying.answers] == ["SUCCESS"], (
        "the retry answers, well before CloudFormation stops"
    )


def test_a_duplicate_that_cannot_read_the_answers_store_stays_silent(
    replaying: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer
    from botocore.exceptions import ClientError

    event = events.request("Create", events.properties(pool))
    dies_midway(monkeypatch)
    with pytest.raises(ProcessDied):
        replaying.handler(event, LambdaContext(900))  # in progress, in another invocation: it may still answer

    def unreadable(*_args: Any, **_kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "GetItem")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "get_record", unreadable)
    replaying.handler(event, LambdaContext(900))

    assert replaying.answers == [], "never a second answer, such as FAILED Internal error, after one that may come"
