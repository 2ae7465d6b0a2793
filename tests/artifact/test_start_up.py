"""A provider that can't start still answers every request, once, saying why: under the runtime
interface client, on both SDKs. Before, each of these left CloudFormation waiting out ServiceTimeout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import events
from tests.support.emulator import IDEMPOTENCY_TABLE, CognitoEmulator
from tests.support.lambda_service import LambdaInstance
from tests.support.receiver import Receiver

pytestmark = pytest.mark.artifact
TIMEOUT_S = 14.0
SDKS = ("oldest", "newest")


@pytest.fixture(params=SDKS, ids=[f"sdk-{sdk}" for sdk in SDKS])
def sdk(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def start(sdk: str, emulator: CognitoEmulator, receiver: Receiver) -> Iterator[Any]:
    started: list[LambdaInstance] = []

    def starting(ahead: Path | None = None, **env: str) -> LambdaInstance:
        instance = LambdaInstance(
            sdk, emulator.endpoint, receiver.cert_file, ahead=ahead, IDEMPOTENCY_TABLE=IDEMPOTENCY_TABLE, **env
        )
        started.append(instance)
        return instance

    yield starting
    for instance in started:
        instance.stop()


def answers(instance: LambdaInstance, receiver: Receiver, pool: str) -> list[list[dict[str, Any]]]:
    """Create, Update and Delete, each as CloudFormation sends it: every answer each one got."""
    props = events.properties(pool)
    physical_id = f"{pool}|https://api.example.com"
    requests = [
        events.request("Create", props),
        events.request("Update", props, physical_id=physical_id, old_properties=props),
        events.request("Delete", props, physical_id=physical_id),
    ]
    got = []
    for request in requests:
        event = events.aimed(request, receiver=receiver.host, new_request_id=False)
        invocation = instance.invoke(event, TIMEOUT_S)
        assert invocation.outcome == "response", (invocation, instance.logs)
        receiver.answer_for(event["RequestId"], timeout_s=5)
        got.append([d.answer for d in receiver.deliveries_for(event["RequestId"])])
    return got


def test_a_log_level_that_is_no_level_falls_back_to_info_and_answers(start: Any, receiver: Receiver, pool: str) -> None:
    instance = start(LOG_LEVEL="DEBG")

    got = answers(instance, receiver, pool)

    assert [[a["Status"] for a in each] for each in got] == [["SUCCESS"]] * 3
    assert "LOG_LEVEL 'DEBG' is not a level (DEBUG, INFO, WARNING, ERROR, CRITICAL); logging at INFO" in instance.logs


def test_an_endpoint_that_is_no_url_fails_every_request_once_saying_which(
    start: Any, receiver: Receiver, pool: str
) -> None:
    instance = start(AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="not a url")

    create, update, delete = answers(instance, receiver, pool)

    for each in (create, update, delete):
        assert len(each) == 1
        assert each[0]["Status"] == "FAILED"
        assert each[0]["Reason"].startswith(
            "The provider is misconfigured: AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER 'not a url' is not a URL"
        )
    assert create[0]["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert update[0]["PhysicalResourceId"] == delete[0]["PhysicalResourceId"] == f"{pool}|https://api.example.com"
    assert "Traceback" not in instance.logs


def test_a_dependency_that_fails_to_import_fails_every_request_once_saying_redeploy(
    start: Any, receiver: Receiver, pool: str, tmp_path: Path
) -> None:
    # A runtime SDK that lacks what the provider uses: ahead of /var/runtime's, as a layer's would be.
    broken = tmp_path / "botocore"
    broken.mkdir()
    (broken / "__init__.py").write_text('__version__ = "1.0.0"\n')
    instance = start(ahead=tmp_path)

    create, update, delete = answers(instance, receiver, pool)

    for each in (create, update, delete):
        assert len(each) == 1
        reason = each[0]["Reason"]
        assert each[0]["Status"] == "FAILED"
        assert reason.startswith("The provider failed to start: ModuleNotFoundError in ")
        assert "No module named 'botocore." in reason
        assert reason.endswith("redeploy it (a broken layer or an unsupported Lambda runtime SDK can cause this)")
        assert len(reason) <= 240
    assert create[0]["PhysicalResourceId"].startswith("NotCreated_Api_")
    assert delete[0]["PhysicalResourceId"] == f"{pool}|https://api.example.com"
    assert "X-Amz-Signature" not in instance.logs, "the ResponseURL is never logged"
