"""Small stack programs for the explorer, on the model of CloudFormation (stack_operations.py),
and the sentences a stack author would sign, checked once every operation has settled.

Each scenario builds a fresh world (a user pool of its own, stacks of their own, the servers
someone made by hand) in moto in this process, plays its programs under one schedule, and says
which sentences broke. `play(scenario)` is what `explorer.explore` calls, once a schedule.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto import mock_aws

from resource_server.ownership import LIVE
from resource_server.startup import Configuration
from tests.support import emulator, events, legacy
from tests.support.emulator import IDEMPOTENCY_TABLE, LEDGER_TABLE
from tests.support.explorer import Choice, Play, Simulation, Strategy
from tests.support.stack_operations import Custom, ModelStack, Sibling

COMPLETE = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "DELETE_COMPLETE"}
)
X = "https://x.example.com"
Y = "https://y.example.com"
HAND_MADE = ("Made by hand", (("legacy", "What the clients hold today"),))
State = tuple[str, tuple[tuple[str, str], ...]]
_pools = itertools.count(1)


def state_of(properties: dict[str, Any]) -> State:
    scopes = properties.get("Scopes", [])
    return properties["Name"], tuple(sorted((s["ScopeName"], s["ScopeDescription"]) for s in scopes))


@dataclass
class World:
    """One schedule's world: its simulation, its pool, the stacks its programs made."""

    sim: Simulation
    pool: str
    stacks: list[ModelStack] = field(default_factory=list)
    hand_made: dict[str, State] = field(default_factory=dict)  # made outside any stack, by Identifier

    def stack(self, name: str) -> ModelStack:
        made = ModelStack(start=self.sim.start, name=f"{name}-{self.pool[-6:]}")
        self.stacks.append(made)
        return made

    def props(self, identifier: str, name: str = "Declared", **extra: Any) -> dict[str, Any]:
        return events.properties(self.pool, identifier=identifier, name=name, **extra)

    def made_by_hand(self, identifier: str) -> None:
        name, scopes = HAND_MADE
        scope_list = [{"ScopeName": n, "ScopeDescription": d} for n, d in scopes]
        cognito().create_resource_server(UserPoolId=self.pool, Identifier=identifier, Name=name, Scopes=scope_list)
        self.hand_made[identifier] = (name, tuple(sorted(scopes)))

    # The sentences.

    def broken(self) -> list[str]:
        """Every sentence that is false, in words that replay alike: the pool's id left out."""
        return [sentence.replace(self.pool, "<pool>") for sentence in self._broken()]

    def _broken(self) -> list[str]:
        return [*self._crashes(), *self._answers(), *self._stacks(), *self._servers()]

    def _crashes(self) -> Iterator[str]:
        for task in self.sim.tasks:
            if task.error is not None:
                yield f"{task.name} raised {type(task.error).__name__}: {task.error}"

    def _answers(self) -> Iterator[str]:
        """Every request got an answer, and once taken, it is never contradicted; but the timer's,
        sent as Lambda kills the invocation, is kept for its retry only as the answers store allows."""
        for request_id, event in self.sim.requests.items():
            answers = self.sim.answers.get(request_id, [])
            said = {(a["Status"], a["PhysicalResourceId"]) for a in answers}
            what = f"{event['LogicalResourceId']}'s {event['RequestType']}"
            unkept = answers and answers[0]["Reason"].startswith("Timed out") and request_id in self.sim.unkept
            if not answers:
                yield f"{what} got no answer"
            elif len(said) > 1 and not unkept:
                yield f"{what} got two different answers: {sorted(said)}"

    def _stacks(self) -> Iterator[str]:
        for stack in self.stacks:
            if stack.status not in COMPLETE:
                yield f"stack {stack.name} ended {stack.status}"

    def _servers(self) -> Iterator[str]:
        """Cognito holds exactly what the stacks' final templates declare, and the servers made by
        hand that no stack took, as they were made; and the ledger agrees."""
        declared: dict[str, State] = {}
        owners: dict[str, tuple[str, str]] = {}
        for stack in self.stacks:
            for logical_id, properties in stack.declared().items():
                declared[properties["Identifier"]] = state_of(properties)
                owners[properties["Identifier"]] = (stack.stack_id, logical_id)
        held = self.held()
        if held != {**self.hand_made, **declared}:
            yield f"Cognito holds {held}, where the stacks declare {declared} and hand-made {self.hand_made}"
        for identifier, (state, owner) in self.records().items():
            if state in LIVE and identifier not in held:
                yield f"the ledger says {identifier} is {state}, and Cognito holds no such server"
            if state in LIVE and identifier in owners and owner != owners[identifier]:
                yield f"the ledger gives {identifier} to {owner[1]}, and {owners[identifier][1]} declares it"

    def held(self) -> dict[str, State]:
        listed = cognito().list_resource_servers(UserPoolId=self.pool, MaxResults=50)["ResourceServers"]
        return {
            s["Identifier"]: (
                s["Name"],
                tuple(sorted((x["ScopeName"], x["ScopeDescription"]) for x in s.get("Scopes", []))),
            )
            for s in listed
        }

    def records(self) -> dict[str, tuple[str, tuple[str, str]]]:
        """The ledger's records of this pool's servers: state and owner, by Identifier."""
        found = {}
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=LEDGER_TABLE)
        for item in itertools.chain.from_iterable(page["Items"] for page in pages):
            pool, _, identifier = item["server"]["S"].partition("|")
            if pool == self.pool:
                found[identifier] = (item["state"]["S"], (item["stack"]["S"], item["logical"]["S"]))
        return found


