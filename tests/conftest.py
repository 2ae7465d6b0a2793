"""Shared by every test: Cognito's misbehaviour is switched off again after each one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import FAULTS


@pytest.fixture(autouse=True)
def no_faults_left_behind() -> Iterator[None]:
    yield
    FAULTS.reset()
