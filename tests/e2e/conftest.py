"""End-to-end harness: moto's server on 127.0.0.1 and an HTTPS receiver, shared by a module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import events, lambda_runtime
from tests.support.emulator import CognitoEmulator, running_emulator
from tests.support.receiver import Receiver


@pytest.fixture(scope="module")
def emulator() -> Iterator[CognitoEmulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def pool(emulator: CognitoEmulator) -> str:
    return emulator.create_user_pool("e2e")


class Lambda:
    """The deployed function: every send is a fresh process, as Lambda runs it."""

    def __init__(self, emulator: CognitoEmulator, receiver: Receiver) -> None:
        self.receiver = receiver
        self.env = lambda_runtime.function_environment(emulator.endpoint, receiver.cert_file)
        self.last: lambda_runtime.Invocation | None = None

    def send(
        self, event: dict[str, Any], *, pool: str | None = None, timeout_s: float = 60.0, **env: str
    ) -> dict[str, Any]:
        aimed = events.aimed(event, pool=pool, receiver=self.receiver.host)
        self.last = lambda_runtime.invoke(aimed, {**self.env, **env}, timeout_s)
        assert not self.last.timed_out, self.last.logs
        return self.receiver.answer_for(aimed["RequestId"], timeout_s=5)


@pytest.fixture
def function(emulator: CognitoEmulator, receiver: Receiver) -> Lambda:
    return Lambda(emulator, receiver)
