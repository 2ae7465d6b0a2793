"""`make invoke EVENT=events/create.json`: `sam local invoke`, without Docker.

Runs the handler once on the event, in its own process, and prints the answer it sent to
the ResponseURL (a local HTTPS receiver). Cognito is the embedded emulator, set up with
what the event assumes exists; or, when AWS_ENDPOINT_URL is set, that endpoint as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from resource_server.contract import USER_POOL_ID, ResourceServer
from resource_server.event import MAX_RESPONSE_URL, can_answer
from resource_server.outputs import data
from tests.support.cloudformation import set_stack_status
from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE, CognitoEmulator, running_emulator
from tests.support.lambda_runtime import LocalLambda
from tests.support.receiver import Receiver

# Every call the tool makes to AWS_ENDPOINT_URL is bounded and tried once: an endpoint that holds
# a connection open must not hold the tool with it.
CONNECT_TIMEOUT_S, READ_TIMEOUT_S = 2, 5
BOUNDED = Config(
    connect_timeout=CONNECT_TIMEOUT_S,
    read_timeout=READ_TIMEOUT_S,
    retries={"total_max_attempts": 1, "mode": "standard"},
)
FUNCTION_TIMEOUT_S = 60.0
# The function has exited when this is asked: an answer it sent is at the receiver already.
ANSWER_WAIT_S = 2.0
OUTPUTS = tuple(data(ResourceServer("", "", "")))  # the Data keys of every SUCCESS answer


def seed(emulator: CognitoEmulator, event: dict[str, Any]) -> list[str]:
    """Create what the event assumes exists: its user pool; for Update and Delete, its server; for
    a Create with AdoptExisting, a server made by hand to adopt, and the stack that adopts it."""
    # The handler judges a malformed event; this only seeds what a well-formed one assumes.
    props = event["ResourceProperties"] if isinstance(event.get("ResourceProperties"), dict) else {}
    before = event.get("OldResourceProperties") if event.get("RequestType") == "Update" else props
    pool_id, bar, identifier = str(event.get("PhysicalResourceId", "")).partition("|")
    pool_id = pool_id if bar else str(props.get("UserPoolId", ""))
    notes = []
    for pool in dict.fromkeys([pool_id, str(props.get("UserPoolId", ""))]):
        if pool and USER_POOL_ID.problem(pool):
            # A pool Cognito could never hold: the function is to say what is wrong with it.
            print(f"Note: no user pool made for {pool[:60]!r}, which Cognito would refuse as an id.")
        elif pool and not emulator.has_user_pool(pool):
            emulator.create_user_pool(f"pool-{pool}", pool_id=pool)
            notes.append(f"user pool {pool} (made for this run, as the event names it)")
    if (
        bar
        and not USER_POOL_ID.problem(pool_id)
        and event.get("RequestType") in ("Update", "Delete")
        and isinstance(before, dict)
    ):
        scopes = before.get("Scopes")
        keys = {"ScopeName", "ScopeDescription"}
        if not (isinstance(scopes, list) and all(isinstance(s, dict) and set(s) == keys for s in scopes)):
            scopes = []
        emulator.client().create_resource_server(
            UserPoolId=pool_id, Identifier=identifier, Name=str(before.get("Name", identifier)), Scopes=scopes
        )
        notes.append(f"resource server {identifier}")
    if (
        event.get("RequestType") == "Create"
        and props.get("AdoptExisting") == "true"
        and not USER_POOL_ID.problem(pool_id)
    ):
        emulator.client().create_resource_server(
            UserPoolId=pool_id, Identifier=str(props.get("Identifier")), Name="Made by hand", Scopes=[]
        )
        notes.append(f"resource server {props.get('Identifier')}, made by hand, to adopt")
        try:
            emulator.create_stack(str(event.get("StackId")))
        except ValueError as error:
            # Adoption reads the stack; the function is to say what is wrong with its id.
            print(f"Note: no stack made for the adoption to read: {error}.")
        else:
            set_stack_status(str(event.get("StackId")), "CREATE_IN_PROGRESS")
    return notes


def missing_pool(endpoint: str, event: dict[str, Any]) -> str | None:
    props = event.get("ResourceProperties")
    pool = props.get("UserPoolId") if isinstance(props, dict) else None
    if event.get("RequestType") == "Delete" or not isinstance(pool, str) or USER_POOL_ID.problem(pool):
        return None
    client = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=region(), config=BOUNDED)
    try:
        client.describe_user_pool(UserPoolId=pool)
    except client.exceptions.ResourceNotFoundException:
        return pool
    return None


class Refused(Exception):
    """What stops `make invoke` before it runs anything, in one line."""


def read_event(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise Refused(f"no event file at {path}; the files in events/ are CloudFormation requests to try")
    try:
        event = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise Refused(f"{path} is not JSON ({error})") from error
    if not isinstance(event, dict) or not {"RequestType", "ResponseURL"} <= event.keys():
        raise Refused(f"{path} is not a CloudFormation request: it has no RequestType and ResponseURL")
    if not isinstance(event["ResponseURL"], str) or not event["ResponseURL"].startswith("https://"):
        raise Refused(
            f"{path}'s ResponseURL is not an https URL, so the function would have nowhere to answer "
            "(it answers nothing, and logs why)"
        )
    return event


def check_emulator(endpoint: str) -> None:
    """That what answers at endpoint is a Cognito emulator, asked once and bounded: a socket that
    accepts is not enough (on macOS, AirPlay Receiver holds port 5000 and answers HTTP)."""
    client = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=region(), config=BOUNDED)
    try:
        client.list_user_pools(MaxResults=1)
    except (ConnectTimeoutError, ReadTimeoutError) as error:
        raise Refused(
            f"{endpoint} (AWS_ENDPOINT_URL) accepts connections but gave no answer within "
            f"{READ_TIMEOUT_S} s: is it `make emulator`? Start that, or unset AWS_ENDPOINT_URL "
            "to use an emulator of its own"
        ) from error
    except (BotoCoreError, ClientError) as error:
        if isinstance(error, BotoCoreError) and "Could not connect" in str(error):
            raise Refused(
                f"nothing answers at {endpoint} (AWS_ENDPOINT_URL): start `make emulator`, "
                "or unset AWS_ENDPOINT_URL to use an emulator of its own"
            ) from error
        raise Refused(
            f"what answers at {endpoint} (AWS_ENDPOINT_URL) is not a Cognito emulator "
            f"({type(error).__name__}); on macOS, AirPlay Receiver holds port 5000: "
            "run make emulator PORT=5001 and AWS_ENDPOINT_URL=http://127.0.0.1:5001"
        ) from error


def region() -> str:
    return os.environ.get("AWS_REGION", "us-east-1")


def report(function: LocalLambda, receiver: Receiver, aimed: dict[str, Any], logs: bool) -> int:
    """What the one request the tool sent came to: its answer, or why there is none, in one line."""
    assert function.last is not None
    if logs:
        print(function.last.logs.rstrip())
    # The tool sent one request: whatever the receiver accepted is its answer, whatever its path.
    answer = receiver.only_answer(timeout_s=ANSWER_WAIT_S)
    if answer is None:
        if function.last.timed_out:
            why = f"the function timed out after {FUNCTION_TIMEOUT_S:.0f} s"
        elif not can_answer(aimed):
            why = (
                "the event's ResponseURL is not one the function can answer (an https URL with no "
                f"spaces, at most {MAX_RESPONSE_URL} characters), so it answered nothing and logged why"
            )
        else:
            why = f"the function ended ({function.last.outcome}) without an answer"
        hint = "" if logs else "; LOGS=1 shows its log lines"
        print(f"No answer: {why}{hint}.")
        return 1
    print(f"Answer sent to the ResponseURL ({function.last.seconds:.2f} s):")
    print(json.dumps(answer, indent=2))
    left_out = [key for key in OUTPUTS if key not in (answer.get("Data") or {})]
    if answer["Status"] == "SUCCESS" and left_out:
        print(
            f"Note: {' and '.join(left_out)} left out of the answer, which CloudFormation caps at "
            f"4096 bytes; Fn::GetAtt on {left_out[0]} would fail. The log says so at WARNING"
            + ("" if logs else " (LOGS=1 shows it)")
            + "."
        )
    print(f"{answer['Status']}: {answer['Reason'] or answer['PhysicalResourceId']}")
    return 0 if answer["Status"] == "SUCCESS" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="a CloudFormation request, such as events/create.json")
    parser.add_argument("--logs", action="store_true", help="print the function's log lines too")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    try:
        event = read_event(args.event)
        if endpoint:
            # An emulator takes any credentials; a real account's are never wanted here.
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            check_emulator(endpoint)
    except Refused as refused:
        print(f"make invoke: {refused}", file=sys.stderr)
        return 2

    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver())
        if endpoint:
            print(f"Cognito: {endpoint} (AWS_ENDPOINT_URL)")
            if pool := missing_pool(endpoint, event):
                print(f"Note: user pool {pool}, named by the event, does not exist at {endpoint}.")
                print("      Create it there, or put an existing pool's id in the event; the answer will be FAILED.")
            # make emulator holds the tables template.yaml deploys, under these names.
            env = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
            env["IDEMPOTENCY_TABLE"] = os.environ.get("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
            env["LEDGER_TABLE"] = os.environ.get("LEDGER_TABLE", LEDGER_TABLE)
        else:
            emulator = stack.enter_context(running_emulator())
            endpoint, env = emulator.endpoint, {"IDEMPOTENCY_TABLE": emulator.create_tables()}
            notes = seed(emulator, event)
            print(f"Cognito: embedded emulator {endpoint}" + (f", holding {' and '.join(notes)}" if notes else ""))
        # LOG_LEVEL=DEBUG make invoke ... LOGS=1 shows the DEBUG lines (never the ResponseURL).
        env["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", "INFO")
        if env["LOG_LEVEL"].upper() == "DEBUG" and not args.logs:
            print("Note: LOG_LEVEL=DEBUG changes only the log lines, which LOGS=1 prints.")
        function = LocalLambda(endpoint, receiver, **env)
        print(f"Invoking the handler on {args.event} ({event.get('RequestType')}) in a fresh process...")
        aimed = function.run(event, new_request_id=False, timeout_s=FUNCTION_TIMEOUT_S)
        return report(function, receiver, aimed, args.logs)
    return 2  # not reached: ExitStack does not swallow exceptions


if __name__ == "__main__":
    sys.exit(main())
