"""The built artifact under the real runtime interface client, on each SDK the Lambda runtime may hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import IDEMPOTENCY_TABLE, CognitoEmulator, running_emulator
from tests.support.lambda_service import LambdaInstance
from tests.support.receiver import Receiver

# The oldest SDK the function supports, and the newest it is tested with (tests/locks/sdk-*.in).
SDKS = ("oldest", "newest")


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
    return emulator.create_user_pool("artifact")


@pytest.fixture(params=SDKS, ids=[f"sdk-{sdk}" for sdk in SDKS])
def instance(request: pytest.FixtureRequest, emulator: CognitoEmulator, receiver: Receiver) -> Iterator[LambdaInstance]:
    """A fresh execution environment of the built function, as deployed: idempotency table included."""
    instance = LambdaInstance(request.param, emulator.endpoint, receiver.cert_file, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
    try:
        yield instance
        assert "Traceback" not in instance.logs, instance.logs
    finally:
        instance.stop()
