"""Every kind of bad input fails before any write, with a reason that names the property."""

from __future__ import annotations

from typing import Any

import pytest

from resource_server import contract
from resource_server.failure import REASON_ROOM
from tests.support import events
from tests.support.in_process import Harness


def scopes(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"ScopeName": n, "ScopeDescription": d} for n, d in pairs]


def without(props: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != key}


# (case, change to valid properties, words the reason must hold)
BAD_INPUTS: list[tuple[str, Any, list[str]]] = [
    ("missing UserPoolId", lambda p: without(p, "UserPoolId"), ["UserPoolId is required"]),
    ("missing Identifier", lambda p: without(p, "Identifier"), ["Identifier is required"]),
    ("missing Name", lambda p: without(p, "Name"), ["Name is required"]),
    ("Identifier with a space", lambda p: {**p, "Identifier": "https://api example.com"}, ["Identifier", "space"]),
    ("Identifier with a quote", lambda p: {**p, "Identifier": 'https://api"example.com'}, ["Identifier", '"']),
    ("Identifier over 256", lambda p: {**p, "Identifier": "x" * 257}, ["Identifier", "257", "256"]),
    ("Name over 256", lambda p: {**p, "Name": "n" * 257}, ["Name", "257", "256"]),
    ("Name with <", lambda p: {**p, "Name": "<script>"}, ["Name", "may hold only"]),
    ("malformed UserPoolId", lambda p: {**p, "UserPoolId": "my-pool"}, ["UserPoolId", "us-east-1_AbC123"]),
    ("Scopes as a string", lambda p: {**p, "Scopes": "read write"}, ["Scopes", "list", "not str"]),
    (
        "scope missing ScopeName",
        lambda p: {**p, "Scopes": [{"ScopeDescription": "d"}]},
        ["Scopes[0].ScopeName is required"],
    ),
    (
        "scope missing ScopeDescription",
        lambda p: {**p, "Scopes": [{"ScopeName": "read"}]},
        ["Scopes[0].ScopeDescription is required"],
    ),
    ("ScopeName with /", lambda p: {**p, "Scopes": scopes(("data/read", "d"))}, ["Scopes[0].ScopeName", "/"]),
    (
        "duplicate ScopeName",
        lambda p: {**p, "Scopes": scopes(("read", "a"), ("write", "b"), ("read", "c"))},
        ["Scopes[2].ScopeName duplicates Scopes[0]"],
    ),
    (
        "101 scopes",
        lambda p: {**p, "Scopes": scopes(*((f"s{n}", "d") for n in range(101)))},
        ["Scopes has 101 items", "100"],
    ),
    ("unknown property", lambda p: {**p, "Scope": p["Scopes"]}, ["Scope is not a property"]),
    (
        "unknown scope key",
        lambda p: {**p, "Scopes": [{"ScopeName": "r", "Description": "d"}]},
        ["Scopes[0].Description"],
    ),
    ("Name not a string", lambda p: {**p, "Name": {"Fn::Sub": "x"}}, ["Name must be a string, not a map"]),
    ("scope not a map", lambda p: {**p, "Scopes": ["read"]}, ["Scopes[0] must be a map"]),
    (
        "empty ScopeDescription",
        lambda p: {**p, "Scopes": scopes(("read", ""))},
        ["Scopes[0].ScopeDescription must not be empty"],
    ),
    ("no ResourceProperties", lambda p: None, ["ResourceProperties must be a map"]),
    ("AdoptExisting yes", lambda p: {**p, "AdoptExisting": "yes"}, ['AdoptExisting must be "true" or "false"', "yes"]),
    ("AdoptExisting TRUE", lambda p: {**p, "AdoptExisting": "TRUE"}, ['AdoptExisting must be "true" or "false"']),
    ("AdoptExisting 1", lambda p: {**p, "AdoptExisting": 1}, ['AdoptExisting must be "true" or "false", not int']),
]


