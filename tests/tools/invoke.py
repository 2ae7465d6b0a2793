"""`make invoke EVENT=events/create.json`: `sam local invoke`, without Docker.

Runs the handler once on the event, in its own process, and prints the answer it sent to
the ResponseURL (a local HTTPS receiver). Cognito is the embedded emulator, set up with
what the event assumes exists; or, when AWS_ENDPOINT_URL is set, that endpoint as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from resource_server.contract import USER_POOL_ID
from tests.support.cloudformation import set_stack_status
from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE, CognitoEmulator, running_emulator
from tests.support.lambda_runtime import LocalLambda
from tests.support.receiver import Receiver


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
        emulator.create_stack(str(event.get("StackId")))
        set_stack_status(str(event.get("StackId")), "CREATE_IN_PROGRESS")
        notes.append(f"resource server {props.get('Identifier')}, made by hand, to adopt")
    return notes


def missing_pool(endpoint: str, event: dict[str, Any]) -> str | None:
    props = event.get("ResourceProperties")
    pool = props.get("UserPoolId") if isinstance(props, dict) else None
    if event.get("RequestType") == "Delete" or not isinstance(pool, str) or USER_POOL_ID.problem(pool):
        return None
    client = boto3.client("cognito-idp", endpoint_url=endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"))
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


def check_reachable(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    try:
        socket.create_connection((parts.hostname or "", parts.port or 443), timeout=2).close()
    except OSError as error:
        raise Refused(
            f"nothing answers at {endpoint} (AWS_ENDPOINT_URL): start `make emulator`, "
            "or unset AWS_ENDPOINT_URL to use an emulator of its own"
        ) from error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="a CloudFormation request, such as events/create.json")
    parser.add_argument("--logs", action="store_true", help="print the function's log lines too")
    args = parser.parse_args()
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    try:
        event = read_event(args.event)
        if endpoint:
            check_reachable(endpoint)
    except Refused as refused:
        print(f"make invoke: {refused}", file=sys.stderr)
        return 2

    with ExitStack() as stack:
        receiver = stack.enter_context(Receiver())
        if endpoint:
            print(f"Cognito: {endpoint} (AWS_ENDPOINT_URL)")
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
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
        function = LocalLambda(endpoint, receiver, **env)
        print(f"Invoking the handler on {args.event} ({event.get('RequestType')}) in a fresh process...")
        answer = function.send(event, new_request_id=False)
        assert function.last is not None
        if args.logs:
            print(function.last.logs.rstrip())
        print(f"Answer sent to the ResponseURL ({function.last.seconds:.2f} s):")
        print(json.dumps(answer, indent=2))
        print(f"{answer['Status']}: {answer['Reason'] or answer['PhysicalResourceId']}")
    return 0 if answer["Status"] == "SUCCESS" else 1


if __name__ == "__main__":
    sys.exit(main())
