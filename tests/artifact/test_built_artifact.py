"""What ships, run as Lambda runs it: `sam build`'s output under awslambdaric, on each SDK it may meet.

Every test runs once on the oldest SDK the function supports and once on the newest it is
tested with, and asks for the same answers from both. The instance's log must hold no
traceback (the fixture checks). This, not the handler imported from function/, is the last
word on what ships.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import events
from tests.support.emulator import FAULTS, SERVERS_PER_POOL, CognitoEmulator
from tests.support.lambda_runtime import METRICS_NAMESPACE as NAMESPACE
from tests.support.lambda_runtime import ROOT
from tests.support.lambda_service import LambdaInstance
from tests.support.receiver import Receiver

pytestmark = pytest.mark.artifact
# Long enough for a Cognito attempt (2 s connect, 5 s read) and the 4 s kept for saving and answering.
TIMEOUT_S = 14.0


def send(instance: LambdaInstance, receiver: Receiver, event: dict[str, Any]) -> dict[str, Any]:
    invocation = instance.invoke(event, TIMEOUT_S)
    assert invocation.outcome == "response", (invocation, instance.logs)
    return receiver.answer_for(event["RequestId"], timeout_s=5)


def aimed(receiver: Receiver, event: dict[str, Any], pool: str) -> dict[str, Any]:
    return events.aimed(event, pool=pool, receiver=receiver.host)


def test_a_stacks_lifecycle_and_a_repeated_delivery(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str
) -> None:
    create = aimed(receiver, events.load("create"), pool)
    created = send(instance, receiver, create)
    assert created["Status"] == "SUCCESS", created["Reason"]

    again = send(instance, receiver, create)  # Lambda delivered the same event twice

    assert again == created
    assert FAULTS.attempts["CreateResourceServer"] == 1
    for name in ("update", "update-replace"):
        answer = send(instance, receiver, aimed(receiver, events.load(name), pool))
        assert answer["Status"] == "SUCCESS", answer["Reason"]
    replace = events.load("update-replace")
    cleanup = events.request("Delete", replace["OldResourceProperties"], physical_id=replace["PhysicalResourceId"])
    assert send(instance, receiver, aimed(receiver, cleanup, pool))["Status"] == "SUCCESS"
    assert set(emulator.servers(pool)) == {replace["ResourceProperties"]["Identifier"]}
    deleted = send(instance, receiver, aimed(receiver, events.load("delete"), pool))
    assert deleted["Status"] == "SUCCESS"
    assert emulator.servers(pool) == {}


def test_a_full_pool_fails_at_once_naming_the_quota(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str
) -> None:
    for n in range(SERVERS_PER_POOL):
        emulator.client().create_resource_server(UserPoolId=pool, Identifier=f"https://{n}.example.com", Name="n")
    before = FAULTS.attempts["CreateResourceServer"]

    answer = send(instance, receiver, aimed(receiver, events.request("Create", events.properties(pool)), pool))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(f"Quota reached in user pool {pool}")
    assert FAULTS.attempts["CreateResourceServer"] - before == 1, "a quota is never retried"


def test_throttling_that_outlasts_the_retries_fails_before_the_deadline_saying_so(
    instance: LambdaInstance, receiver: Receiver, pool: str
) -> None:
    FAULTS.fail("CreateResourceServer", "TooManyRequestsException", times=100_000)
    event = aimed(receiver, events.request("Create", events.properties(pool)), pool)

    invocation = instance.invoke(event, TIMEOUT_S)
    answer = receiver.answer_for(event["RequestId"], timeout_s=5)

    assert invocation.outcome == "response"
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Still throttled after")
    attempts = FAULTS.attempts["CreateResourceServer"]
    assert 2 <= attempts <= 40, f"{attempts} attempts: paced retries, not a burst against the pool's 5 writes/s"
    assert invocation.seconds < TIMEOUT_S - 2


def test_a_cognito_that_never_answers_is_answered_before_the_deadline_naming_the_server(
    instance: LambdaInstance, receiver: Receiver, pool: str
) -> None:
    FAULTS.hold("CreateResourceServer", 30.0, times=10)
    event = aimed(receiver, events.request("Create", events.properties(pool)), pool)

    invocation = instance.invoke(event, TIMEOUT_S)
    answer = receiver.answer_for(event["RequestId"], timeout_s=5)

    assert invocation.outcome == "response", "answered by the function, not stopped by Lambda"
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Timed out: Cognito did not answer CreateResourceServer")
    assert answer["PhysicalResourceId"] == f"{pool}|https://api.example.com", "it may land: the rollback finds it"


def test_the_schedules_drift_check_returns_its_report_and_publishes_its_metrics(
    instance: LambdaInstance, receiver: Receiver, emulator: CognitoEmulator, pool: str
) -> None:
    created = send(instance, receiver, aimed(receiver, events.load("create"), pool))
    assert created["Status"] == "SUCCESS", created["Reason"]
    declared = events.load("create")["ResourceProperties"]
    identifier = declared["Identifier"]
    emulator.client().update_resource_server(
        UserPoolId=pool, Identifier=identifier, Name="Edited by hand", Scopes=declared["Scopes"]
    )

    invocation = instance.invoke(json.loads((ROOT / "events" / "drift-check.json").read_text()), TIMEOUT_S)

    assert invocation.outcome == "response", (invocation, instance.logs)
    report = json.loads(invocation.body)
    # The ledger outlives one test, as it outlives a stack: the other SDK's run left its server.
    assert report["unchecked"] == []
    [drifted] = [found for found in report["drifted"] if found["server"].startswith(f"{pool}|")]
    assert drifted["server"] == f"{pool}|{identifier}"
    assert drifted["differences"] == ["Name: 'Edited by hand' in Cognito, 'Solar system data' declared"]
    lines = [json.loads(line) for line in instance.logs.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE
    counts = (emf["CheckedResourceServers"], emf["DriftedResourceServers"], emf["UncheckedPools"])
    assert counts == ([float(report["checked"])], [float(len(report["drifted"]))], [0.0])
    logged = [line["server"] for line in lines if line.get("message") == "Resource server drifted"]
    assert logged == [found["server"] for found in report["drifted"]]
