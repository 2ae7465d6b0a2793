"""Shared by the tests: Cognito's misbehaviour is switched off again after each one, and the tests
that run the function against AWS on loopback share how they start it (tests/unit has moto in process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import FAULTS, CognitoEmulator, running_emulator
from tests.support.receiver import Receiver


@pytest.fixture(autouse=True)
def no_faults_left_behind() -> Iterator[None]:
    yield
    FAULTS.reset()


@pytest.fixture(scope="module")
def emulator() -> Iterator[CognitoEmulator]:
    """moto's server on 127.0.0.1, with the idempotency table template.yaml deploys."""
    with running_emulator() as emulator:
        emulator.create_tables()
        yield emulator


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The HTTPS receiver standing in for CloudFormation's ResponseURL."""
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def pool(emulator: CognitoEmulator) -> str:
    return emulator.create_user_pool("tests")
