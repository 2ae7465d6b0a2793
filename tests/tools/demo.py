"""`make demo`: a stack's whole lifecycle, then an adoption and its rollback, played through the
real handler on this machine.

Cognito is moto on 127.0.0.1 with this project's Update/Delete extension; the ResponseURL is
a local HTTPS receiver; each request runs in a fresh process, as Lambda runs it. The requests
are the files in events/, as CloudFormation sends them. Exits 1 if any answer is not what the
stack needs, so it doubles as a smoke test.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support import events
from tests.support.cloudformation import set_stack_status
from tests.support.emulator import CognitoEmulator, running_emulator
from tests.support.lambda_runtime import LocalLambda
from tests.support.receiver import Receiver

BOLD, DIM, GREEN, RED, RESET = (
    ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


@dataclass(frozen=True)
class Step:
    title: str
    source: str
    event: dict[str, Any]
    physical_id: str  # what the stack needs back; {pool} stands for the demo's pool
    holds: dict[str, str]  # the servers Cognito should hold afterwards: Name by Identifier
    why: str
    # What the world does before the request: someone makes a server, the stack changes status.
    before: Callable[[CognitoEmulator], None] = lambda _emulator: None


def lifecycle() -> list[Step]:
    create, update, replace, delete = (events.load(n) for n in ("create", "update", "update-replace", "delete"))
    old_id, new_id = create["ResourceProperties"]["Identifier"], replace["ResourceProperties"]["Identifier"]
    # CloudFormation's cleanup Delete names the replaced resource: its old id and old properties.
    cleanup = events.load("delete-replaced")
    old, new = create["ResourceProperties"]["Name"], replace["ResourceProperties"]["Name"]
    return [
        Step("Create", "events/create.json", create, f"{{pool}}|{old_id}", {old_id: old}, "creates the server"),
        Step(
            "Update in place",
            "events/update.json",
            update,
            f"{{pool}}|{old_id}",
            {old_id: update["ResourceProperties"]["Name"]},
            "adds a scope; same physical id, so no replacement",
        ),
        Step(
            "Update with a new Identifier (replacement)",
            "events/update-replace.json",
            replace,
            f"{{pool}}|{new_id}",
            {old_id: update["ResourceProperties"]["Name"], new_id: new},
            "a replacement: new physical id, old server kept for cleanup",
        ),
        Step(
            "Delete of the replaced server (cleanup)",
            "events/delete-replaced.json",
            cleanup,
            f"{{pool}}|{old_id}",
            {new_id: new},
            "CloudFormation removes the replaced server",
        ),
        Step(
            "Delete of the stack",
            "events/delete.json",
            delete,
            f"{{pool}}|{new_id}",
            {},
            "the stack is deleted",
        ),
        *adoption(),
    ]


HAND_MADE = "Weather (made by hand)"


def adoption() -> list[Step]:
    """A server someone made by hand, adopted by a new stack whose deployment then fails elsewhere."""
    adopt = events.load("create-adopt")
    identifier, stack_id = adopt["ResourceProperties"]["Identifier"], adopt["StackId"]
    rollback = events.request("Delete", adopt["ResourceProperties"], physical_id=f"{events.EXAMPLE_POOL}|{identifier}")
    rollback["LogicalResourceId"] = adopt["LogicalResourceId"]

    def made_by_hand_then_create_stack(emulator: CognitoEmulator) -> None:
        scopes = [{"ScopeName": "legacy", "ScopeDescription": "What the clients hold today"}]
        emulator.client().create_resource_server(
            UserPoolId=events.EXAMPLE_POOL, Identifier=identifier, Name=HAND_MADE, Scopes=scopes
        )
        emulator.create_stack(stack_id)
        set_stack_status(stack_id, "CREATE_IN_PROGRESS")

    return [
        Step(
            "Create with AdoptExisting over a server made by hand",
            "events/create-adopt.json",
            adopt,
            f"{{pool}}|{identifier}",
            {identifier: adopt["ResourceProperties"]["Name"]},
            "takes the server over with the declared Name and Scopes, after recording what it held",
            made_by_hand_then_create_stack,
        ),
        Step(
            "Another resource fails: the rollback Delete",
            "create-adopt.json's id and properties, in ROLLBACK_IN_PROGRESS",
            rollback,
            f"{{pool}}|{identifier}",
            {identifier: HAND_MADE},
            "the operation that adopted it failed, so the server is given back as it was, not deleted",
            lambda _emulator: set_stack_status(stack_id, "ROLLBACK_IN_PROGRESS"),
        ),
    ]


def show_answer(answer: dict[str, Any]) -> None:
    colour = GREEN if answer["Status"] == "SUCCESS" else RED
    print(f"   {colour}{answer['Status']}{RESET}  PhysicalResourceId {answer['PhysicalResourceId']}")
    if answer.get("Reason"):
        print(f"   Reason  {answer['Reason']}")
    for key, value in answer.get("Data", {}).items():
        # One scope string a line, however many there are: as a client's AllowedOAuthScopes lists them.
        lines = (value.split(" ") if key == "Scopes" else [value]) or [""]
        print(f"   {DIM}GetAtt{RESET} {key:<11}{lines[0]}")
        for line in lines[1:]:
            print(f"   {'':<18}{line}")


def show_cognito(emulator: CognitoEmulator, pool: str) -> dict[str, str]:
    held = emulator.servers(pool)
    print(f"   {DIM}Cognito now holds:{RESET}" + (" nothing" if not held else ""))
    for identifier, server in held.items():
        scopes = ", ".join(s["ScopeName"] for s in server.get("Scopes", []))
        print(f"     {identifier}  {server['Name']!r}  scopes: {scopes or '(none)'}")
    return {identifier: server["Name"] for identifier, server in held.items()}


def main() -> int:
    with running_emulator() as emulator, Receiver() as receiver:
        pool = emulator.create_user_pool("demo-pool", pool_id=events.EXAMPLE_POOL)  # the pool events/ names
        table = emulator.create_tables()
        function = LocalLambda(emulator.endpoint, receiver, IDEMPOTENCY_TABLE=table)
        print(f"{BOLD}Custom::CognitoResourceServer, a stack's lifecycle on this machine{RESET}")
        print(f"{DIM}Cognito emulator (moto) {emulator.endpoint}, user pool {pool}")
        print(f"ResponseURL receiver https://{receiver.host} (throwaway certificate){RESET}\n")

        problems = []
        steps = lifecycle()
        for number, step in enumerate(steps, 1):
            print(f"{BOLD}{number}. {step.title}{RESET}  {DIM}({step.source}){RESET}")
            print(f"   {DIM}{step.why}{RESET}")
            step.before(emulator)
            answer = function.send(step.event, pool=pool)
            assert function.last is not None
            show_answer(answer)
            held = show_cognito(emulator, pool)
            print(f"   {DIM}{function.last.seconds:.2f} s in a fresh process{RESET}\n")
            expected_id = step.physical_id.format(pool=pool)
            if answer["Status"] != "SUCCESS":
                problems.append(f"{step.title}: {answer['Status']} {answer.get('Reason', '')}")
            if answer["PhysicalResourceId"] != expected_id:
                problems.append(f"{step.title}: physical id {answer['PhysicalResourceId']!r}, needed {expected_id!r}")
            if held != step.holds:
                problems.append(f"{step.title}: Cognito holds {held}, needed {step.holds}")

    if problems:
        print(f"{RED}{BOLD}Verdict: FAIL{RESET}: " + "; ".join(problems))
        return 1
    print(
        f"{GREEN}{BOLD}Verdict: PASS{RESET}: {len(steps)} requests, {len(steps)} SUCCESS answers with the physical "
        "ids the stacks need; Cognito as each step needs it, and the adopted server given back as it was."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
