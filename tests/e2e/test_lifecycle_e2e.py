"""The real handler, in its own process, against moto's server and an HTTPS receiver."""

from __future__ import annotations

import json

import pytest

from tests.support import events
from tests.support.emulator import CognitoEmulator
from tests.support.lambda_runtime import LocalLambda

pytestmark = pytest.mark.e2e
OLD = "https://solar-system-data-api.example.com"
NEW = "https://planets-api.example.com"


def test_whole_stack_lifecycle_from_the_events_files(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    create = function.send(events.load("create"), pool=pool)
    assert create == {
        "Status": "SUCCESS",
        "Reason": "",
        "PhysicalResourceId": f"{pool}|{OLD}",
        "StackId": events.load("create")["StackId"],
        "RequestId": create["RequestId"],
        "LogicalResourceId": "Api",
        "NoEcho": False,
        "Data": {
            "Identifier": OLD,
            "UserPoolId": pool,
            "Name": "Solar system data",
            "Scopes": f"{OLD}/read {OLD}/write",
        },
    }

    update = function.send(events.load("update"), pool=pool)
    assert update["Status"] == "SUCCESS", update["Reason"]
    assert update["PhysicalResourceId"] == f"{pool}|{OLD}"
    assert update["Data"]["Scopes"] == f"{OLD}/read {OLD}/write {OLD}/admin"
    assert [s["ScopeName"] for s in emulator.servers(pool)[OLD]["Scopes"]] == ["read", "write", "admin"]

    replace_event = events.load("update-replace")
    replace = function.send(replace_event, pool=pool)
    assert replace["Status"] == "SUCCESS", replace["Reason"]
    assert replace["PhysicalResourceId"] == f"{pool}|{NEW}"
    assert replace["Data"]["Scopes"] == f"{NEW}/read {NEW}/write"
    assert set(emulator.servers(pool)) == {OLD, NEW}

    # CloudFormation's cleanup Delete names the old id and carries the old properties.
    cleanup_event = events.request(
        "Delete", replace_event["OldResourceProperties"], physical_id=replace_event["PhysicalResourceId"]
    )
    cleanup = function.send(cleanup_event, pool=pool)
    assert cleanup["Status"] == "SUCCESS", cleanup["Reason"]
    assert cleanup["PhysicalResourceId"] == f"{pool}|{OLD}"
    assert set(emulator.servers(pool)) == {NEW}

    delete = function.send(events.load("delete"), pool=pool)
    assert delete["Status"] == "SUCCESS", delete["Reason"]
    assert delete["PhysicalResourceId"] == f"{pool}|{NEW}"
    assert delete["Data"] == {}
    assert emulator.servers(pool) == {}


def test_answer_is_one_put_with_the_headers_a_presigned_url_expects(function: LocalLambda, pool: str) -> None:
    answer = function.send(events.load("create"), pool=pool)

    deliveries = function.receiver.deliveries_for(answer["RequestId"])
    assert len(deliveries) == 1
    assert deliveries[0].headers.get("content-type", "") == ""
    assert int(deliveries[0].headers["content-length"]) == len(deliveries[0].body)
    assert "X-Amz-Signature=" in deliveries[0].path, "the pre-signed query string is sent back unchanged"


def test_every_log_line_is_json_with_correlation_keys_and_never_the_response_url(
    function: LocalLambda, pool: str
) -> None:
    event = events.load("create")
    signature = event["ResponseURL"].split("X-Amz-Signature=")[1]
    function.send(event, pool=pool, LOG_LEVEL="DEBUG")
    assert function.last is not None
    logs = function.last.logs

    assert signature not in logs
    assert "X-Amz-" not in logs
    assert "cloudformation-custom-resource-response" not in logs
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert lines, "the function logged nothing"
    for line in lines:
        for key in ("RequestType", "StackId", "LogicalResourceId", "RequestId", "PhysicalResourceId"):
            assert key in line, line
    assert any(line["level"] == "DEBUG" and line["message"] == "Request received" for line in lines)
    delivered = [line for line in lines if line["message"] == "Answer delivered"]
    assert [line["answer"]["Status"] for line in delivered] == ["SUCCESS"]