def cognito() -> Any:
    return boto3.client("cognito-idp")


@contextmanager
def in_moto() -> Iterator[None]:
    """The explorer's AWS: moto in this process, with the emulator's extension and the provider's
    tables, which every schedule shares (each plays in a user pool and stacks of its own).
    AWS_* variables must aim at no endpoint but moto's."""
    emulator.install()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        emulator.create_ledger_table(dynamodb)
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield


def until_settled(stack: ModelStack, status: str) -> str:
    """What a stack author does after a failed delete or rollback: try it again, a few times."""
    for _ in range(3):
        if status in ("DELETE_FAILED", "ROLLBACK_FAILED"):
            status = stack.delete()
        elif status == "UPDATE_ROLLBACK_FAILED":
            status = stack.continue_update_rollback()
    return status


def made_then_deleted(stack: ModelStack, template: dict[str, Any]) -> None:
    if until_settled(stack, stack.create(template)) == "CREATE_COMPLETE":
        until_settled(stack, stack.delete())


@dataclass(frozen=True)
class Scenario:
    name: str
    programs: Callable[[World], None]  # sets the world up and registers its stack programs
    faults: tuple[str, ...] = ()  # the faults the systematic exploration may choose at any call


def play(scenario: Scenario) -> Play:
    """One schedule of the scenario, in a world of its own: the schedule it took, the sentences
    it broke, and its story."""

    def one(strategy: Strategy) -> tuple[list[Choice], list[str], str]:
        pool = cognito().create_user_pool(PoolName=f"explore-{next(_pools)}")["UserPool"]["Id"]
        world = World(Simulation(Configuration(LEDGER_TABLE, IDEMPOTENCY_TABLE, True, "CRITICAL")), pool)
        scenario.programs(world)
        schedule = world.sim.run(strategy)
        return schedule, world.broken(), world.sim.story()

    return one


# The scenarios.


def two_creates_of_one_identifier_in_two_stacks(world: World) -> None:
    """Two stacks declare the same Identifier, and are made at once; each is deleted if it was made."""
    for name in ("A", "B"):

        def life(name: str = name) -> None:
            made_then_deleted(world.stack(name), {"Api": Custom(world.props(X, name=name))})

        world.sim.program(name, life)


