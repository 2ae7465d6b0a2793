"""Whole stack operations, rollbacks included, played through the built artifact on each SDK.

The same model of CloudFormation as tests/operations, but every request goes to `sam build`'s
output under awslambdaric, with the timeouts it ships with, and its answer comes back through
the HTTPS receiver, as CloudFormation would read it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.support import events
from tests.support.emulator import FAULTS, CognitoEmulator
from tests.support.lambda_service import LambdaInstance
from tests.support.receiver import Receiver
from tests.support.servers import held
from tests.support.stack_lives import StackLives
from tests.support.stack_operations import Custom, ModelStack, ReplacementRollback, Send, Sibling

pytestmark = pytest.mark.artifact
API = "https://api.example.com"
# Fewer lives than tests/operations plays in process: each request here is a real invocation.
SETTINGS = settings(
    max_examples=int(os.environ.get("ARTIFACT_MODEL_EXAMPLES", "10")),
    stateful_step_count=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def through(instance: LambdaInstance, receiver: Receiver) -> Send:
    """Send a stack's requests to the built function; exactly one answer each, or the test fails."""

    def send(event: dict[str, Any]) -> dict[str, Any]:
        aimed = events.aimed(event, receiver=receiver.host, new_request_id=False)
        invocation = instance.invoke(aimed, timeout_s=60)
        assert invocation.outcome == "response", (invocation, instance.logs)
        answer = receiver.answer_for(aimed["RequestId"], timeout_s=5)
        assert len([d for d in receiver.deliveries_for(aimed["RequestId"]) if d.status == 200]) == 1
        return answer

    return send


@pytest.mark.parametrize("rollback", list(ReplacementRollback), ids=lambda r: r.name)
def test_rollback_of_a_replacement_gives_back_the_old_server_and_removes_the_new(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str, rollback: ReplacementRollback
) -> None:
    stack = ModelStack(through(instance, receiver), rollback)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(emulator.client(), pool)

    status = stack.update(
        {"Api": Custom(events.properties(pool, identifier="https://v2.example.com")), "Client": Sibling(fails=True)}
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(emulator.client(), pool) == before


def test_an_adoption_whose_deployment_fails_gives_the_server_back_and_one_that_succeeds_owns_it(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str
) -> None:
    emulator.client().create_resource_server(UserPoolId=pool, Identifier=API, Name="Made by hand", Scopes=[])
    before = held(emulator.client(), pool)
    adopting = Custom(events.properties(pool, AdoptExisting="true"))

    failed = ModelStack(through(instance, receiver)).create({"Api": adopting, "Client": Sibling(fails=True)})

    assert failed == "ROLLBACK_COMPLETE"
    assert held(emulator.client(), pool) == before
    stack = ModelStack(through(instance, receiver))
    assert stack.create({"Api": adopting}) == "CREATE_COMPLETE"
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(emulator.client(), pool) == {}


def test_a_create_over_someone_elses_server_while_cognito_fails_leaves_it_alone(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str
) -> None:
    emulator.client().create_resource_server(UserPoolId=pool, Identifier=API, Name="Someone else", Scopes=[])
    before = held(emulator.client(), pool)
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=10, status=500)

    assert (
        ModelStack(through(instance, receiver)).create({"Api": Custom(events.properties(pool))}) == "ROLLBACK_COMPLETE"
    )
    assert held(emulator.client(), pool) == before


def test_random_stack_lives_end_complete_with_cognito_as_declared(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator
) -> None:
    run_state_machine_as_test(lambda: StackLives(through(instance, receiver), emulator), settings=SETTINGS)
