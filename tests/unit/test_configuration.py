"""The function honours the SDK's standard configuration, and what template.yaml declares is harmless."""

from __future__ import annotations

import json
import tomllib

import boto3
import pytest
import yaml

from resource_server.budget import Budget
from resource_server.cognito import Cognito
from resource_server.provider import Provider
from resource_server.startup import Misconfigured, log_level
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


@pytest.mark.parametrize(("declared", "allowed"), [("true", True), ("false", False), (" FALSE ", False)])
def test_the_operators_allow_adoption_parameter_reaches_the_plan(
    monkeypatch: pytest.MonkeyPatch, declared: str, allowed: bool
) -> None:
    assert template_environment()["ALLOW_ADOPTION"] == "AllowAdoption", "template.yaml: !Ref AllowAdoption"
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    monkeypatch.setenv("ALLOW_ADOPTION", declared)

    assert Provider.from_environment().services.allow_adoption is allowed


def test_an_allow_adoption_that_is_neither_true_nor_false_stops_the_provider_saying_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    monkeypatch.setenv("ALLOW_ADOPTION", "yes")

    with pytest.raises(Misconfigured, match='ALLOW_ADOPTION \'yes\' must be "true" or "false"'):
        Provider.from_environment()


def test_sam_deploy_guided_asks_for_allow_adoption_and_samconfig_keeps_the_answer() -> None:
    parameters = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)["Parameters"]
    saved = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["deploy"]["parameters"]

    assert parameters["AllowAdoption"]["AllowedValues"] == ["true", "false"]
    assert 'AllowAdoption="true"' in saved["parameter_overrides"]


def test_the_accounts_write_rates_reach_the_pacing_and_sam_deploy_guided_asks_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parameters = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)["Parameters"]
    saved = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["deploy"]["parameters"]
    assert (parameters["PoolWriteRate"]["Default"], parameters["AccountWriteRate"]["Default"]) == (5, 15)
    assert 'PoolWriteRate="5"' in saved["parameter_overrides"]
    assert template_environment()["POOL_WRITE_RATE"] == "PoolWriteRate"
    assert template_environment()["ACCOUNT_WRITE_RATE"] == "AccountWriteRate"
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    monkeypatch.setenv("POOL_WRITE_RATE", "10")
    monkeypatch.setenv("ACCOUNT_WRITE_RATE", "30")

    assert Provider.from_environment().turns.rates == (10.0, 30.0)


@pytest.mark.parametrize("rate", ["0", "-5", "fast"])
def test_a_write_rate_that_is_no_positive_number_stops_the_provider_saying_so(
    monkeypatch: pytest.MonkeyPatch, rate: str
) -> None:
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    monkeypatch.setenv("POOL_WRITE_RATE", rate)

    with pytest.raises(Misconfigured, match=r"POOL_WRITE_RATE .* must be a number of writes a second"):
        Provider.from_environment()


def test_the_ledger_and_the_answers_store_share_one_dynamodb_client(monkeypatch: pytest.MonkeyPatch) -> None:
    # One client, not one each: a botocore client took about 4 ms of init (`make bench`, figure 1).
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
    made: list[str] = []
    real = boto3.client
    monkeypatch.setattr(boto3, "client", lambda service, **kwargs: made.append(service) or real(service, **kwargs))

    provider = Provider.from_environment()
    provider.replay._build()  # as the first request does

    assert sorted(made) == ["cognito-idp", "dynamodb"]


def test_calls_to_the_tables_end_with_the_calls_that_decide_only_while_the_answer_is_worked_out() -> None:
    budget = Budget(clock=lambda: 100.0)
    budget.start(15_000)
    recording = budget.tables_end()  # the answers store's record of the request in progress
    with budget.deciding_answer():
        deciding = budget.tables_end()
        with budget.last_write():  # the ledger's last write on a record
            last_write = budget.tables_end()
        after_it = budget.tables_end()
    with pytest.raises(RuntimeError), budget.deciding_answer():
        raise RuntimeError  # a bug of ours: the answers store still deletes its record of the request
    saving = budget.tables_end()

    assert deciding == after_it == budget.calls_end() < budget.store_end()
    assert recording == last_write == saving == budget.store_end()


@pytest.mark.parametrize(
    ("lambda_level", "python_level"),
    [
        ("TRACE", "DEBUG"),
        ("DEBUG", "DEBUG"),
        ("INFO", "INFO"),
        ("WARN", "WARNING"),
        ("ERROR", "ERROR"),
        ("FATAL", "CRITICAL"),
    ],
)
def test_lambdas_application_log_level_sets_the_loggers_over_our_own_variables(
    monkeypatch: pytest.MonkeyPatch, lambda_level: str, python_level: str
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "ERROR" if python_level != "ERROR" else "INFO")
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", lambda_level)  # what Lambda sets from ApplicationLogLevel

    assert log_level() == (python_level, None)
