"""Whatever arrives, the handler sends exactly one answer, within 4096 bytes, with a clear reason,
and makes no write for input the contract rejects."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resource_server import contract, delivery
from resource_server.failure import REASON_ROOM
from tests.support import events
from tests.support.in_process import Harness
from tests.support.lambda_context import LambdaContext

KNOWN_KEYS = [*contract.REQUIRED_KEYS, *contract.OPTIONAL_KEYS, *contract.CLOUDFORMATION_KEYS, *contract.SCOPE_KEYS]
texts = (
    st.text(max_size=40)
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=5000)
    | st.text(alphabet=st.characters(categories=["Cs", "Lu"]), min_size=1, max_size=5)  # lone surrogates
    | st.sampled_from(["", " ", "us-east-1_Ab12", "https://api.example.com", "read", "a/b", '"', "\\", "<b>"])
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts | st.sampled_from(KNOWN_KEYS), inner, max_size=5),
    max_leaves=20,
)
scope_items = st.fixed_dictionaries({}, optional={"ScopeName": json_values, "ScopeDescription": json_values})
properties = (
    st.fixed_dictionaries(
        {},
        optional={
            "UserPoolId": json_values,
            "Identifier": json_values,
            "Name": json_values,
            "Scopes": st.lists(scope_items, max_size=4) | json_values,
            "ServiceToken": json_values,
            "ServiceTimeout": json_values,
        },
    )
    | st.dictionaries(texts | st.sampled_from(KNOWN_KEYS), json_values, max_size=6)
    | json_values
)
HOSTILE = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_one_clean_answer(provider: Harness, before: int) -> dict[str, Any]:
    assert len(provider.answers) == before + 1, "exactly one answer"
    sent = provider.answers[-1]
    assert len(json.dumps(sent, separators=(",", ":")).encode()) <= delivery.MAX_ANSWER_BYTES, "sent as ASCII JSON"
    assert sent["PhysicalResourceId"], "CloudFormation rejects an empty physical id"
    assert "Traceback" not in sent["Reason"]
    assert "Internal error" not in sent["Reason"], sent["Reason"]
    assert len(sent["Reason"]) <= REASON_ROOM
    assert sent["Status"] == "SUCCESS" or sent["Reason"]
    return sent


def rejected(props: object) -> bool:
    try:
        contract.parse(props)
    except contract.InvalidProperties:
        return True
    return False


@HOSTILE
@given(props=properties, request_type=st.sampled_from(["Create", "Update"]))
def test_any_resource_properties_get_one_clean_answer_and_no_write_when_invalid(
    provider: Harness, pool: str, props: Any, request_type: str
) -> None:
    if isinstance(props, dict) and props.get("UserPoolId") == "us-east-1_Ab12":
        props["UserPoolId"] = pool
    event = events.request(request_type, props, physical_id=f"{pool}|https://api.example.com")
    before, writes_before = len(provider.answers), len(provider.writes)

    provider.handler(event, LambdaContext())

    sent = check_one_clean_answer(provider, before)
    if rejected(props):
        assert sent["Status"] == "FAILED"
        assert sent["Reason"].startswith("Invalid properties: ")
        assert len(provider.writes) == writes_before, "no write for invalid input"


envelope_keys = ["RequestType", "StackId", "RequestId", "LogicalResourceId", "PhysicalResourceId", "ResourceType"]


@HOSTILE
@given(
    dropped=st.sets(st.sampled_from([*envelope_keys, "ResourceProperties", "OldResourceProperties"])),
    replaced=st.dictionaries(st.sampled_from([*envelope_keys, "ResourceProperties"]), json_values, max_size=3),
    extra=st.dictionaries(texts, json_values, max_size=3),
)
def test_any_whole_event_gets_one_clean_answer(
    provider: Harness, pool: str, dropped: set[str], replaced: dict[str, Any], extra: dict[str, Any]
) -> None:
    event = events.request("Update", events.properties(pool), physical_id=f"{pool}|https://api.example.com")
    event.update(extra)
    for key in dropped:
        event.pop(key, None)
    event.update(replaced)
    event["ResponseURL"] = events.load("create")["ResponseURL"]  # somewhere to answer, always
    before, writes_before = len(provider.answers), len(provider.writes)

    provider.handler(event, LambdaContext())

    sent = check_one_clean_answer(provider, before)
    if sent["Status"] == "FAILED" and sent["Reason"].startswith(("Malformed request", "Invalid properties")):
        assert len(provider.writes) == writes_before
