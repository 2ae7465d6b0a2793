"""Throttled writes wait their turn, fairly and without waste, and give up only when no attempt
could finish in time. Deterministic: a fake clock, a seeded random, and the simulation that plays
the provider's own pacing rule against the emulator's rates (tests/support/simulation.py)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from moto import mock_aws
from moto.core.models import botocore_stubber

from resource_server import aws, cognito, pacing
from resource_server import budget as budget_module
from resource_server.aws import RetryPolicy
from resource_server.contract import ServerId
from resource_server.failure import RequestFailed
from resource_server.ledger import Ledger
from resource_server.ownership import Owner, Record, State
from resource_server.pacing import Lease, Turns
from tests.support import simulation as sim
from tests.support.emulator import create_ledger_table


def test_300_creates_at_once_in_one_pool_all_succeed_near_the_rate_and_none_starves() -> None:
    result = sim.simulate(sim.at_once(300), seed=1)

    floor = sim.rate_floor(300)
    assert len(result.succeeded) == 300
    assert result.makespan <= 1.2 * floor
    assert max(o.wait for o in result.outcomes) <= 1.2 * floor, "no writer waits much past the last slot"
    assert result.order_correlation() >= 0.95, "served in about the order they took their leases"
    assert result.attempts / result.makespan <= 100, "tens of attempts a second, not the hundreds jitter makes"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_100_creates_at_once_cost_at_most_10_calls_each_at_the_rate(seed: int) -> None:
    result = sim.simulate(sim.at_once(100), latency_s=0.05, seed=seed)

    # Refused once on arrival, one reading, one attempt at its slot: 8 (it was 14.8, trying near
    # its turn until a slot came free, before the line said when the pool last took a write).
    assert result.calls_per_create <= 10
    assert len(result.succeeded) == 100
    assert result.makespan <= 1.1 * sim.rate_floor(100)


def test_attempts_that_arrive_late_cost_a_few_calls_more_not_a_storm() -> None:
    # Up to 10 ms late each, as a Lambda's network may be: a timed attempt comes early against a
    # writer ahead that came late, and is refused, reads the line, and tries at its slot again.
    result = sim.simulate(sim.at_once(100), latency_s=0.05, late_s=0.01, seed=1)

    assert len(result.succeeded) == 100
    assert result.calls_per_create <= 10
    assert result.makespan <= 1.15 * sim.rate_floor(100)


def test_writers_that_arrive_over_time_are_served_in_about_the_order_they_came() -> None:
    writers = [sim.Writer("pool", arrives=n / 10, budget_s=900) for n in range(300)]  # twice the rate

    result = sim.simulate(writers, seed=2)

    fifo_wait = max(n / 5 - n / 10 for n in range(300))  # each served in turn at 5/s
    assert len(result.succeeded) == 300
    assert result.order_correlation() >= 0.9
    assert max(o.wait for o in result.outcomes) <= 1.5 * fifo_wait


def test_under_a_tight_budget_the_writers_use_at_least_85_percent_of_the_rate() -> None:
    budget = 15.0
    reserve = budget_module.ANSWER_RESERVE_S + budget_module.STORE_RESERVE_S + aws.COGNITO.attempt_s
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


def reading(line: Callable[[float], pacing.Line | None]) -> tuple[FakeClock, Turns, list[float]]:
    """One writer's Turns on a fake clock, the line ahead being `line` of the time; and when it
    read the line, each time."""
    clock = FakeClock()
    mine = Lease("me", "pool", began=1_000.0, writes_until=1e9)
    reads: list[float] = []

    def ahead(_mine: Lease, _now: float) -> pacing.Line | None:
        reads.append(clock.now)
        return line(clock.now)

    return clock, Turns(ahead, lambda: mine, epoch=lambda m: m, clock=clock, sleep=clock.sleep), reads


SERVER = ServerId("us-east-1_pool", "https://api.example.com")
OWNER = Owner("arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "Api")


def started_ledger(table: str, request_id: str) -> Ledger:
    """A ledger on `table`, a minute into its request's time, for the delivery of `request_id`."""
    budget = budget_module.Budget()
    budget.start(60_000)
    ledger = Ledger(table, budget, aws.tables(budget.tables_end), write_attempt_s=aws.COGNITO.attempt_s)
    ledger.start(request_id, "invocation")
    return ledger


