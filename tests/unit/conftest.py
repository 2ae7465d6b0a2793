"""In-process harness: the real handler, moto's Cognito (with our extension), answers captured."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from resource_server import answer
from resource_server.cognito import Cognito, client_config
from tests.support import emulator
from tests.support.lambda_context import LambdaContext

WRITES = {"CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer"}


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", emulator.REGION)
    monkeypatch.setenv("AWS_REGION", emulator.REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def cognito_idp(aws_environment: None) -> Iterator[Any]:
    emulator.install()
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=emulator.REGION)


@pytest.fixture
def pool(cognito_idp: Any) -> str:
    return str(cognito_idp.create_user_pool(PoolName="unit")["UserPool"]["Id"])


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


@pytest.fixture
def provider(cognito_idp: Any, monkeypatch: pytest.MonkeyPatch) -> Provider:
    import app

    client = boto3.client("cognito-idp", config=client_config())
    harness = Provider(handler=app.handler, client=client)
    client.meta.events.register(
        "before-call.cognito-identity-provider.*", lambda model, **_: harness.calls.append(model.name)
    )
    client.meta.events.register_first(
        "before-send.cognito-identity-provider.*",
        lambda request, **_: harness.attempts.append(request.headers["X-Amz-Target"].decode().split(".")[-1]),
    )
    monkeypatch.setattr(app, "cognito", Cognito(client))

    def put(_url: str, payload: bytes, _timeout: float) -> int:
        harness.answers.append(json.loads(payload))
        return 200

    monkeypatch.setattr(answer, "_put", put)
    return harness
