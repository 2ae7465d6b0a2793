"""The function honours the SDK's standard configuration, and what template.yaml declares is harmless."""

from __future__ import annotations

import json

import pytest
import yaml

from resource_server.cognito import Cognito
from resource_server.deadline import Budget
from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE
from tests.support.lambda_runtime import ROOT


def template_environment() -> dict[str, str]:
    text = (ROOT / "template.yaml").read_text()
    variables: dict[str, str] = yaml.load(text, Loader=_Loader)["Resources"]["Function"]["Properties"]["Environment"][
        "Variables"
    ]
    return variables


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags as plain values."""


_Loader.add_multi_constructor(
    "!", lambda loader, _suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
)


def test_declared_endpoint_variable_is_empty_and_then_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    declared = template_environment()["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"]
    assert declared == ""
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", declared)

    client = Cognito.from_environment(Budget().calls_end)._client

    assert client.meta.endpoint_url == "https://cognito-idp.us-east-1.amazonaws.com"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"])
def test_endpoint_variables_aim_the_client(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:5000")

    assert Cognito.from_environment(Budget().calls_end)._client.meta.endpoint_url == "http://127.0.0.1:5000"


def test_retries_use_botocore_standard_mode_and_honour_aws_max_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")

    config = Cognito.from_environment(Budget().calls_end)._client.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 7}


def test_sam_local_environment_only_overrides_what_the_template_declares() -> None:
    local = json.loads((ROOT / "env.json").read_text())["Function"]

    assert set(local) <= set(template_environment())
    assert local["AWS_ENDPOINT_URL"].startswith("http://host.docker.internal:"), "every service: make emulator"
    assert local["LEDGER_TABLE"] == LEDGER_TABLE, "the table make emulator holds"
    assert local["IDEMPOTENCY_TABLE"] == IDEMPOTENCY_TABLE
