"""In-process harness: the real handler, moto's Cognito (with our extension), answers captured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import emulator, in_process
from tests.support.in_process import QUICK, Harness


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.REGION)
    monkeypatch.setenv("AWS_REGION", emulator.REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def cognito_idp(aws_environment: None) -> Iterator[Any]:
    emulator.install()
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=emulator.REGION)


@pytest.fixture
def pool(cognito_idp: Any) -> str:
    return str(cognito_idp.create_user_pool(PoolName="unit")["UserPool"]["Id"])


@pytest.fixture
def provider(cognito_idp: Any, monkeypatch: pytest.MonkeyPatch) -> Harness:
    return in_process.wire(monkeypatch, boto3.client("cognito-idp", config=QUICK))
