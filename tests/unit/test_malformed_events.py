"""A request CloudFormation could not have sent still gets one FAILED answer, if it can be answered at all."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import events
from tests.support.in_process import Provider
from tests.support.lambda_context import LambdaContext


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e.pop("StackId"), "StackId"),
        (lambda e: e.update(RequestType="Upsert"), "RequestType"),
        (lambda e: e.update(RequestId=7), "RequestId"),
        (lambda e: e.update(LogicalResourceId=""), "LogicalResourceId"),
        (lambda e: e.update(RequestType="Delete"), "PhysicalResourceId"),
        (lambda e: e.update(StackId="x" * 5000), "StackId"),
    ],
    ids=[
        "no StackId",
        "unknown RequestType",
        "RequestId not a string",
        "empty LogicalResourceId",
        "Delete without id",
        "huge StackId",
    ],
)
def test_malformed_envelope_gets_one_failed_answer_and_no_call(
    provider: Provider, pool: str, change: Any, words: str
) -> None:
    event = events.request("Create", events.properties(pool))
    change(event)

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Malformed request: ")
    assert words in answer["Reason"]
    assert answer["PhysicalResourceId"]
    assert provider.calls == []


@pytest.mark.parametrize("event", [None, [], "Create", {}, {"ResponseURL": "http://plain.example.com/"}])
def test_event_with_nowhere_to_answer_is_dropped_without_a_call(provider: Provider, event: Any) -> None:
    provider.handler(event, LambdaContext())

    assert provider.answers == []
    assert provider.calls == []
