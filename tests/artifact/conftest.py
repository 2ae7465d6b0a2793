"""The built artifact under the real runtime interface client, on each SDK the Lambda runtime may hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import IDEMPOTENCY_TABLE, CognitoEmulator
from tests.support.lambda_service import LambdaInstance
from tests.support.receiver import Receiver

# The oldest SDK the function supports, and the newest it is tested with (tests/locks/sdk-*.in).
SDKS = ("oldest", "newest")


@pytest.fixture(params=SDKS, ids=[f"sdk-{sdk}" for sdk in SDKS])
def instance(request: pytest.FixtureRequest, emulator: CognitoEmulator, receiver: Receiver) -> Iterator[LambdaInstance]:
    """A fresh execution environment of the built function, as deployed: idempotency table included."""
    instance = LambdaInstance(request.param, emulator.endpoint, receiver.cert_file, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE)
    try:
        yield instance
        assert "Traceback" not in instance.logs, instance.logs
    finally:
        instance.stop()