def in_line(table: str, request_id: str, server: ServerId) -> tuple[Ledger, Record]:
    """A request of its own that took `server`'s lease, creating it: a place in the pool's line."""
    ledger = started_ledger(table, request_id)
    return ledger, ledger.claim(server, None, state=State.CREATING, owner=OWNER, request_id=request_id, issued_at=None)


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


def test_a_writer_at_the_back_of_a_full_pool_reads_the_line_a_few_times_not_every_few_seconds() -> None:
    def line(now: float) -> pacing.Line:
        ahead = max(299 - round((now - 1_000.0) * pacing.POOL_RATE), 0)  # the line moves at the rate
        return pacing.Line(ahead, ahead)

    clock, turns, reads = reading(line)

    delay = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 900)

    waited = clock.now - 1_000.0 + delay
    assert 299 / pacing.POOL_RATE - 1 <= waited <= 299 / pacing.POOL_RATE, "it tries when its turn comes"
    assert clock.slept[0] >= 299 / pacing.POOL_RATE / 2 * (1 - pacing.RECHECK_JITTER), "half its wait first"
    assert len(reads) <= 8, f"a 60 s wait, read {len(reads)} times: halving, not every 5 s (12)"


def test_writers_released_together_do_not_read_the_line_in_step() -> None:
    line, slot = pacing.Line(150, 150), 1 / pacing.POOL_RATE
    rng = random.Random(4)

    moves = [pacing.next_move(line, refused_at_head=0, rng=rng, round_trip_s=0.02) for _ in range(100)]

    assert not any(move.attempt for move in moves), "150 back, it sleeps rather than tries"
    sleeps = [move.wait_s for move in moves]
    assert max(sleeps) <= 150 * slot / 2, "at most half its expected wait"
    assert max(sleeps) - min(sleeps) >= 150 * slot / 2 * pacing.RECHECK_JITTER * 0.8, "spread, not in step"


@pytest.mark.parametrize(("left", "retried"), [(10.0, True), (aws.COGNITO.attempt_s + 0.05, False), (1.0, False)])
def test_a_throttled_write_gives_up_only_when_no_attempt_could_finish_in_time(left: float, retried: bool) -> None:
    clock = FakeClock()
    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    policy = RetryPolicy(lambda: clock.now + left, pacing=pacing.Pacing(random.Random(0)), clock=clock)
    policy.attach(client)
    policy.attempt_s = aws.COGNITO.attempt_s

    if retried:
        assert policy.needs_retry(response=throttled(), attempts=1) is not None
    else:
        with pytest.raises(ClientError, match="TooManyRequestsException"):
            policy.needs_retry(response=throttled(), attempts=1)


def test_a_reading_of_the_line_that_is_throttled_is_not_retried() -> None:
    ledger = started_ledger("ledger", "request")
    sent: list[str] = []

    def throttling(request: Any, **_: Any) -> AWSResponse:
        """DynamoDB's answer on the wire, so that botocore's retry handling sees it."""
        sent.append(request.url)
        body = b'{"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}'
        return AWSResponse(request.url, 400, {}, RawBody(body))

    ledger._client.meta.events.register("before-send.dynamodb.Query", throttling)
    line = ledger.line_ahead(Lease("me", "pool", began=1_000.0, writes_until=1e12), now=1_000.0)

    assert line is None, "unread: the writer paces itself"
    assert len(sent) == 1, "one attempt: a retried reading holds the writer past its turn"


class RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def test_after_a_failed_reading_a_writer_paces_itself_and_reads_again_only_later() -> None:
    clock, turns, reads = reading(lambda _now: None)  # the ledger can't be read
    delays = []
    for attempt in range(1, 6):  # refused five times, 0.1 s apart
        delays.append(turns.delay(attempts=attempt, now=clock.now, deadline=clock.now + 60))
        clock.now += 0.1

    assert reads == [1_000.0], "one reading within REREAD_S, not one after every refusal"
    assert all(0 <= d <= pacing.Pacing.CAP_S for d in delays), "jittered retries meanwhile"
    turns.delay(attempts=6, now=clock.now + pacing.REREAD_S, deadline=clock.now + 60)
    assert len(reads) == 2, "and it reads the line again after REREAD_S"


