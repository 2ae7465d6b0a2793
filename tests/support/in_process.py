"""The real handler in this process, as the tests drive it: its answers captured, its calls counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from botocore.config import Config

from resource_server import deadline, delivery, plan
from resource_server import provider as provider_module
from resource_server.cognito import Cognito
from resource_server.deadline import Budget
from resource_server.ownership import Ledger
from resource_server.pacing import Turns
from resource_server.provider import Provider
from resource_server.replay import Replay
from resource_server.stack import Stack
from tests.support.emulator import LEDGER_TABLE, create_ledger_table
from tests.support.lambda_context import LambdaContext

# A Cognito client whose lost answers cost half a second, not three: for tests of timeouts.
QUICK = Config(retries={"mode": "standard"}, connect_timeout=0.5, read_timeout=0.5)
WRITES = {"CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer"}


@dataclass
class Harness:
    """The deployed function, as a test drives it."""

    handler: Any
    client: Any  # the function's own Cognito client
    provider: Provider
    answers: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # one per API call
    attempts: list[str] = field(default_factory=list)  # one per HTTP attempt, retries included

    def send(self, event: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
        """Invoke once; return the one answer CloudFormation would receive."""
        before = len(self.answers)
        self.handler(event, LambdaContext(timeout_s))
        assert len(self.answers) == before + 1, f"expected exactly one answer, got {len(self.answers) - before}"
        return self.answers[-1]

    @property
    def writes(self) -> list[str]:
        return [call for call in self.calls if call in WRITES]

    @property
    def write_attempts(self) -> list[str]:
        return [attempt for attempt in self.attempts if attempt in WRITES]


def short_lambda(monkeypatch: pytest.MonkeyPatch, *, reserves: bool = True) -> None:
    """Lets a test run the function with a Lambda Timeout of a few seconds, so that crhelper's timer
    fires: too short for any call as deployed, so the start-up check (and, with `reserves`, the
    time kept for the answer) are shrunk to fit."""
    monkeypatch.setattr(provider_module, "MIN_TIMEOUT_S", 1)
    if reserves:
        monkeypatch.setattr(deadline, "ANSWER_RESERVE_S", 0.1)
        monkeypatch.setattr(deadline, "STORE_RESERVE_S", 0.1)


def build(
    client: Any, answers_table: str | None = None, *, ledger_table: str = LEDGER_TABLE, allow_adoption: bool = True
) -> Provider:
    """The provider as from_environment() makes it, around a Cognito client of the test's own.
    The other clients are made on first use: they reach whatever AWS the test runs against."""
    create_ledger_table(boto3.client("dynamodb"), ledger_table)
    budget = Budget()
    ledger = Ledger(ledger_table, budget, legacy_table=answers_table)
    retries = Cognito.retry_policy(budget.calls_end, Turns(ledger.leases, lambda: ledger.lease, epoch=budget.epoch))
    retries.attach(client)
    services = plan.Services(Cognito(client, retries), ledger, Stack(budget.calls_end), allow_adoption)
    return Provider(Logger(), budget, services, Replay(answers_table, budget))


def wire(
    monkeypatch: pytest.MonkeyPatch, client: Any, table: str | None = None, *, allow_adoption: bool = True
) -> Harness:
    """Point the function's entry module at a provider around `client` and `table`, fresh for this test."""
    import app

    provider = build(client, table, allow_adoption=allow_adoption)
    harness = Harness(handler=app.handler, client=client, provider=provider)
    client.meta.events.register(
        "before-call.cognito-identity-provider.*", lambda model, **_: harness.calls.append(model.name)
    )
    client.meta.events.register_first(
        "before-send.cognito-identity-provider.*",
        lambda request, **_: harness.attempts.append(request.headers["X-Amz-Target"].decode().split(".")[-1]),
    )
    monkeypatch.setattr(app, "provider", provider)

    def put(_url: str, payload: bytes, _timeout: float) -> int:
        harness.answers.append(json.loads(payload))
        return 200

    monkeypatch.setattr(delivery, "_put", put)
    return harness
