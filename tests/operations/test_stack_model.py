"""Random stack lives, played through the handler (tests/support/stack_lives.py): what a stack
author would sign after each operation. `make model` runs many more examples than CI does."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.support.emulator import CognitoEmulator
from tests.support.in_process import Harness
from tests.support.stack_lives import StackLives, print_played

SETTINGS = settings(
    max_examples=int(os.environ.get("STACK_MODEL_EXAMPLES", "12")),
    stateful_step_count=int(os.environ.get("STACK_MODEL_STEPS", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_every_stack_life_ends_complete_with_cognito_as_declared_and_the_foreign_server_untouched(
    provider: Harness, emulator: CognitoEmulator
) -> None:
    run_state_machine_as_test(lambda: StackLives(provider.send, emulator), settings=SETTINGS)
    print_played(f"One stack: {SETTINGS.max_examples} lives of up to {SETTINGS.stateful_step_count} steps played")
