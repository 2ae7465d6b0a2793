"""A request CloudFormation could not have sent still gets one FAILED answer, if it can be answered at all."""

from __future__ import annotations

from typing import Any

import pytest

from resource_server import event
from resource_server import responder as responder_module
from tests.support import events
from tests.support.in_process import Harness
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
    provider: Harness, pool: str, change: Any, words: str
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
def test_event_with_nowhere_to_answer_is_dropped_without_a_call(provider: Harness, event: Any) -> None:
    provider.handler(event, LambdaContext())

    assert provider.answers == []
    assert provider.calls == []


LONE_SURROGATE = "\ud800"  # valid in a Python str, which json.loads can produce, but not in UTF-8


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e["ResourceProperties"].update({f"Na{LONE_SURROGATE}me": "x"}), "a key in ResourceProperties"),
        (lambda e: e["ResourceProperties"].update(Name=f"API {LONE_SURROGATE}"), "ResourceProperties.Name"),
        (
            lambda e: e["ResourceProperties"]["Scopes"][0].update(ScopeDescription=LONE_SURROGATE),
            "ResourceProperties.Scopes[0].ScopeDescription",
        ),
    ],
    ids=["in a key", "in a value", "in a scope"],
)
def test_properties_that_are_not_utf8_get_one_failed_answer_naming_where_and_no_write(
    provider: Harness, pool: str, change: Any, words: str
) -> None:
    event = events.request("Create", events.properties(pool))
    change(event)

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"Invalid properties: {words} holds text that is not valid UTF-8"
    assert provider.calls == []


def test_logical_resource_id_that_is_not_utf8_gets_one_failed_answer(provider: Harness, pool: str) -> None:
    event = events.request("Create", events.properties(pool))
    event["LogicalResourceId"] = f"Api{LONE_SURROGATE}"

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "Malformed request: LogicalResourceId must be UTF-8 text of 1-256 bytes"
    assert answer["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert provider.calls == []


@pytest.mark.parametrize("key", ["CrHelperPoll", "CrHelperData"])
def test_crhelper_control_keys_are_refused_not_obeyed(provider: Harness, pool: str, key: str) -> None:
    # crhelper would answer SUCCESS with the event's physical id and Data, running none of our code.
    event = events.request("Update", events.properties(pool), physical_id="attacker-chosen")
    event.update(CrHelperPoll=True, CrHelperData={"Scopes": "attacker/admin"})
    event.pop("CrHelperPoll" if key == "CrHelperData" else "CrHelperData")

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == f"Malformed request: {key} is crhelper's own; CloudFormation never sends it"
    assert answer["Data"] == {}
    assert provider.calls == []


def test_an_answer_that_cannot_be_built_still_goes_out_as_a_minimal_failure(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_payload(*_args: Any) -> bytes:
        raise RuntimeError("a bug while building the answer")

    monkeypatch.setattr(responder_module, "payload", broken_payload)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "Internal error in the provider while answering; see its log"
    assert answer["PhysicalResourceId"] == f"{pool}|https://api.example.com", "the server it made is still named"


def test_a_request_crhelper_fails_to_set_up_is_answered_once_at_its_own_url(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.send(events.request("Create", events.properties(pool)))  # an earlier request, to another URL

    def broken_set_up(*_args: Any) -> None:
        raise RuntimeError("crhelper's own set-up")

    monkeypatch.setattr(responder_module.Responder, "_crhelper_init", broken_set_up)
    event = events.request("Delete", events.properties(pool), physical_id=f"{pool}|https://api.example.com")

    answer = provider.send(event)

    assert answer["RequestId"] == event["RequestId"], "this request's answer, not the last one's again"
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == "Internal error in crhelper before the request ran: crhelper's own set-up"
    assert answer["PhysicalResourceId"] == event["PhysicalResourceId"]


@pytest.mark.parametrize(
    ("url", "issued"),
    [
        ("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261206T082244Z", 1796545364.0),
        ("https://b.s3.amazonaws.com/k?AWSAccessKeyId=A&Expires=1796552564&Signature=s", 1796545364.0),
        ("https://b.s3.amazonaws.com/k?X-Amz-Date=20261206T135244%2B0530", 1796545364.0),
        ("https://b.s3.amazonaws.com/k?X-Amz-Date=20261306T082244Z", None),
        ("https://b.s3.amazonaws.com/k?X-Amz-Date=yesterday", None),
        ("https://b.s3.amazonaws.com/k?Expires=soon", None),
        ("https://b.s3.amazonaws.com/k", None),
        (None, None),
    ],
    ids=[
        "SigV4",
        "SigV4 with an offset",
        "older form",
        "no such month",
        "not a date",
        "Expires not a number",
        "unsigned",
        "no URL",
    ],
)
def test_when_the_response_url_was_signed_is_read_or_left_unknown(url: object, issued: float | None) -> None:
    assert event.issued_at(url) == issued
