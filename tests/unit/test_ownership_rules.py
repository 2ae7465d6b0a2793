"""The rules a single request follows, whoever owns what: never echo an id a Create was handed,
never touch a server Cognito manages, and answer plainly where Cognito or the ledger can't help."""

from __future__ import annotations

import datetime
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from resource_server.stack import StackReader
from tests.support import emulator, events
from tests.support.emulator import FAULTS, LEDGER_TABLE
from tests.support.in_process import Harness
from tests.support.lambda_context import LambdaContext

API = "https://api.example.com"


def size(answer: dict[str, Any]) -> int:
    return len(json.dumps(answer, separators=(",", ":")).encode())


@pytest.mark.parametrize("handed", ["us-east-1_Other|https://existing.example.com", "x" * 5000])
def test_a_failed_create_never_answers_with_a_physical_id_it_was_handed(
    provider: Harness, cognito_idp: Any, pool: str, handed: str
) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name="Not ours")
    event = events.request("Create", events.properties(pool))
    event["PhysicalResourceId"] = handed  # CloudFormation sends none on Create; a wrapper may

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert answer["Reason"].startswith("Identifier already exists")
    assert size(answer) <= 4096


def test_a_create_the_timer_answers_never_echoes_a_handed_physical_id(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from resource_server.cognito import Cognito
    from tests.support.in_process import short_lambda

    monkeypatch.setattr(Cognito, "describe", lambda *_: __import__("time").sleep(2.0))
    short_lambda(monkeypatch)
    event = events.request("Create", events.properties(pool))
    event["PhysicalResourceId"] = f"{pool}|{API}"

    provider.handler(event, LambdaContext(1.5))

    assert provider.answers[-1]["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert provider.answers[-1]["Reason"]


def test_a_server_cognito_manages_is_never_adopted_updated_or_deleted(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name="Managed")
    emulator.manage(pool, API, by="cognito-managed-login")
    physical_id = f"{pool}|{API}"
    props = events.properties(pool, AdoptExisting="true")

    adopted = provider.send(events.request("Create", props))
    updated = provider.send(events.request("Update", props, physical_id=physical_id, old_properties=props))
    elsewhere = events.properties(pool, identifier="https://elsewhere.example.com")
    replaced = provider.send(
        events.request("Update", props, physical_id=f"{pool}|https://elsewhere.example.com", old_properties=elsewhere)
    )
    deleted = provider.send(events.request("Delete", props, physical_id=physical_id))

    assert adopted["Status"] == updated["Status"] == replaced["Status"] == "FAILED"
    assert "is managed by Cognito itself (ManagedBy cognito-managed-login)" in adopted["Reason"]
    assert "can't be updated by a stack" in updated["Reason"]
    assert "is managed by Cognito itself" in replaced["Reason"], "a replacement never takes it over either"
    assert deleted["Status"] == "SUCCESS", "the stack stays deletable"
    assert provider.writes == []
    assert cognito_idp.describe_resource_server(UserPoolId=pool, Identifier=API)["ResourceServer"]["Name"] == "Managed"


def test_a_replica_pool_says_to_use_the_primary_region_and_a_delete_there_leaves_the_server(
    provider: Harness, pool: str
) -> None:
    props = events.properties(pool)
    created = provider.send(events.request("Create", props))
    FAULTS.fail("CreateResourceServer", "OperationNotEnabledException", times=5)
    FAULTS.fail("DescribeResourceServer", "OperationNotEnabledException", times=5)

    refused = provider.send(events.request("Create", events.properties(pool, identifier="https://b.example.com")))
    deleted = provider.send(events.request("Delete", props, physical_id=created["PhysicalResourceId"]))

    assert refused["Status"] == "FAILED"
    assert (
        "replica of a multi-Region pool: manage its resource servers in the pool's primary Region" in refused["Reason"]
    )
    assert deleted["Status"] == "SUCCESS"
    assert "DeleteResourceServer" not in provider.writes


def test_a_delete_that_cognito_answers_with_5xx_is_retried_until_it_goes_through(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    props = events.properties(pool)
    created = provider.send(events.request("Create", props))
    FAULTS.fail("DeleteResourceServer", "InternalErrorException", times=6, status=500)

    deleted = provider.send(events.request("Delete", props, physical_id=created["PhysicalResourceId"]))

    assert deleted["Status"] == "SUCCESS", deleted["Reason"]
    assert provider.write_attempts.count("DeleteResourceServer") == 7
    assert cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []


def test_a_lambda_timeout_too_short_for_any_call_is_refused_with_one_clear_reason(provider: Harness, pool: str) -> None:
    provider.handler(events.request("Create", events.properties(pool)), LambdaContext(timeout_s=5))

    answer = provider.answers[-1]
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("The provider's Lambda Timeout is too short to make any call")
    assert provider.calls == []


def test_a_create_whose_ledger_is_unreachable_makes_nothing_and_says_so(provider: Harness, pool: str) -> None:
    boto3.client("dynamodb").delete_table(TableName=LEDGER_TABLE)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Could not")
    assert "ledger table (ResourceNotFoundException)" in answer["Reason"]
    assert provider.writes == []


def stubbed_stack_reader() -> tuple[StackReader, Stubber]:
    """A StackReader whose CloudFormation answers exactly what the test queues."""
    stack = StackReader(lambda: 1e18)
    stack._client = boto3.client("cloudformation", region_name="us-east-1")
    return stack, Stubber(stack._client)


def stack_events(stack_id: str, *statuses: tuple[str, str]) -> list[dict[str, Any]]:
    """Events newest first, as DescribeStackEvents lists them: (physical id, status) pairs."""
    now = datetime.datetime.now(datetime.UTC)
    return [
        {
            "EventId": f"event-{n}",
            "StackId": stack_id,
            "StackName": "parent",
            "LogicalResourceId": "parent" if physical_id == stack_id else "Provider",
            "PhysicalResourceId": physical_id,
            "ResourceType": "AWS::CloudFormation::Stack",
            "ResourceStatus": status,
            "Timestamp": now - datetime.timedelta(seconds=n),
        }
        for n, (physical_id, status) in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("listed", "succeeded"),
    [
        ([("own", "UPDATE_COMPLETE")], True),
        ([("own", "CREATE_COMPLETE")], True),
        ([("nested", "CREATE_COMPLETE"), ("own", "ROLLBACK_IN_PROGRESS")], False),
        ([("own", "ROLLBACK_IN_PROGRESS"), ("nested", "UPDATE_COMPLETE")], False),
        ([("own", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")], None),
        ([("own", "UPDATE_ROLLBACK_IN_PROGRESS"), ("own", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")], False),
        ([("nested", "UPDATE_COMPLETE")], None),
    ],
)
def test_only_the_stacks_own_create_or_update_complete_counts_as_success(
    listed: list[tuple[str, str]], succeeded: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/parent/1"
    nested = "arn:aws:cloudformation:us-east-1:123456789012:stack/parent-Provider-X/2"
    # Newest first; the operation began with the oldest event. The nested stack's events carry the
    # parent's StackId and ResourceType, as DescribeStackEvents lists them.
    listing = [(stack_id if who == "own" else nested, status) for who, status in reversed(listed)]
    shown = stack_events(stack_id, *listing, (stack_id, "UPDATE_IN_PROGRESS"))
    stack, stubber = stubbed_stack_reader()
    stubber.add_response("describe_stack_events", {"StackEvents": shown}, {"StackName": stack_id})

    with stubber:
        operation = stack.operation(stack_id)

    assert operation is not None
    assert operation.event_id == shown[-1]["EventId"]
    assert operation.succeeded is succeeded


@pytest.mark.parametrize(
    ("status", "holds"),
    [("CREATE_COMPLETE", True), ("UPDATE_COMPLETE", True), ("DELETE_COMPLETE", False), ("DELETE_SKIPPED", False)],
)
def test_a_resource_its_stack_deleted_or_left_behind_under_retain_no_longer_holds_its_server(
    status: str, holds: bool
) -> None:
    # A stack deleted with DeletionPolicy Retain on the resource lists it DELETE_SKIPPED: it let it go.
    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/owner/1"
    detail = {
        "StackId": stack_id,
        "LogicalResourceId": "Api",
        "PhysicalResourceId": f"us-east-1_Pool|{API}",
        "ResourceType": "Custom::CognitoResourceServer",
        "LastUpdatedTimestamp": datetime.datetime.now(datetime.UTC),
        "ResourceStatus": status,
    }
    stack, stubber = stubbed_stack_reader()
    expected = {"StackName": stack_id, "LogicalResourceId": "Api"}
    stubber.add_response("describe_stack_resource", {"StackResourceDetail": detail}, expected)

    with stubber:
        assert stack.holds(stack_id, "Api", f"us-east-1_Pool|{API}") is holds