def test_a_lease_taken_by_a_write_whose_answer_was_lost_is_given_back(aws_environment: None) -> None:
    """Else it stands ahead of every writer in the pool's line until the request's time would have
    ended: with the 900 s Timeout, a quarter of an hour."""
    with mock_aws():
        ledger = started_ledger(create_ledger_table(boto3.client("dynamodb")), "request")
        client = ledger._client
        attempts: list[str] = []

        def landed_then_unreachable(request: Any, event_name: str, **_: Any) -> None:
            attempts.append(event_name)
            if len(attempts) == 1:
                botocore_stubber(event_name, request)  # moto takes the write; its answer is lost
                raise ReadTimeoutError(endpoint_url=request.url)
            raise ConnectTimeoutError(endpoint_url=request.url)

        client.meta.events.register_first("before-send.dynamodb.PutItem", landed_then_unreachable)
        with pytest.raises(RequestFailed):
            ledger.claim(SERVER, None, state=State.CREATING, owner=OWNER, request_id="request", issued_at=None)
        landed = ledger.read(SERVER)
        assert landed is not None
        assert landed.lease is not None, "the first attempt landed, lease and all"
        client.meta.events.unregister("before-send.dynamodb.PutItem", landed_then_unreachable)

        ledger.let_go()

        record = ledger.read(SERVER)
        assert record is not None
        assert record.lease is None, "given back: no writer counts it ahead"
        assert record.state == State.CREATING, "the record otherwise as it was"


def test_a_lease_marked_stale_is_counted_in_no_line_until_its_record_is_written_again(aws_environment: None) -> None:
    with mock_aws():
        table = create_ledger_table(boto3.client("dynamodb"))
        died, claimed = in_line(table, "died", SERVER)
        me, _ = in_line(table, "me", ServerId(SERVER.user_pool_id, "https://mine.example.com"))
        assert me.lease is not None
        line = me.line_ahead(me.lease, time.time())
        assert line is not None
        assert (line.in_pool, line.in_account, [a.holder for a in line.ahead]) == (1, 1, [died.holder])

        me.mark_stale(line.ahead)

        assert me.line_ahead(me.lease, time.time()) == pacing.Line(0, 0, ()), "left out, for every writer"
        record = died.read(SERVER)
        assert record is not None
        assert (record.state, record.owner) == (State.CREATING, OWNER), "ownership reads none of it"
        died.settle(claimed._replace(version=record.version), State.CREATING)  # the request lives after all
        assert died.read(SERVER) is not None


def test_a_writer_behind_a_line_that_stopped_moving_paces_itself_without_it() -> None:
    """A lease whose request died stands in the line until its time ends: a quarter of an hour."""
    clock, turns, reads = reading(lambda _now: pacing.Line(4, 4))  # four writers ahead that never write

    delay = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 900)

    assert pacing.STALL_S <= clock.now - 1_000.0 <= pacing.STALL_S + 1, "it tries once the line has not moved"
    assert delay <= pacing.Pacing.CAP_S
    read = len(reads)
    assert turns.delay(attempts=2, now=clock.now, deadline=clock.now + 900) <= pacing.Pacing.CAP_S
    assert len(reads) == read, "and no longer waits on the line"


def test_the_first_writer_to_see_the_line_stall_marks_the_leases_ahead_for_every_writer_behind() -> None:
    dead = tuple(pacing.Ahead(f"us-east-1_pool|https://dead-{n}.example.com", f"died-{n}", 1e9) for n in range(4))
    marked: list[tuple[pacing.Ahead, ...]] = []
    clock, turns, _reads = reading(lambda _now: pacing.Line(4, 4, dead))
    turns = Turns(turns._ahead, turns._mine, stale=marked.append, epoch=lambda m: m, clock=clock, sleep=clock.sleep)

    turns.delay(attempts=1, now=clock.now, deadline=clock.now + 900)

    assert marked == [dead], "once, the moment it sees the stall"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_behind_four_dead_leases_fifty_creates_all_succeed_within_a_60_s_service_timeout(seed: int) -> None:
    result = sim.simulate(sim.at_once(50, budget_s=60.0), latency_s=0.05, orphans=4, seed=seed)

    assert len(result.succeeded) == 50, "the stall one writer learns is shared with the line"
    assert result.makespan <= 1.6 * sim.rate_floor(50)


