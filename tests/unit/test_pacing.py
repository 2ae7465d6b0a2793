"""Throttled writes wait their turn, fairly and without waste, and give up only when no attempt
could finish in time. Deterministic: a fake clock, a seeded random, and the simulation that plays
the provider's own pacing rule against the emulator's rates (tests/support/simulation.py)."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from resource_server import cognito, deadline, pacing
from resource_server.deadline import RetryPolicy
from resource_server.pacing import Lease, Turns
from tests.support import simulation as sim


def test_300_creates_at_once_in_one_pool_all_succeed_near_the_rate_and_none_starves() -> None:
    result = sim.simulate(sim.at_once(300), seed=1)

    floor = sim.rate_floor(300)
    assert len(result.succeeded) == 300
    assert result.makespan <= 1.2 * floor
    assert max(o.wait for o in result.outcomes) <= 1.2 * floor, "no writer waits much past the last slot"
    assert result.order_correlation() >= 0.95, "served in about the order they took their leases"
    assert result.attempts / result.makespan <= 100, "tens of attempts a second, not the hundreds jitter makes"


def test_writers_that_arrive_over_time_are_served_in_about_the_order_they_came() -> None:
    writers = [sim.Writer("pool", arrives=n / 10, budget_s=900) for n in range(300)]  # twice the rate

    result = sim.simulate(writers, seed=2)

    fifo_wait = max(n / 5 - n / 10 for n in range(300))  # each served in turn at 5/s
    assert len(result.succeeded) == 300
    assert result.order_correlation() >= 0.9
    assert max(o.wait for o in result.outcomes) <= 1.5 * fifo_wait


def test_under_a_tight_budget_the_writers_use_at_least_85_percent_of_the_rate() -> None:
    budget = 15.0
    reserve = deadline.ANSWER_RESERVE_S + deadline.STORE_RESERVE_S + cognito.ATTEMPT_S
    allowed = int((budget - reserve) * pacing.POOL_RATE) + 1

    result = sim.simulate(sim.at_once(100, budget_s=budget), seed=3)

    assert len(result.succeeded) >= 0.85 * allowed
    for outcome in result.outcomes:
        if outcome.gave_up_at is not None:
            last_start = outcome.writer.budget_s - reserve
            assert outcome.gave_up_at > last_start - 1, "it gave up only when no attempt could still finish"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def throttled() -> tuple[Any, dict[str, Any]]:
    class Http:
        status_code = 400

    return Http(), {"Error": {"Code": "TooManyRequestsException", "Message": "Too many requests"}}


def test_a_writer_far_back_in_line_sleeps_until_near_its_turn_without_trying() -> None:
    clock = FakeClock()
    ahead = [Lease(f"w{n}", "pool", began=n, writes_until=1e9) for n in range(20)]
    mine = Lease("me", "pool", began=100, writes_until=1e9)
    # The line moves on as it sleeps: a writer ahead of it is done after each look.
    line = lambda _mine, _now: pacing.Line(len(ahead) - len(clock.slept), len(ahead) - len(clock.slept))  # noqa: E731
    turns = Turns(line, lambda: mine, epoch=lambda m: m, clock=clock, sleep=clock.sleep)

    delay = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 60)

    assert all(step <= pacing.RECHECK_S for step in clock.slept), "it looks at the line again every few seconds"
    assert sum(clock.slept) >= 1.0, "writers ahead, 5 a second: it waited its turn before trying"
    assert delay <= 1 / pacing.POOL_RATE


@pytest.mark.parametrize(("left", "retried"), [(10.0, True), (cognito.ATTEMPT_S + 0.05, False), (1.0, False)])
def test_a_throttled_write_gives_up_only_when_no_attempt_could_finish_in_time(left: float, retried: bool) -> None:
    clock = FakeClock()
    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    policy = RetryPolicy(lambda: clock.now + left, pacing=deadline.Pacing(random.Random(0)), clock=clock)
    policy.attach(client)
    policy.attempt_s = cognito.ATTEMPT_S

    if retried:
        assert policy.needs_retry(response=throttled(), attempts=1) is not None
    else:
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            policy.needs_retry(response=throttled(), attempts=1)
