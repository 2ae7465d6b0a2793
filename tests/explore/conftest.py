"""The explorer's world: moto in this process, with the emulator's extension and the provider's
tables, shared by every schedule (each plays in a user pool and stacks of its own)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests.support import emulator


@pytest.fixture(scope="module")
def world() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_PROFILE"):
            patch.delenv(key, raising=False)
        for key, value in {
            "AWS_DEFAULT_REGION": emulator.REGION,
            "AWS_REGION": emulator.REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }.items():
            patch.setenv(key, value)
        emulator.install()
        # Thousands of requests fail on purpose here: their log lines would bury the one that matters.
        for name in ("resource_server", "crhelper"):
            patch.setattr(logging.getLogger(name), "level", logging.CRITICAL)
        with mock_aws():
            dynamodb = boto3.client("dynamodb")
            emulator.create_ledger_table(dynamodb)
            dynamodb.create_table(
                TableName=emulator.IDEMPOTENCY_TABLE,
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            yield
