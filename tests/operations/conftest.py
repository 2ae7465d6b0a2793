"""Stack operations played through the real handler, in this process.

Cognito, DynamoDB and CloudFormation are moto's server on 127.0.0.1, reached over HTTP as the
deployed function reaches AWS, so a held call really times out. The function's Cognito
client gives up after half a second rather than five, to keep lost answers cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support import in_process
from tests.support.emulator import IDEMPOTENCY_TABLE, REGION, CognitoEmulator
from tests.support.in_process import Environments, Harness


@pytest.fixture
def provider(emulator: CognitoEmulator, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.delenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for key, value in {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("cognito-idp", config=in_process.QUICK)
    return in_process.wire(monkeypatch, client, IDEMPOTENCY_TABLE)


@pytest.fixture
def cognito_idp(provider: Harness) -> Any:
    """A client of the same Cognito, for the test's own reads and for other parties' servers."""
    return boto3.client("cognito-idp")


@pytest.fixture
def environments(provider: Harness) -> Iterator[Environments]:
    """Four execution environments of the same provider, for requests that run at once."""
    running = Environments(provider, lambda: boto3.client("cognito-idp", config=in_process.QUICK), IDEMPOTENCY_TABLE)
    yield running
    running.close()