@pytest.mark.parametrize(("lag_s", "within"), [(1.0, 1.25), (2.0, 60.0 / 29.8)])
def test_with_the_queue_index_behind_its_table_150_creates_all_succeed_near_the_rate(
    lag_s: float, within: float
) -> None:
    # The index still counts leases given back, as long as it lags: each writer learns how far
    # from its own lease's appearance in it, and tries that near its turn.
    result = sim.simulate(sim.at_once(150, budget_s=60.0), latency_s=0.05, index_lag_s=lag_s, seed=1)

    assert len(result.succeeded) == 150, "within a 60 s ServiceTimeout"
    assert result.makespan <= within * sim.rate_floor(150)


def test_a_writer_learns_how_far_the_index_lags_from_its_own_lease() -> None:
    began = 1_000.0
    unseen = pacing.index_lag(0.0, began, 1_000.4, shows_mine=False, seen_before=False)
    first_seen = pacing.index_lag(unseen, began, 1_001.2, shows_mine=True, seen_before=False)

    # Between the last reading that did not show it (0.4 s) and the first that did (1.2 s): midway.
    assert (unseen, first_seen) == (pytest.approx(0.4), pytest.approx(0.8))
    assert pacing.index_lag(first_seen, began, 1_030.0, shows_mine=True, seen_before=True) == first_seen
    assert pacing.index_lag(0.0, began, 1_009.0, shows_mine=True, seen_before=False) == 0.0, "shown at once: no lag"
    move = pacing.next_move(
        pacing.Line(5, 5), refused_at_head=0, rng=random.Random(0), round_trip_s=0.05, index_lag_s=first_seen
    )
    assert move.attempt, "5 ahead at 5/s is a second, 0.8 s of it writers gone that the index still counts"


def test_the_wait_the_index_owes_to_writers_gone_is_slept_not_spent_trying() -> None:
    rng = random.Random(0)
    far = pacing.next_move(pacing.Line(20, 20), refused_at_head=0, rng=rng, round_trip_s=0.05, index_lag_s=2.0)
    # 20 ahead at 5/s is 4 s, of which 2 s are writers gone: it sleeps, to a slot before its turn.
    assert not far.attempt
    assert far.wait_s == pytest.approx(2.0 - 1 / pacing.POOL_RATE)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_lagging_index_costs_calls_in_proportion_not_a_storm(seed: int) -> None:
    steady = sim.simulate(sim.at_once(150, budget_s=60.0), latency_s=0.05, seed=seed)
    for lag_s in (0.5, 2.0):
        lagging = sim.simulate(sim.at_once(150, budget_s=60.0), latency_s=0.05, index_lag_s=lag_s, seed=seed)
        # Trying throughout the lag cost 87-89 calls a create at 0.5 s behind, and 69-72 at 2 s,
        # against 15 in step; now 12 and 18-19, against 8 (figure 5d).
        assert lagging.calls_per_create <= 2.5 * steady.calls_per_create, f"{lag_s} s behind"
        assert len(lagging.succeeded) == 150


def test_a_raised_rate_is_kept_at_the_same_ratio_to_its_floor() -> None:
    result = sim.simulate(sim.at_once(150), latency_s=0.05, pool_rate=10.0, seed=1)

    assert len(result.succeeded) == 150
    assert result.makespan <= 1.25 * sim.rate_floor(150, 10.0)


def test_leases_whose_requests_died_slow_the_writers_behind_but_do_not_stop_them() -> None:
    result = sim.simulate(sim.at_once(50), latency_s=0.05, orphans=4, seed=5)

    assert len(result.succeeded) == 50, "without the stall rule: none, as the orphans' leases outlast every writer"
    # The first writer to see the stall marks the dead leases for all: about 1.5x the rate floor
    # here (docs/internals.md, "Throttling"). Pinned, so that a change that makes it worse shows.
    assert result.makespan <= 100


