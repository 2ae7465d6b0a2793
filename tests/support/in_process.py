"""The real handler in this process, as the tests drive it: its answers captured, its calls counted."""

from __future__ import annotations

import json
import queue
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from botocore.config import Config

from resource_server import budget as budget_module
from resource_server import delivery
from resource_server.provider import Provider
from resource_server.startup import Configuration
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
    by_request: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
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
    monkeypatch.setattr(budget_module, "MIN_TIMEOUT_S", 1)
    if reserves:
        monkeypatch.setattr(budget_module, "ANSWER_RESERVE_S", 0.1)
        monkeypatch.setattr(budget_module, "STORE_RESERVE_S", 0.1)


def build(
    client: Any, answers_table: str | None = None, *, ledger_table: str = LEDGER_TABLE, allow_adoption: bool = True
) -> Provider:
    """The provider as the function assembles it, around a Cognito client of the test's own. The
    others reach whatever AWS the test runs against."""
    create_ledger_table(boto3.client("dynamodb"), ledger_table)
    configuration = Configuration(ledger_table, answers_table, allow_adoption, log_level="INFO")
    return Provider.assemble(Logger(), configuration, client)


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

    lock = threading.Lock()

    def put(_url: str, payload: bytes, _timeout: float) -> int:
        answer = json.loads(payload)
        with lock:
            harness.answers.append(answer)
            harness.by_request[answer["RequestId"]].append(answer)
        return 200

    monkeypatch.setattr(delivery, "_put", put)
    return harness


class Environments:
    """Lambda execution environments, for requests that run at once: each has a provider of its
    own (its own clients, budget and crhelper), one request at a time, on a thread of its own.
    Answers reach `harness`, which wire() made."""

    def __init__(self, harness: Harness, make_client: Any, table: str | None, count: int = 4) -> None:
        self.harness = harness
        self._free: queue.Queue[Provider] = queue.Queue()
        for _ in range(count):
            self._free.put(build(make_client(), table, allow_adoption=harness.provider.services.allow_adoption))
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="lambda")
        self.invoked: list[str] = []  # RequestIds, in the order they were sent

    def start(self, event: dict[str, Any], timeout_s: float = 60.0) -> Future[dict[str, Any]]:
        """Invoke asynchronously, as CloudFormation does; the future holds the request's one answer."""
        self.invoked.append(event["RequestId"])
        return self._pool.submit(self._run, event, timeout_s)

    def _run(self, event: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        provider = self._free.get()
        try:
            provider.handle(event, LambdaContext(timeout_s))
        finally:
            self._free.put(provider)
        answers = self.harness.by_request[event["RequestId"]]
        assert len(answers) == 1, f"expected exactly one answer, got {len(answers)}"
        return answers[0]

    def unanswered(self) -> list[str]:
        """Requests that got no answer, or more than one."""
        return [r for r in self.invoked if len(self.harness.by_request.get(r, [])) != 1]

    def close(self) -> None:
        self._pool.shutdown(wait=True)
