"""The files in events/ are shaped exactly as CloudFormation sends its requests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    CloudFormationCustomResourceCreateModel,
    CloudFormationCustomResourceDeleteModel,
    CloudFormationCustomResourceUpdateModel,
)
from cfnlint.decode import decode

from resource_server import contract, event
from tests.support import events
from tests.support.lambda_runtime import ROOT

MODELS: dict[str, Any] = {
    "create": CloudFormationCustomResourceCreateModel,
    "create-adopt": CloudFormationCustomResourceCreateModel,
    "update": CloudFormationCustomResourceUpdateModel,
    "update-replace": CloudFormationCustomResourceUpdateModel,
    "delete": CloudFormationCustomResourceDeleteModel,
    "delete-replaced": CloudFormationCustomResourceDeleteModel,
}


@pytest.mark.parametrize("name", MODELS)
def test_event_file_parses_with_powertools_cloudformation_model(name: str) -> None:
    raw = events.load(name)

    model = parse(event=raw, model=MODELS[name])

    assert model.resource_type == "Custom::CognitoResourceServer"
    assert str(model.response_url).startswith("https://")
    assert event.envelope_problem(raw) is None


@pytest.mark.parametrize("name", MODELS)
def test_event_file_properties_are_as_cloudformation_delivers_them(name: str) -> None:
    raw = events.load(name)

    for key in ("ResourceProperties", "OldResourceProperties"):
        props = raw.get(key)
        if props is None:
            continue
        assert props["ServiceToken"] == raw["ServiceToken"]
        strings = [v for k, v in props.items() if k != "Scopes"]
        assert props.get("AdoptExisting", "false") in ("true", "false"), "a boolean arrives as a string"
        strings += [v for scope in props["Scopes"] for v in scope.values()]
        assert all(isinstance(v, str) for v in strings), "CloudFormation delivers every scalar as a string"
        contract.parse(props)


def test_update_files_name_the_state_they_start_from() -> None:
    update, replace = events.load("update"), events.load("update-replace")

    assert update["OldResourceProperties"] == events.load("create")["ResourceProperties"]
    assert replace["OldResourceProperties"] == update["ResourceProperties"]
    old = replace["OldResourceProperties"]
    assert replace["PhysicalResourceId"] == f"{old['UserPoolId']}|{old['Identifier']}"
    new = replace["ResourceProperties"]
    assert events.load("delete")["PhysicalResourceId"] == f"{new['UserPoolId']}|{new['Identifier']}"


def test_the_cleanup_delete_names_the_server_update_replace_replaced() -> None:
    replace, cleanup = events.load("update-replace"), events.load("delete-replaced")

    assert cleanup["PhysicalResourceId"] == replace["PhysicalResourceId"]
    assert cleanup["ResourceProperties"] == replace["OldResourceProperties"]


def test_every_file_in_events_is_a_request_this_test_checks() -> None:
    assert {p.stem for p in events.EVENTS.glob("*.json")} == {*MODELS, "drift-check"}


def test_the_drift_check_event_is_what_the_schedule_sends() -> None:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert parsed is not None, problems
    sent = json.loads(parsed["Resources"]["DriftCheck"]["Properties"]["Target"]["Input"])

    assert events.load("drift-check") == sent == event.DRIFT_CHECK
    assert event.is_drift_check(sent)
