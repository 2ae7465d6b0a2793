"""Cognito's errors become reasons that say what to do; the deadline always gets an answer."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from resource_server import aws
from resource_server.budget import Budget
from resource_server.cognito import Cognito
from resource_server.contract import ResourceServer
from tests.support import events
from tests.support.emulator import FAULTS
from tests.support.in_process import Harness, short_lambda
from tests.support.lambda_context import LambdaContext

API = "https://api.example.com"


def test_access_denied_names_the_action_and_the_pool(provider: Harness, pool: str) -> None:
    FAULTS.fail("CreateResourceServer", "AccessDeniedException", message="User is not authorized")

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(f"Access denied to cognito-idp:CreateResourceServer on user pool {pool}")
    assert not answer["PhysicalResourceId"].startswith(pool), "a refused create names no server"


def test_internal_error_is_retried_and_then_succeeds(provider: Harness, cognito_idp: Any, pool: str) -> None:
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=2, status=500)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.write_attempts == ["CreateResourceServer"] * 3


def test_internal_error_that_persists_fails_clearly_and_names_the_server_that_may_exist(
    provider: Harness, pool: str
) -> None:
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=10, status=500)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(f"Cognito internal error after 3 attempts on user pool {pool}")
    assert answer["PhysicalResourceId"] == f"{pool}|{API}", "a 500 may have acted: the rollback Delete checks"


def test_quota_is_not_retried(provider: Harness, pool: str) -> None:
    FAULTS.fail("CreateResourceServer", "LimitExceededException", times=5)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Reason"].startswith(f"Quota reached in user pool {pool}")
    assert provider.write_attempts == ["CreateResourceServer"]


def test_throttling_is_retried_until_cognito_accepts(provider: Harness, pool: str) -> None:
    FAULTS.fail("CreateResourceServer", "TooManyRequestsException", times=6)

    answer = provider.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.write_attempts == ["CreateResourceServer"] * 7


def test_throttling_past_the_deadline_fails_in_time_saying_so(provider: Harness, pool: str) -> None:
    FAULTS.fail("CreateResourceServer", "TooManyRequestsException", times=1000)
    started = time.monotonic()

    answer = provider.send(events.request("Create", events.properties(pool)), timeout_s=12)

    assert time.monotonic() - started < 11
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Still throttled after")
    assert "5 writes/s per pool" in answer["Reason"]


def test_lambda_deadline_during_a_create_answers_failed_naming_the_server(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def create_that_hangs(self: Cognito, server: ResourceServer) -> None:
        time.sleep(3.5)

    monkeypatch.setattr(Cognito, "create", create_that_hangs)
    short_lambda(monkeypatch)
    before = len(provider.answers)

    # Time for the ledger's write (one attempt may take 2 s) before the create that hangs.
    provider.handler(events.request("Create", events.properties(pool)), LambdaContext(timeout_s=3.0))

    assert len(provider.answers) == before + 1, "crhelper's timer answered, and the main path did not answer again"
    answer = provider.answers[-1]
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Timed out: the provider did not finish before the Lambda deadline")
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"


def test_lambda_deadline_during_an_update_keeps_the_physical_id(
    provider: Harness, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Cognito, "describe", lambda *_: time.sleep(2.0))
    short_lambda(monkeypatch)
    props = events.properties(pool)
    before = len(provider.answers)

    provider.handler(
        events.request("Update", props, physical_id=f"{pool}|{API}", old_properties=props), LambdaContext(1.5)
    )

    assert len(provider.answers) == before + 1
    assert provider.answers[-1]["Status"] == "FAILED"
    assert provider.answers[-1]["PhysicalResourceId"] == f"{pool}|{API}"


def test_earlier_failures_in_a_warm_function_leave_later_requests_their_retries(provider: Harness, pool: str) -> None:
    # botocore's standard mode spends a per-client quota on each retry: 60 requests whose every
    # attempt fails would leave a warm function's later requests with none, rollbacks included.
    old = events.properties(pool)
    new = events.properties(pool, name="Renamed")
    assert provider.send(events.request("Create", old))["Status"] == "SUCCESS"
    for _ in range(60):
        FAULTS.fail("UpdateResourceServer", "InternalErrorException", times=3, status=500)
        update = events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old)
        assert provider.send(update)["Status"] == "FAILED"
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=2, status=500)

    answer = provider.send(events.request("Create", events.properties(pool, identifier="https://other.example.com")))

    assert answer["Status"] == "SUCCESS", answer["Reason"]


@pytest.mark.parametrize(("operation", "waited_out"), [("PutItem", True), ("GetItem", False), ("Query", False)])
def test_a_lost_answer_is_waited_out_only_for_a_call_that_can_act(operation: str, waited_out: bool) -> None:
    # The answers store's writing() scope covers the ledger's calls, which share its client.
    budget = Budget(clock=lambda: 100.0)
    budget.start(60_000)
    shared = aws.tables(budget.tables_end)
    shared.retries.clock, shared.retries.sleep = (lambda: 100.0), (lambda _s: None)
    model = shared.client.meta.service_model.operation_model(operation)
    lost = ReadTimeoutError(endpoint_url="http://127.0.0.1")

    # A Query gets one attempt: it raises its error instead of retrying.
    with shared.retries.writing() as write, contextlib.suppress(ReadTimeoutError):
        shared.retries.needs_retry(attempts=1, caught_exception=lost, operation=model, request_dict={"context": {}})

    assert write.in_doubt is waited_out
    assert (write.lost_until > 0) is waited_out
