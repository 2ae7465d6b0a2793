"""`make demo` and `make invoke` keep working: they are what a new user runs first."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cloudformation import set_stack_status
from tests.support.emulator import CognitoEmulator
from tests.support.events import EXAMPLE_POOL
from tests.support.lambda_runtime import FUNCTION, ROOT

pytestmark = pytest.mark.e2e


def answer_in(printed: str) -> dict[str, Any]:
    """The answer `make invoke` printed: the JSON between its first `{` line and its `}` line."""
    lines = printed.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("{"))
    end = next(n for n, line in enumerate(lines) if line == "}")
    answer: dict[str, Any] = json.loads("\n".join(lines[start : end + 1]))
    return answer


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # as on a fresh machine
    env["PYTHONPATH"] = os.pathsep.join([str(FUNCTION), str(ROOT)])
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_demo_plays_the_whole_lifecycle_and_passes() -> None:
    result = run("tests.tools.demo")

    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines() if "PhysicalResourceId" in line] == ["SUCCESS"] * 7
    assert "Verdict: PASS" in result.stdout
    assert "'Weather (made by hand)'  scopes: legacy" in result.stdout.split("7. ")[1], "given back as it was"


@pytest.mark.parametrize("name", ["create", "update", "update-replace", "delete-replaced", "delete", "create-adopt"])
def test_invoke_prints_the_answer_to_each_event_file(name: str) -> None:
    result = run("tests.tools.invoke", f"events/{name}.json")

    assert result.returncode == 0, result.stdout + result.stderr
    answer = answer_in(result.stdout)
    assert answer["Status"] == "SUCCESS", answer
    assert answer["RequestId"] == json.loads((ROOT / "events" / f"{name}.json").read_text())["RequestId"]


def test_invoke_against_another_endpoint_says_plainly_when_the_pool_is_missing(emulator: CognitoEmulator) -> None:
    result = run("tests.tools.invoke", "events/create.json", AWS_ENDPOINT_URL=emulator.endpoint)

    assert result.returncode == 1, "a FAILED answer"
    assert f"Cognito: {emulator.endpoint} (AWS_ENDPOINT_URL)" in result.stdout
    assert "user pool us-east-1_Ex4mpl3Po0l, named by the event, does not exist" in result.stdout
    answer = answer_in(result.stdout)
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
    result = run("tests.tools.invoke", event, **extra_env)

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

    result = run("tests.tools.invoke", str(tmp_path / "event.json"))

    assert result.returncode == 1, "a FAILED answer"
    assert f"Note: no user pool made for {pool[:60]!r}, which Cognito would refuse as an id." in result.stdout
    assert answer_in(result.stdout)["Reason"] == reason
    assert "Traceback" not in result.stdout + result.stderr


def make(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MAKE"))}
    env.update(extra_env)
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_emulator_that_cannot_listen_stops_at_once_saying_which_port_and_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("tests.tools.emulator", "--port", str(port))

    assert result.returncode == 2
    assert result.stderr == (
        f"make emulator: port {port} on 127.0.0.1 is already in use: "
        "run make emulator PORT=5001, or another free port\n"
    )


def test_emulator_with_a_host_that_is_not_this_machines_stops_at_once() -> None:
    result = run("tests.tools.emulator", "--host", "no-such-host.invalid")

    assert result.returncode == 2
    assert result.stderr.startswith("make emulator: no such host 'no-such-host.invalid' to listen on")


@pytest.mark.parametrize(
    ("change", "request_type"),
    [
        (lambda e: e.update(ResourceProperties="UserPoolId=us-east-1_Ex4mpl3Po0l"), "Create"),
        (lambda e: e["OldResourceProperties"].update(Scopes="read write"), "Update"),
    ],
    ids=["properties given as a string", "old Scopes given as a string"],
)
def test_invoke_shows_the_handlers_answer_to_a_malformed_event_without_a_traceback(
    tmp_path: Path, change: Any, request_type: str
) -> None:
    event = json.loads((ROOT / "events" / f"{request_type.lower()}.json").read_text())
    change(event)
    (tmp_path / "event.json").write_text(json.dumps(event))

    result = run("tests.tools.invoke", str(tmp_path / "event.json"))

    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode in (0, 1)
    answer = answer_in(result.stdout)
    assert result.stdout.splitlines()[-1].startswith(f"{answer['Status']}: ")


def test_invoke_of_an_event_whose_response_url_is_no_url_says_so_in_one_line(tmp_path: Path) -> None:
    event = json.loads((ROOT / "events" / "create.json").read_text())
    event["ResponseURL"] = 12345
    (tmp_path / "event.json").write_text(json.dumps(event))

    result = run("tests.tools.invoke", str(tmp_path / "event.json"))

    assert result.returncode == 2
    assert "ResponseURL is not an https URL" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_the_exit_codes_the_readme_gives_hold_for_the_commands_it_shows(tmp_path: Path) -> None:
    failing = json.loads((ROOT / "events" / "create.json").read_text())
    failing["ResourceProperties"]["Scope"] = "a typo"
    (tmp_path / "failing.json").write_text(json.dumps(failing))

    tool = [run("tests.tools.invoke", name) for name in ("events/create.json", str(tmp_path / "failing.json"), "nope")]
    through_make = make("invoke", f"EVENT={tmp_path / 'failing.json'}")

    assert [result.returncode for result in tool] == [0, 1, 2]
    assert tool[0].stdout.splitlines()[-1].startswith("SUCCESS: ")
    assert tool[1].stdout.splitlines()[-1].startswith("FAILED: Invalid properties: Scope is not a property")
    assert through_make.returncode != 0, "make says a failure is one, though it can't say which"
    assert through_make.stdout.splitlines()[-1].startswith("FAILED: Invalid properties")


def test_invoke_shows_debug_lines_when_asked(tmp_path: Path) -> None:
    result = make("invoke", "EVENT=events/create.json", "LOGS=1", LOG_LEVEL="DEBUG")

    assert result.returncode == 0, result.stdout + result.stderr
    assert '"level":"DEBUG"' in result.stdout
    assert "X-Amz-Signature" not in result.stdout, "the ResponseURL is never logged, at DEBUG either"


def test_a_python_that_is_not_3_13_is_refused_in_one_line(tmp_path: Path) -> None:
    other = tmp_path / "python3"
    other.write_text("#!/bin/sh\nexit 1  # a Python that is not 3.13: the version check fails\n")
    other.chmod(0o755)

    result = make("package", f"PYTHON={other}")

    assert result.returncode == 2
    assert result.stderr.startswith(f"make: Python 3.13 is needed, as the Lambda runtime runs it; {other} is not 3.13")
    assert result.stdout == ""


def test_invoke_against_make_emulator_adopts_with_the_emulators_tables(emulator: CognitoEmulator) -> None:
    # As `make emulator` holds them: the events' pool, the ledger and the answers table.
    if not emulator.has_user_pool(EXAMPLE_POOL):
        emulator.create_user_pool("example", pool_id=EXAMPLE_POOL)
    emulator.client().create_resource_server(
        UserPoolId=EXAMPLE_POOL, Identifier="https://weather-api.example.com", Name="Made by hand"
    )
    stack_id = json.loads((ROOT / "events" / "create-adopt.json").read_text())["StackId"]
    emulator.create_stack(stack_id)
    set_stack_status(stack_id, "CREATE_IN_PROGRESS")  # the operation that adopts it

    result = run("tests.tools.invoke", "events/create-adopt.json", AWS_ENDPOINT_URL=emulator.endpoint)

    assert result.returncode == 0, result.stdout + result.stderr
    assert answer_in(result.stdout)["Status"] == "SUCCESS"