def test_a_write_that_never_landed_leaves_another_requests_lease_alone(aws_environment: None) -> None:
    with mock_aws():
        table = create_ledger_table(boto3.client("dynamodb"))
        ours, theirs = started_ledger(table, "ours"), started_ledger(table, "theirs")

        def unreachable(request: Any, **_: Any) -> None:
            raise ConnectTimeoutError(endpoint_url=request.url)

        ours._client.meta.events.register_first("before-send.dynamodb.PutItem", unreachable)
        with pytest.raises(RequestFailed):
            ours.claim(SERVER, None, state=State.CREATING, owner=OWNER, request_id="ours", issued_at=None)
        ours._client.meta.events.unregister("before-send.dynamodb.PutItem", unreachable)
        theirs.claim(SERVER, None, state=State.CREATING, owner=OWNER, request_id="theirs", issued_at=None)

        ours.let_go()

        record = theirs.read(SERVER)
        assert record is not None
        assert record.lease is not None, "their lease stands: the same version, but not our write"
        assert record.lease.holder == theirs.holder


def test_a_writer_that_knows_when_its_pool_last_took_a_write_tries_once_at_its_own_slot() -> None:
    slot, rng = 1 / pacing.POOL_RATE, random.Random(0)

    def move(ahead: int, since_last_s: float, rates: pacing.Rates = pacing.DEFAULT_RATES) -> pacing.Move:
        line = pacing.Line(ahead, ahead)
        return pacing.next_move(
            line, refused_at_head=0, rng=rng, round_trip_s=0.05, rates=rates, since_last_s=since_last_s
        )

    at_head, third = move(0, 0.05), move(2, 0.05)
    # Arriving a slot after the last write, and a slot later for each writer ahead, half a round trip after sending.
    assert at_head == pacing.Move(
        slot * (1 + pacing.PHASE_MARGIN) - 0.05 - 0.025, attempt=True, at_head=True, timed=True
    )
    assert third == pacing.Move(3 * slot * (1 + pacing.PHASE_MARGIN) - 0.05 - 0.025, attempt=True, timed=True)
    late = move(0, 1.0)
    assert late.attempt, "its slot is open by the count, yet it was refused: it tries again, as before"
    assert not late.timed
    behind_dead = move(20, 30.0)
    assert not behind_dead.timed, "writers ahead long past their slots: the count decides, and the stall rule"
    busy_account = move(2, 0.05, pacing.Rates(pool=5.0, account=1.0))
    assert not busy_account.timed, "the account's rate binds: its pool's moment is no guide"


def test_a_refused_attempt_timed_to_its_slot_reads_the_line_again_at_once() -> None:
    # Its pool took a write 0.1 s ago, and one writer is ahead: its slot opens 0.3 s on.
    clock, turns, reads = reading(lambda now: pacing.Line(1, 1, last_write=999.9))

    first = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 60)
    clock.now += first
    turns.delay(attempts=2, now=clock.now, deadline=clock.now + 60)

    assert first == pytest.approx(2 / pacing.POOL_RATE * (1 + pacing.PHASE_MARGIN) - 0.1), (
        "no sleep: one attempt, timed"
    )
    assert clock.slept == []
    assert len(reads) == 2, "refused at its slot, it reads when the slot did open, rather than guess"


def test_a_refused_timed_attempt_whose_reading_fails_reads_again_only_after_reread_s() -> None:
    """Else each jittered refusal reads a ledger already too slow to answer: under 150 creates
    at once, the emulator's DynamoDB stopped taking connections, and 130 creates failed to record
    the servers Cognito had made (`make bench`, figure 5)."""
    readings = iter([pacing.Line(1, 1, last_write=999.9)])
    clock, turns, reads = reading(lambda _now: next(readings, None))

    timed = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 60)
    clock.now += timed
    for attempt in range(2, 7):  # refused at its slot, then again and again, 0.1 s apart
        turns.delay(attempts=attempt, now=clock.now, deadline=clock.now + 60)
        clock.now += 0.1

    assert len(reads) == 2, "the reading its slot earned, which failed; then jitter until REREAD_S"


def test_a_slot_that_comes_past_the_writers_time_is_waited_for_as_any_late_turn() -> None:
    clock, turns, _reads = reading(lambda now: pacing.Line(100, 100, last_write=now - 0.05))

    delay = turns.delay(attempts=1, now=clock.now, deadline=clock.now + 10)

    assert clock.now + delay <= 1_000.0 + 10, "one last try within its time, not a give-up 20 s out"
    assert clock.now >= 1_000.0 + 10 - pacing.FINAL_LOOK_S - 0.01, "after a last look at the line"


