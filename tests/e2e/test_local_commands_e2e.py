"""`make demo` and `make invoke` keep working: they are what a new user runs first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
    assert [line.split()[0] for line in result.stdout.splitlines() if "PhysicalResourceId" in line] == ["SUCCESS"] * 5
    assert "Verdict: PASS" in result.stdout


@pytest.mark.parametrize("name", ["create", "update", "update-replace", "delete"])
def test_invoke_prints_the_answer_to_each_event_file(name: str) -> None:
    result = run("tests.support.invoke", f"events/{name}.json")

    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["Status"] == "SUCCESS", answer
    assert answer["RequestId"] == json.loads((ROOT / "events" / f"{name}.json").read_text())["RequestId"]


def test_invoke_against_another_endpoint_says_plainly_when_the_pool_is_missing(emulator: CognitoEmulator) -> None:
    result = run("tests.support.invoke", "events/create.json", AWS_ENDPOINT_URL=emulator.endpoint)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Cognito: {emulator.endpoint} (AWS_ENDPOINT_URL)" in result.stdout
    assert "user pool us-east-1_Ex4mpl3Po0l, named by the event, does not exist" in result.stdout
    answer = json.loads(result.stdout[result.stdout.index("{") :])
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("User pool us-east-1_Ex4mpl3Po0l not found")
