"""End-to-end harness: moto's server on 127.0.0.1 and an HTTPS receiver, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import IDEMPOTENCY_TABLE, CognitoEmulator, running_emulator
from tests.support.lambda_runtime import LocalLambda
from tests.support.receiver import Receiver


@pytest.fixture(scope="module")
def emulator() -> Iterator[CognitoEmulator]:
    with running_emulator() as emulator:
        emulator.create_idempotency_table()
        yield emulator


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def pool(emulator: CognitoEmulator) -> str:
    return emulator.create_user_pool("e2e")


@pytest.fixture
def function(emulator: CognitoEmulator, receiver: Receiver) -> LocalLambda:
    """The function as deployed, idempotency table included."""
    return LocalLambda(emulator.endpoint, receiver, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
