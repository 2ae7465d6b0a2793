"""Every answer fits CloudFormation's 4096 bytes, whatever the input; nothing is cut silently."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from resource_server import delivery, event
from resource_server.failure import REASON_ROOM, shortened
from tests.support import events
from tests.support.in_process import Harness

LONG_IDENTIFIER = "https://" + "i" * 248  # 256 characters, Cognito's maximum
LONG_STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/" + "s" * 128 + "/" + "u" * 330  # 512 bytes


def size(answer_body: dict[str, Any]) -> int:
    return len(json.dumps(answer_body, ensure_ascii=False, separators=(",", ":")).encode())


def test_100_long_scopes_under_a_long_identifier_succeed_without_the_scopes_output(
    provider: Harness, pool: str
) -> None:
    props = events.properties(
        pool,
        identifier=LONG_IDENTIFIER,
        name="n" * 256,
        scopes=[(f"{n:03}" + "s" * 253, "d" * 256) for n in range(100)],
    )
    event = events.request("Create", props)
    event["StackId"] = LONG_STACK_ID

    result = provider.send(event)

    assert result["Status"] == "SUCCESS", result["Reason"]
    assert size(result) <= delivery.MAX_ANSWER_BYTES
    assert "Scopes" not in result["Data"], "51 KB of scope strings can't fit, so the key is left out whole"
    assert result["Data"] == {"Identifier": LONG_IDENTIFIER, "UserPoolId": pool, "Name": "n" * 256}


def test_scopes_that_fit_are_returned_whole(provider: Harness, pool: str) -> None:
    scopes = [(f"scope-{n:02}", "d") for n in range(100)]
    result = provider.send(events.request("Create", events.properties(pool, scopes=scopes)))

    assert result["Status"] == "SUCCESS", result["Reason"]
    assert result["Data"]["Scopes"].split(" ") == [f"https://api.example.com/scope-{n:02}" for n in range(100)]
    assert size(result) <= delivery.MAX_ANSWER_BYTES


def test_a_long_failure_with_a_long_stack_id_fits(provider: Harness, pool: str) -> None:
    props = events.properties(pool, scopes=[("bad/" + "x" * 250, "d")] * 100, **{f"Typo{n}": "x" for n in range(50)})
    event = events.request("Create", props)
    event["StackId"] = LONG_STACK_ID

    result = provider.send(event)

    assert result["Status"] == "FAILED"
    assert len(result["Reason"]) <= REASON_ROOM
    assert result["Reason"].startswith("Invalid properties: Typo0, Typo1, Typo2 and 47 more are not properties")
    assert result["Reason"].endswith(" more in the log")
    assert size(result) <= delivery.MAX_ANSWER_BYTES


body_values = st.text(max_size=3000) | st.text(alphabet="\u00e9\u4e2d\U0001f600", max_size=2000)


@given(
    reason=body_values,
    physical_id=st.text(max_size=1024),
    data=st.dictionaries(st.sampled_from(["Identifier", "UserPoolId", "Name", "Scopes"]), body_values),
)
def test_fit_keeps_any_answer_within_4096_bytes_and_drops_data_whole(
    reason: str, physical_id: str, data: dict[str, str]
) -> None:
    envelope = {
        "StackId": LONG_STACK_ID,
        "RequestId": "d2f5c1a4-6a1e-4b9e-9a57-0c3f6f0b1a01",
        "LogicalResourceId": "L" * 255,
    }

    encoded = delivery.payload(delivery.Answer(physical_id, data, reason or None), event.envelope(envelope))
    sent = json.loads(encoded)

    assert len(encoded) <= delivery.MAX_ANSWER_BYTES
    assert set(sent["Data"]) <= set(data)
    assert all(sent["Data"][key] == data[key] for key in sent["Data"]), "a value is sent whole or not at all"
    assert shortened(reason).startswith(sent["Reason"])
    assert sent["Status"] == ("FAILED" if reason else "SUCCESS")
    assert {k: sent[k] for k in ("StackId", "RequestId")} == {k: envelope[k] for k in ("StackId", "RequestId")}
    assert sent["PhysicalResourceId"] == physical_id