def two_creates_of_one_identifier_in_one_stack(world: World) -> None:
    """A template declares one Identifier twice by mistake."""

    def life() -> None:
        made_then_deleted(world.stack("S"), {"Api": Custom(world.props(X)), "Admin": Custom(world.props(X))})

    world.sim.program("S", life)


def a_create_cancelled_by_a_failing_sibling(world: World) -> None:
    """The sibling fails at whatever moment the scheduler chooses: CloudFormation cancels the Create."""

    def life() -> None:
        stack = world.stack("S")
        until_settled(stack, stack.create({"Api": Custom(world.props(X)), "Client": Sibling(fails=True, after_s=5.0)}))

    world.sim.program("S", life)


def a_replacement_and_its_rollback(world: World) -> None:
    def life() -> None:
        stack = world.stack("S")
        if until_settled(stack, stack.create({"Api": Custom(world.props(X))})) != "CREATE_COMPLETE":
            return
        until_settled(stack, stack.update({"Api": Custom(world.props(Y)), "Client": Sibling(fails=True, after_s=5.0)}))
        until_settled(stack, stack.delete())

    world.sim.program("S", life)


def an_adoption_and_its_rollback(world: World) -> None:
    world.made_by_hand(X)

    def life() -> None:
        stack = world.stack("S")
        adopting = Custom(world.props(X, AdoptExisting="true"))
        until_settled(stack, stack.create({"Api": adopting, "Client": Sibling(fails=True, after_s=5.0)}))

    world.sim.program("S", life)


def an_adoption_racing_another_stacks_create(world: World) -> None:
    """Stack A makes the server while stack B, by mistake, adopts the same Identifier."""
    templates = {"A": {}, "B": {"AdoptExisting": "true"}}
    for name, extra in templates.items():

        def life(name: str = name, extra: dict[str, str] = extra) -> None:
            made_then_deleted(world.stack(name), {"Api": Custom(world.props(X, name=name, **extra))})

        world.sim.program(name, life)


def a_killed_create_retried_after_its_rollback(world: World) -> None:
    """A Create whose call stalls where no budget reaches: crhelper's timer answers, CloudFormation
    rolls back, and Lambda retries the invocation it killed (explored with the fault "stalled")."""

    def life() -> None:
        made_then_deleted(world.stack("S"), {"Api": Custom(world.props(X))})

    world.sim.program("S", life)


def a_server_1_0_0_made_with_no_record(world: World) -> None:
    """Stack Z's server was made by 1.0.0: no record. Stack W moves a resource onto its Identifier
    by mistake, and rolls back; then both stacks are deleted."""

    def life() -> None:
        z = world.stack("Z")
        if until_settled(z, z.create({"Api": Custom(world.props(X, name="Zed"))})) != "CREATE_COMPLETE":
            return
        legacy.made_by_1_0_0(boto3.client("dynamodb"), f"{world.pool}|{X}")
        w = world.stack("W")
        if until_settled(w, w.create({"Api": Custom(world.props(Y, name="Wyvern"))})) == "CREATE_COMPLETE":
            until_settled(w, w.update({"Api": Custom(world.props(X, name="Wyvern"))}))
            until_settled(w, w.delete())
        until_settled(z, z.delete())

    world.sim.program("ZW", life)


SCENARIOS = (
    Scenario("two Creates of one Identifier, two stacks", two_creates_of_one_identifier_in_two_stacks),
    Scenario("two Creates of one Identifier, one stack", two_creates_of_one_identifier_in_one_stack),
    Scenario("a Create cancelled by a failing sibling", a_create_cancelled_by_a_failing_sibling),
    Scenario("a replacement and its rollback", a_replacement_and_its_rollback),
    Scenario("an adoption and its rollback", an_adoption_and_its_rollback),
    Scenario("an adoption racing another stack's Create", an_adoption_racing_another_stacks_create),
    Scenario("a killed Create retried after its rollback", a_killed_create_retried_after_its_rollback, ("stalled",)),
    Scenario("a server 1.0.0 made, with no record", a_server_1_0_0_made_with_no_record),
)
