"""End-to-end harness: the function in a fresh process per request, against tests/conftest.py's
moto server and HTTPS receiver on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.emulator import IDEMPOTENCY_TABLE, CognitoEmulator
from tests.support.lambda_runtime import LocalLambda
from tests.support.receiver import Receiver


@pytest.fixture
def function(emulator: CognitoEmulator, receiver: Receiver) -> LocalLambda:
    """The function as deployed, idempotency table included."""
    return LocalLambda(emulator.endpoint, receiver, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