@pytest.mark.parametrize(("change", "words"), [(c, w) for _, c, w in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_bad_input_fails_naming_the_property_with_no_write(
    provider: Harness, pool: str, request_type: str, change: Any, words: list[str]
) -> None:
    props = change(events.properties(pool))
    physical_id = f"{pool}|https://api.example.com" if request_type == "Update" else None
    event = events.request(request_type, props, physical_id=physical_id, old_properties=events.properties(pool))
    if props is None:
        del event["ResourceProperties"]

    answer = provider.send(event)

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Invalid properties: ")
    for word in words:
        assert word in answer["Reason"]
    assert len(answer["Reason"]) <= REASON_ROOM
    assert "Traceback" not in answer["Reason"]
    assert provider.writes == []
    if request_type == "Update":
        assert answer["PhysicalResourceId"] == physical_id, "a failed Update keeps its resource"


def test_all_problems_are_reported_at_once_most_useful_first(provider: Harness, pool: str) -> None:
    props = {**events.properties(pool), "Scope": [], "Identifier": "has space", "Name": "<b>"}
    del props["UserPoolId"]

    reason = provider.send(events.request("Create", props))["Reason"]

    assert reason.index("UserPoolId is required") < reason.index("Scope is not a property")
    assert reason.index("Scope is not a property") < reason.index("Identifier")
    assert "Name" in reason


def test_a_long_list_of_problems_is_cut_between_whole_problems() -> None:
    props = events.properties("us-east-1_Pool1", scopes=[(f"bad/{n}", "d") for n in range(40)])

    with pytest.raises(contract.InvalidProperties) as failure:
        contract.parse(props)

    reason = failure.value.reason
    assert len(reason) <= REASON_ROOM
    assert reason.startswith("Invalid properties: Scopes[0].ScopeName")
    shown = reason.count("ScopeName must")
    assert reason.endswith(f"+{40 - shown} more in the log")
    assert len(failure.value.details) == 40, "the log line carries every problem"


def test_the_log_line_carries_every_problem_the_reason_had_no_room_for(
    provider: Harness, pool: str, caplog: pytest.LogCaptureFixture
) -> None:
    props = {**events.properties(pool, scopes=[(f"bad/{n}", "d") for n in range(7)]), "Colour": "x", "Size": "y"}

    reason = provider.send(events.request("Create", props))["Reason"]

    assert "more in the log" in reason
    (line,) = [r for r in caplog.records if r.getMessage() == "Request failed"]
    assert len(line.problems) == 8  # type: ignore[attr-defined]
    assert line.problems[0] == (  # type: ignore[attr-defined]
        "Colour, Size are not properties (expected UserPoolId, Identifier, Name, Scopes, AdoptExisting, Revision)"
    )


def test_a_pool_arn_in_user_pool_id_gets_the_pool_id_to_use(provider: Harness, pool: str) -> None:
    arn = f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{pool}"

    reason = provider.send(events.request("Create", {**events.properties(pool), "UserPoolId": arn}))["Reason"]

    assert reason == f"Invalid properties: UserPoolId is a user pool's ARN: use the pool id, {pool}"


def test_a_bad_name_names_the_character_cognito_refuses(provider: Harness, pool: str) -> None:
    reason = provider.send(events.request("Create", {**events.properties(pool), "Name": "Weather <beta>"}))["Reason"]

    assert reason == "Invalid properties: Name may hold only letters, digits, spaces and _+=,.@- (not '<')"


@pytest.mark.parametrize(
    "physical_id",
    ["us-east-1_Ab12|https://api.example.com", "eu-west-2_x|urn:api|v2", "us-east-1_Ab12|a"],
)
def test_physical_ids_of_ours_round_trip(physical_id: str) -> None:
    server_id = contract.ServerId.parse(physical_id)
    assert server_id is not None
    assert str(server_id) == physical_id


@pytest.mark.parametrize("value", ["true", "false", True, False])
def test_adopt_existing_takes_cloudformations_strings_and_real_booleans(value: object) -> None:
    props = {**events.properties("us-east-1_Ab12"), "AdoptExisting": value}

    contract.parse(props)

    assert contract.adopts_existing(props) is (value in ("true", True))
