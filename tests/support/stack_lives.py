"""Random stack lives, played through the handler: what a stack author would sign after each operation.

The machine edits a template and deploys it, lets a sibling resource fail, makes Cognito
misbehave, and deletes the stack, with someone else's server in the pool all along. A
template may declare that server too, with or without AdoptExisting. After every step it
checks four sentences:

- the stack is in a *_COMPLETE state, never *_FAILED;
- Cognito holds exactly the servers the stack's template declares, each as declared;
- the foreign server is untouched, until an operation that adopts it succeeds: then it is the
  stack's, like any other;
- each request got exactly one answer (the harness asserts it on every send).

tests/operations/test_stack_model.py plays them; `make model` runs many more examples than CI does.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.support import events
from tests.support.emulator import FAULTS, CognitoEmulator
from tests.support.stack_operations import Custom, ModelStack, ReplacementRollback, Send, Sibling, Template

LOGICAL_IDS = ("Api", "Admin")
IDENTIFIERS = ("https://a.example.com", "https://b.example.com", "https://foreign.example.com")
NAMES = ("Alpha", "Beta")
SCOPE_SETS: tuple[tuple[tuple[str, str], ...], ...] = ((), (("read", "Read"),), (("read", "Read"), ("write", "Write")))
# Someone else's server, in the first pool. Its state is one a template can declare, too.
FOREIGN = {"identifier": "https://foreign.example.com", "name": "Alpha", "scopes": SCOPE_SETS[1]}
COMPLETE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "DELETE_COMPLETE"}
GONE = {"ROLLBACK_COMPLETE", "DELETE_COMPLETE"}  # a stack that can only be made again

Held = dict[tuple[str, str], tuple[str, tuple[tuple[str, str], ...]]]  # (pool, identifier) -> (name, scopes)

servers = st.fixed_dictionaries(
    {
        "pool": st.sampled_from((0, 1)),
        "identifier": st.sampled_from(IDENTIFIERS),
        "name": st.sampled_from(NAMES),
        "scopes": st.sampled_from(SCOPE_SETS),
        "adopt": st.booleans(),
    }
)
declarations = st.dictionaries(st.sampled_from(LOGICAL_IDS), servers, max_size=2)
# Cognito faults that its retries absorb: at most two failed attempts of a call, or throttling.
transient_faults = st.sampled_from(
    [
        ("TooManyRequestsException", 400),
        ("InternalErrorException", 500),
        ("lost answer", 0),  # the call acts, but its answer comes after the client gave up
        ("slow", 0),  # the client gives up before the call acts
    ]
)
# What the lives held, for `make model` (-s) to print: hypothesis keeps no statistics of a state
# machine run inside a test.
PLAYED: Counter[str] = Counter()


def played(what: str) -> None:
    PLAYED[what] += 1


def print_played(title: str) -> None:
    print(f"\n{title}:")
    for what, times in sorted(PLAYED.items(), key=lambda item: -item[1]):
        print(f"  {times:5d}  {what}")
    PLAYED.clear()


def state(server: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return server["name"], tuple(sorted(server["scopes"]))


def held_in(cognito: Any, pools: tuple[str, ...]) -> Held:
    """What Cognito holds in the pools, as the invariants compare it."""
    found: Held = {}
    for pool in pools:
        for server in cognito.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"]:
            scopes = [(s["ScopeName"], s["ScopeDescription"]) for s in server.get("Scopes", [])]
            found[(pool, server["Identifier"])] = state({"name": server["Name"], "scopes": scopes})
    return found


class StackLives(RuleBasedStateMachine):
    def __init__(self, send: Send, emulator: CognitoEmulator) -> None:
        super().__init__()
        FAULTS.reset()
        self.send = send  # the function, as a stack reaches it
        self.cognito = emulator.client()
        self.pools = (emulator.create_user_pool("model-a"), emulator.create_user_pool("model-b"))
        scopes = [{"ScopeName": n, "ScopeDescription": d} for n, d in FOREIGN["scopes"]]
        self.cognito.create_resource_server(
            UserPoolId=self.pools[0], Identifier=FOREIGN["identifier"], Name=FOREIGN["name"], Scopes=scopes
        )
        self.foreign = self.held()
        self.stack: ModelStack | None = None
        self.replacement_rollback = ReplacementRollback.UPDATE_BACK
        self.persistent = False  # a fault that outlasts every retry is queued
        self.fault_armed = False  # a fault waits for the next stack operation

    @initialize(sequence=st.sampled_from(list(ReplacementRollback)))
    def choose_how_cloudformation_rolls_back_a_replacement(self, sequence: ReplacementRollback) -> None:
        self.replacement_rollback = sequence

    @rule(declared=declarations, sibling_at=st.none() | st.integers(0, 2))
    def deploy(self, declared: dict[str, dict[str, Any]], sibling_at: int | None) -> None:
        """Edit the template and deploy it; `sibling_at` places a sibling resource that fails."""
        # Two resources adopting one server would both own it: a template error no request can see.
        servers = [(server["pool"], server["identifier"]) for server in declared.values()]
        assume(not any(s["adopt"] and servers.count(k) > 1 for s, k in zip(declared.values(), servers, strict=True)))
        # A resource may adopt a server another logical id of the stack holds now, and that one leave
        # the template: a move within the stack (README, "Moving a server"), which a failing sibling
        # may roll back.
        template: Template = {
            logical_id: Custom(
                events.properties(
                    self.pools[server["pool"]],
                    server["identifier"],
                    server["name"],
                    scopes=list(server["scopes"]),
                    AdoptExisting="true" if server["adopt"] else "false",
                )
            )
            for logical_id, server in declared.items()
        }
        if sibling_at is not None:
            items = list(template.items())
            items.insert(min(sibling_at, len(items)), ("Client", Sibling(fails=True)))
            template = dict(items)
        if self.stack is None or self.stack.status in GONE:
            self.stack = ModelStack(self.send, self.replacement_rollback, self.phase_begins)
            played(f"create-stack: {self.stack.create(template)}")
        else:
            held_before = {(p["UserPoolId"], p["Identifier"]): o for o, p in self.stack.declared().items()}
            moved = [
                o
                for o, custom in template.items()
                if isinstance(custom, Custom)
                and custom.properties.get("AdoptExisting") == "true"
                and held_before.get((custom.properties["UserPoolId"], custom.properties["Identifier"]), o) != o
            ]
            status = self.stack.update(template)
            played(f"update-stack: {status}" + (", moving a server between logical ids" if moved else ""))
        self.operation_over()
        self.adopted_when_declared()

    def adopted_when_declared(self) -> None:
        """Once a template that declares the foreign server stands, an adoption succeeded."""
        assert self.stack is not None
        declared = {(p["UserPoolId"], p["Identifier"]) for p in self.stack.declared().values()}
        if declared & set(self.foreign):
            self.foreign = {}

    @precondition(lambda self: self.stack is not None and self.stack.status not in GONE)
    @rule()
    def delete_stack(self) -> None:
        assert self.stack is not None
        played(f"delete-stack: {self.stack.delete()}")
        self.operation_over()

    def phase_begins(self, status: str) -> None:
        # A fault that outlasts every retry fails a request going forward, which is what it is
        # for; met by a rollback, it would fail that too, as it would in AWS, and say nothing of us.
        if self.persistent and status not in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"):
            FAULTS.clear()
            self.persistent = False

    def nothing_queued(self) -> bool:
        """One fault per stack operation: several queued for one call could outlast its retries together."""
        return not self.fault_armed

    def operation_over(self) -> None:
        # A fault the operation did not meet goes, so that each waits only for the next operation.
        FAULTS.clear()
        self.fault_armed = self.persistent = False

    @precondition(nothing_queued)
    @rule(
        operation=st.sampled_from(
            ["CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer", "DescribeResourceServer"]
        ),
        fault=transient_faults,
        times=st.integers(1, 2),
    )
    def cognito_misbehaves(self, operation: str, fault: tuple[str, int], times: int) -> None:
        code, status = fault
        self.fault_armed = True
        if code == "lost answer":
            FAULTS.hold(operation, 0.7, times=times, act_first=True)
        elif code == "slow":
            FAULTS.hold(operation, 0.7, times=times)
        else:
            FAULTS.fail(operation, code, times=times, status=status)

    @precondition(nothing_queued)
    @rule(operation=st.sampled_from(["CreateResourceServer", "UpdateResourceServer"]))
    def cognito_fails_every_attempt_of_the_next_write(self, operation: str) -> None:
        FAULTS.fail(operation, "InternalErrorException", times=3, status=500)
        self.fault_armed = self.persistent = True

    @precondition(nothing_queued)
    @rule(operation=st.sampled_from(["PutItem", "UpdateItem"]))
    def answer_store_is_slow(self, operation: str) -> None:
        FAULTS.hold(operation, 1.2)  # past the store's 1 s read timeout
        self.fault_armed = True

    @invariant()
    def stack_is_complete(self) -> None:
        assert self.stack is None or self.stack.status in COMPLETE, self.stack.status

    @invariant()
    def cognito_holds_what_the_template_declares(self) -> None:
        declared = {} if self.stack is None else self.stack.declared()
        expected = {
            (props["UserPoolId"], props["Identifier"]): state(
                {"name": props["Name"], "scopes": [(s["ScopeName"], s["ScopeDescription"]) for s in props["Scopes"]]}
            )
            for props in declared.values()
        }
        ours = {key: value for key, value in self.held().items() if key not in self.foreign}
        assert ours == expected

    @invariant()
    def foreign_server_is_untouched(self) -> None:
        held = self.held()
        assert all(held.get(key) == value for key, value in self.foreign.items()), held

    def held(self) -> Held:
        return held_in(self.cognito, self.pools)

    def teardown(self) -> None:
        FAULTS.reset()