def test_the_moment_cognito_took_a_write_is_kept_for_the_line_midway_between_send_and_answer() -> None:
    clock = FakeClock()
    kept: list[float] = []
    mine: list[Lease] = []
    turns = Turns(
        lambda _m, _n: None,
        lambda: mine[0] if mine else None,
        wrote=kept.append,
        epoch=lambda m: m + 5_000,
        clock=clock,
    )

    turns.taken(1_000.0, 1_000.2)
    mine.append(Lease("me", "pool", began=1_000.0, writes_until=1e9))
    turns.taken(1_001.0, 1_001.2)

    assert kept == [pytest.approx(6_001.1)], "only a write made under a lease, on the leases' clock"


def test_a_reading_that_does_not_show_the_writers_own_lease_is_slept_on_not_trusted() -> None:
    blind = pacing.Line(0, 0, shows_mine=False)

    move = pacing.next_move(blind, refused_at_head=0, rng=random.Random(0), round_trip_s=0.05, index_lag_s=0.6)

    assert move == pacing.Move(0.6, attempt=False), "as long again as the index has had: the line is short"
    assert pacing.watch(None, blind, 1_000.0) is None, "and it says nothing of how the line moves"
    gave_up = pacing.next_move(blind, refused_at_head=0, rng=random.Random(0), round_trip_s=0.05, index_lag_s=3.0)
    assert gave_up.attempt, "an index that never shows it is not waited on past STALL_S"


def test_a_write_taken_leaves_its_moment_in_the_line_and_ownership_reads_none_of_it(aws_environment: None) -> None:
    with mock_aws():
        table = create_ledger_table(boto3.client("dynamodb"))
        wrote, claimed = in_line(table, "wrote", SERVER)
        behind, _ = in_line(table, "behind", ServerId(SERVER.user_pool_id, "https://mine.example.com"))
        elsewhere, other = in_line(table, "elsewhere", ServerId("us-east-1_other", "https://other.example.com"))
        took_at = time.time() - 0.3

        wrote.took(took_at)
        made = wrote.settle(claimed, State.MADE)
        elsewhere.took(time.time() - 0.1)  # another pool's moment: no guide to this one's
        elsewhere.settle(other, State.MADE)

        assert behind.lease is not None
        line = behind.line_ahead(behind.lease, time.time())
        assert line == pacing.Line(0, 0, (), shows_mine=True, last_write=pytest.approx(took_at))
        assert wrote.read(SERVER) == made, "a record like any other: no lease"
        later = time.time() + pacing.RECENT_WRITE_S + 1
        assert behind.line_ahead(behind.lease._replace(writes_until=later + 60), later).last_write is None  # type: ignore[union-attr]
        again = wrote.claim(SERVER, made, state=State.MADE, owner=OWNER, request_id="again", issued_at=None)
        wrote.settle(again, State.MADE)  # no write of Cognito's this time
        line = behind.line_ahead(behind.lease, time.time())
        assert line is not None
        assert line.last_write is None, "the record's next write clears it"


def test_a_write_cognito_took_is_told_to_the_pacing_and_a_read_is_not() -> None:
    clock = FakeClock()
    told: list[tuple[float, float]] = []

    class Told(pacing.Pacing):
        def taken(self, sent_at: float, answered_at: float) -> None:
            told.append((sent_at, answered_at))

    client = boto3.client("cognito-idp", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    policy = RetryPolicy(lambda: clock.now + 1_000, reads=cognito.READS, pacing=Told(), clock=clock)
    policy.attach(client)
    model = client.meta.service_model

    def answered(operation: str) -> None:
        policy.before_send()
        clock.now += 0.2
        ok = type("Http", (), {"status_code": 200})()
        assert policy.needs_retry(response=(ok, {}), attempts=1, operation=model.operation_model(operation)) is None

    with policy.writing():
        answered("DescribeResourceServer")  # a look, inside a write: it takes no slot
        answered("CreateResourceServer")
    answered("ListResourceServers")

    assert told == [(pytest.approx(1_000.2), pytest.approx(1_000.4))]
