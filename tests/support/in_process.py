"""The real handler in this process, as the tests drive it: its answers captured, its calls counted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.config import Config

from resource_server import answer, plan
from resource_server.adoption import Adoptions
from resource_server.cognito import Cognito
from resource_server.replay import Replay
from resource_server.stack import Stack
from tests.support.lambda_context import LambdaContext

# A Cognito client whose lost answers cost half a second, not five: for tests of timeouts.
QUICK = Config(retries={"mode": "standard"}, connect_timeout=0.5, read_timeout=0.5)
WRITES = {"CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer"}


@dataclass
class Provider:
    """The deployed function, as a test drives it."""

    handler: Any
    client: Any  # the function's own Cognito client
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


def wire(monkeypatch: pytest.MonkeyPatch, client: Any, table: str | None = None) -> Provider:
    """Point the function's module-level state at `client` and `table`, fresh for this test."""
    import app

    harness = Provider(handler=app.handler, client=client)
    client.meta.events.register(
        "before-call.cognito-identity-provider.*", lambda model, **_: harness.calls.append(model.name)
    )
    client.meta.events.register_first(
        "before-send.cognito-identity-provider.*",
        lambda request, **_: harness.attempts.append(request.headers["X-Amz-Target"].decode().split(".")[-1]),
    )
    # Their other clients are made on first use: fresh ones reach whatever AWS this test runs against.
    services = plan.Services(Cognito(client, app.budget), Stack(app.budget), Adoptions(table, app.budget))
    monkeypatch.setattr(app, "services", services)
    monkeypatch.setattr(app, "replay", Replay(table, app.budget))

    def put(_url: str, payload: bytes, _timeout: float) -> int:
        harness.answers.append(json.loads(payload))
        return 200

    monkeypatch.setattr(answer, "_put", put)
    return harness
