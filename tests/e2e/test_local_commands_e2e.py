"""`make demo` and `make invoke` keep working: they are what a new user runs first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator import CognitoEmulator
from tests.support.lambda_runtime import FUNCTION, ROOT

pytestmark = pytest.mark.e2e


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # as on a fresh machine
    env["PYTHONPATH"] = os.pathsep.join([str(FUNCTION), str(ROOT)])
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_demo_plays_the_whole_lifecycle_and_passes() -> None:
    result = run("tests.support.demo")

    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines() if "PhysicalResourceId" in line] == ["SUCCESS"] * 7
    assert "Verdict: PASS" in result.stdout
    assert "'Weather (made by hand)'  scopes: legacy" in result.stdout.split("7. ")[1], "given back as it was"


@pytest.mark.parametrize("name", ["create", "update", "update-replace", "delete-replaced", "delete", "create-adopt"])
def test_invoke_prints_the_answer_to_each_event_file(name: str) -> None:
    result = run("tests.support.invoke", f"events/{name}.json")

    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["Status"] == "SUCCESS", answer
    assert answer["RequestId"] == json.loads((ROOT / "events" / f"{name}.json").read_text())["RequestId"]


def test_invoke_against_another_endpoint_says_plainly_when_the_pool_is_missing(emulator: CognitoEmulator) -> None:
    result = run("tests.support.invoke", "events/create.json", AWS_ENDPOINT_URL=emulator.endpoint)

    assert result.returncode == 1, "a FAILED answer"
    assert f"Cognito: {emulator.endpoint} (AWS_ENDPOINT_URL)" in result.stdout
    assert "user pool us-east-1_Ex4mpl3Po0l, named by the event, does not exist" in result.stdout
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("User pool us-east-1_Ex4mpl3Po0l not found")


@pytest.mark.parametrize(
    ("event", "extra_env", "says"),
    [
        ("events/missing.json", {}, "make invoke: no event file at events/missing.json"),
        ("env.json", {}, "make invoke: env.json is not a CloudFormation request"),
        ("README.md", {}, "make invoke: README.md is not JSON"),
        (
            "events/create.json",
            {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
            "make invoke: nothing answers at http://127.0.0.1:9 (AWS_ENDPOINT_URL): start `make emulator`",
        ),
    ],
    ids=["missing file", "not an event", "not JSON", "no emulator"],
)
def test_invoke_refuses_in_one_plain_line(event: str, extra_env: dict[str, str], says: str) -> None:
    result = run("tests.support.invoke", event, **extra_env)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(says)
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("pool", "reason"),
    [
        ("bad pool", "Invalid properties: UserPoolId must look like us-east-1_AbC123"),
        (
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Ex4mpl3Po0l",
            "Invalid properties: UserPoolId is a user pool's ARN: use the pool id, us-east-1_Ex4mpl3Po0l",
        ),
    ],
    ids=["malformed", "an ARN"],
)
def test_invoke_makes_no_pool_cognito_would_refuse_and_says_why_it_failed(
    tmp_path: Path, pool: str, reason: str
) -> None:
    event = json.loads((ROOT / "events" / "create.json").read_text())
    event["ResourceProperties"]["UserPoolId"] = pool
    (tmp_path / "event.json").write_text(json.dumps(event))

    result = run("tests.support.invoke", str(tmp_path / "event.json"))

    assert result.returncode == 1, "a FAILED answer"
    assert f"Note: no user pool made for {pool[:60]!r}, which Cognito would refuse as an id." in result.stdout
    assert json.loads(result.stdout[result.stdout.index("{") :])["Reason"] == reason
    assert "Traceback" not in result.stdout + result.stderr
