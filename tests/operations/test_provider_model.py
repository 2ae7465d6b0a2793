"""Random lives of two stacks that share one provider, played as CloudFormation really plays them.

Unlike test_stack_model.py, whose requests run one at a time, this machine sends the requests of
an operation at once, to several execution environments of the same provider, and lets a sibling
fail while they are in flight: CloudFormation then ignores their answers and rolls a cancelled
Create back with a Delete whose physical id it made up. Templates may hold a nested stack, whose
events land in the stack's own list. CloudFormation's and DynamoDB's reads are throttled in bursts
that may outlast the phase they began in, and the provider can be reinstalled between operations,
with an empty answers table and the ledger it kept. After every step it checks what a stack
author would sign:

- each stack is in a *_COMPLETE state, never *_FAILED;
- Cognito holds exactly the servers the stacks' templates declare, each as declared, so neither
  stack touched the other's;
- the foreign server is untouched, until a stack adopts it: then it is that stack's;
- every request, cancelled ones included, got exactly one answer.

`make model` runs many more examples than CI does.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support import events, legacy
from tests.support.emulator import FAULTS, IDEMPOTENCY_TABLE, LEDGER_TABLE, CognitoEmulator, reinstall_provider
from tests.support.in_process import Environments
from tests.support.stack_lives import (
    COMPLETE,
    FOREIGN,
    GONE,
    NAMES,
    SCOPE_SETS,
    Held,
    held_in,
    played,
    print_played,
    state,
)
from tests.support.stack_operations import Clock, Custom, ModelStack, Nested, Sibling, Template

LOGICAL_IDS = ("Api", "Admin")
# Both stacks draw from the same Identifiers: the provider must keep each to the stack that holds it.
IDENTIFIERS = ("https://a.example.com", "https://b.example.com", FOREIGN["identifier"])

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
READS = (
    "DescribeStacks",
    "DescribeStackEvents",
    "DescribeStackResource",
    "GetItem",
    "PutItem",
    "Query",
    "DescribeTable",
)
THROTTLED = dict.fromkeys(("GetItem", "PutItem", "Query", "DescribeTable"), "ThrottlingException")
SETTINGS = settings(
    max_examples=int(os.environ.get("PROVIDER_MODEL_EXAMPLES", "5")),
    stateful_step_count=int(os.environ.get("PROVIDER_MODEL_STEPS", "5")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def recorded(physical_id: str) -> bool:
    """Whether the ledger holds a record of the server."""
    return "Item" in boto3.client("dynamodb").get_item(TableName=LEDGER_TABLE, Key={"server": {"S": physical_id}})


class SharedProviderLives(RuleBasedStateMachine):
    def __init__(self, environments: Environments, emulator: CognitoEmulator) -> None:
        super().__init__()
        FAULTS.reset()
        self.environments = environments
        self.cognito = emulator.client()
        self.pools = (emulator.create_user_pool("shared-a"), emulator.create_user_pool("shared-b"))
        scopes = [{"ScopeName": n, "ScopeDescription": d} for n, d in FOREIGN["scopes"]]
        self.cognito.create_resource_server(
            UserPoolId=self.pools[0], Identifier=FOREIGN["identifier"], Name=FOREIGN["name"], Scopes=scopes
        )
        self.foreign = self.held()
        self.clock = Clock()  # one CloudFormation, one clock, for both stacks
        self.stacks: list[ModelStack | None] = [None, None]
        self.seen: dict[int, int] = {}  # requests already counted, by stack, for hypothesis' statistics
        self.fault_armed = False

    @initialize(upgrade=st.booleans(), declared=declarations)
    def perhaps_the_first_stack_was_made_with_1_0_0(self, upgrade: bool, declared: dict[str, dict[str, Any]]) -> None:
        """Stack 0 may begin made by 1.0.0: its servers have no ledger record, and the answers table
        is 1.0.0's, made long before. (1.0.0's adoption records are played in test_ownership.py.)"""
        if not upgrade:
            return
        made = {
            k: {**server, "adopt": False}
            for k, server in declared.items()
            if server["identifier"] != FOREIGN["identifier"]
        }
        self.deploy(0, made, None, False)
        stack = self.stacks[0]
        assert stack is not None
        dynamodb = boto3.client("dynamodb")
        for physical_id in stack.physical_ids.values():
            legacy.made_by_1_0_0(dynamodb, physical_id)
        legacy.answers_table_of_1_0_0(IDEMPOTENCY_TABLE)
        played("a stack made with 1.0.0")

    @rule(
        which=st.sampled_from((0, 1)),
        declared=declarations,
        sibling=st.none() | st.tuples(st.integers(0, 2), st.sampled_from((0.0, 0.3))),
        nested=st.booleans(),
    )
    def deploy(
        self, which: int, declared: dict[str, dict[str, Any]], sibling: tuple[int, float] | None, nested: bool
    ) -> None:
        """Edit one stack's template and deploy it; a sibling may fail `after` seconds in."""
        keys = [(server["pool"], server["identifier"]) for server in declared.values()]
        assume(len(set(keys)) == len(keys))  # one template declaring a server twice is a template error
        # A server the other stack made with 1.0.0 has no record until a request for it reaches
        # 2.0.0: until then it is as open to adoption as one made by hand (docs/operating.md,
        # "Security"), a limit the model does not play.
        other = self.stacks[1 - which]
        held_by_other = {} if other is None or other.status in GONE else other.declared()
        unrecorded = {
            (p["UserPoolId"], p["Identifier"])
            for p in held_by_other.values()
            if not recorded(f"{p['UserPoolId']}|{p['Identifier']}")
        }
        assume(
            not any(s["adopt"] and (self.pools[s["pool"]], s["identifier"]) in unrecorded for s in declared.values())
        )
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
        items = list(template.items())
        if nested:
            items.insert(0, ("Provider", Nested()))
        if sibling is not None:
            position, after = sibling
            items.insert(min(position, len(items)), ("Client", Sibling(fails=True, after_s=after)))
        template = dict(items)
        stack = self.stacks[which]
        if stack is None or stack.status in GONE:
            stack = self.stacks[which] = ModelStack(start=self.environments.start, clock=self.clock)
            played(f"create-stack: {stack.create(template)}")
        else:
            played(f"update-stack: {stack.update(template)}")
        self.operation_over()
        declared_now = {(p["UserPoolId"], p["Identifier"]) for p in stack.declared().values()}
        if declared_now & set(self.foreign):
            self.foreign = {}  # adopted: the stack's, like any other

    @precondition(lambda self: any(s is not None and s.status not in GONE for s in self.stacks))
    @rule(which=st.sampled_from((0, 1)))
    def delete_stack(self, which: int) -> None:
        stack = self.stacks[which]
        assume(stack is not None and stack.status not in GONE)
        assert stack is not None
        played(f"delete-stack: {stack.delete()}")
        self.operation_over()

    @precondition(lambda self: not self.fault_armed)
    @rule(
        operation=st.sampled_from(["CreateResourceServer", "UpdateResourceServer", "DeleteResourceServer"]),
        lost_answer=st.booleans(),
    )
    def cognito_is_slow(self, operation: str, lost_answer: bool) -> None:
        """The next write takes long enough to be in flight when a sibling fails; or acts, and its
        answer comes after the client gave up."""
        FAULTS.hold(operation, 0.7, act_first=lost_answer)
        self.fault_armed = True

    @precondition(lambda self: not self.fault_armed)
    @rule(operation=st.sampled_from(READS), times=st.integers(1, 6))
    def reads_are_throttled(self, operation: str, times: int) -> None:
        """A burst of throttled reads, which may outlast the phase it began in."""
        FAULTS.fail(operation, THROTTLED.get(operation, "Throttling"), times=times)
        played(f"{operation} throttled")
        self.fault_armed = True

    @rule()
    def provider_is_reinstalled(self) -> None:
        """The provider's stack deleted and made again: a new, empty answers table; the same ledger."""
        reinstall_provider()

    def operation_over(self) -> None:
        # A fault the operation did not meet goes, so that each waits only for the next operation.
        FAULTS.clear()
        self.fault_armed = False
        for stack in self.stacks:
            for request in stack.requests[self.seen.get(id(stack), 0) :] if stack is not None else []:
                if request.cancelled:
                    played("a request CloudFormation cancelled")
                if request.event["RequestType"] == "Delete" and request.event["PhysicalResourceId"].startswith(
                    "model-"
                ):
                    played("a Delete with a physical id CloudFormation made up")
                if "held by" in request.answer.get("Reason", ""):
                    played("a server another resource holds, refused")
            if stack is not None:
                self.seen[id(stack)] = len(stack.requests)

    @invariant()
    def stacks_are_complete(self) -> None:
        for stack in self.stacks:
            assert stack is None or stack.status in COMPLETE, stack.status

    @invariant()
    def cognito_holds_what_the_templates_declare(self) -> None:
        expected: Held = {}
        for stack in self.stacks:
            for props in {} if stack is None else stack.declared().values():
                key = (props["UserPoolId"], props["Identifier"])
                assert key not in expected, f"two resources hold {key}"
                scopes = [(s["ScopeName"], s["ScopeDescription"]) for s in props["Scopes"]]
                expected[key] = state({"name": props["Name"], "scopes": scopes})
        ours = {key: value for key, value in self.held().items() if key not in self.foreign}
        assert ours == expected

    @invariant()
    def foreign_server_is_untouched(self) -> None:
        held = self.held()
        assert all(held.get(key) == value for key, value in self.foreign.items()), held

    @invariant()
    def every_request_got_exactly_one_answer(self) -> None:
        assert self.environments.unanswered() == []

    def held(self) -> Held:
        return held_in(self.cognito, self.pools)

    def teardown(self) -> None:
        FAULTS.reset()


def test_two_stacks_on_one_provider_end_complete_as_declared_whatever_cloudformation_does(
    environments: Environments, emulator: CognitoEmulator
) -> None:
    assert boto3.client("cognito-idp").meta.endpoint_url == emulator.endpoint
    run_state_machine_as_test(lambda: SharedProviderLives(environments, emulator), settings=SETTINGS)
    print_played(f"Two stacks: {SETTINGS.max_examples} lives of up to {SETTINGS.stateful_step_count} steps played")
