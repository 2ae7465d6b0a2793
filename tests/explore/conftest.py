"""The explorer's world: moto in this process, with the emulator's extension and the provider's
tables, shared by every schedule (each plays in a user pool and stacks of its own)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support import emulator
from tests.support.scenarios import in_moto


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
        # Thousands of requests fail on purpose here: their log lines would bury the one that matters.
        for name in ("resource_server", "crhelper"):
            patch.setattr(logging.getLogger(name), "level", logging.CRITICAL)
        with in_moto():
            yield
