"""Throttled Cognito writes wait their turn, in the order their requests began.

Cognito allows 5 writes/s per user pool and 15/s per account, and CloudFormation starts every
independent resource at once: a full pool is 300 writers for 5 slots a second. Jittered retries
keep those slots busy but serve writers in random order, so some wait far longer than their
place in line, and hundreds of attempts a second are refused. Every write here already holds a
lease in the ledger, taken before its first attempt (ledger.py); in the order they began, the
leases are the queue. A throttled writer counts the leases ahead of it that can still write,
in its pool and in the account, works out when its turn comes at Cognito's rates, and sleeps
until then, looking again at half that wait, or RECHECK_S, as the line moves.
Cognito spaces a pool's writes a slot apart, so a writer that knows when the last one was taken
knows when each slot opens: each write taken leaves its moment in the queue (ledger.py), and a
writer that reads one tries once, at its own slot, rather than again and again near it.
Writers that are not ours share Cognito's rate too; a writer whose turn came and was still
refused simply looks again. If the ledger can't be read, or the line stops moving, it falls back
to jittered retries.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import NamedTuple

from .clock import CLOCK

logger = logging.getLogger(__name__)


class Pacing:
    """When a throttled call tries again: short jittered waits, every AWS call's default, and
    what a Cognito write falls back to when the line can't be read (`Turns`, below)."""

    def taken(self, sent_at: float, answered_at: float) -> None:
        """A write was taken: sent at `sent_at`, answered at `answered_at` (monotonic seconds)."""

    # botocore's backoff for throttling (full jitter, 1 s doubling to 20 s) leaves Cognito's
    # 5 writes/s per pool idle: 25 creates spread over 17.6 s against the 4.8 s the cap allows.
    BASE_S = 0.25
    CAP_S = 0.75

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    def delay(self, attempts: int, now: float, deadline: float, round_trip_s: float = 0.0) -> float:
        """Seconds before the next attempt; `round_trip_s`: how long the refused one took."""
        return self.rng.uniform(0, min(self.BASE_S * 2 ** (attempts - 1), self.CAP_S))


# Cognito's default quotas: writes a second per user pool, and per account across its pools. An
# account may have them raised (its provisioned limits): the template's rate parameters say so.
POOL_RATE = 5.0
ACCOUNT_RATE = 15.0
# The first writers in line try again within a third of a slot, so that a freed slot is taken at
# once; the rest sleep until close to their turn (`make bench`, figure 5, tuned in its simulation).
ATTEMPT_WINDOW = 2
HEAD_JITTER = 1 / 6
# The rest sleep half their expected wait, or RECHECK_S if longer, less up to RECHECK_JITTER of
# it: a writer far back reads the line a few times, not every few seconds, and writers released
# together don't read it in step. Every reading is one Query of one index partition; a hundred
# writers reading every 5 s in step kept `make bench`'s DynamoDB emulator saturated.
RECHECK_S = 5.0
RECHECK_JITTER = 0.25
LAST_TRY_MARGIN_S = 0.1
FINAL_LOOK_S = 1.0
# A writer refused again and again with none of ours ahead backs off as jitter does, to a try
# every 0.375 s on average: writers not ours are taking the slots.
HEAD_CAP_S = Pacing.CAP_S
# A writer sends its next attempt a round trip after its last: when calls are slow, more writers
# must try at once to keep each slot taken. And one that is trying reads the line again only
# this often, not after every refusal: each reading is a round trip to DynamoDB.
WINDOW_ROUND_TRIPS = 10
REREAD_S = 1.0
# A writer that knows when its pool last took a write tries this much after its slot opens: the
# moment is known to half a round trip, and each writer ahead may be as late (`make bench`, 5d).
PHASE_MARGIN = 0.05
# A write taken longer ago than this says nothing of when the next slot opens: the pool has been
# idle, or the index lags so far that the moment is no use. Kept above the lags figure 5d plays.
RECENT_WRITE_S = 10.0
# A line in which no writer ahead has gone for this long is not being served: a lease whose
# request died stands in it until its time ends, a quarter of an hour with the 900 s Timeout.
# A writer that sees it stall paces itself with jitter from then on, as when the ledger can't be read.
STALL_S = 3.0


class Lease(NamedTuple):
    """A request that may write to Cognito: its place in the queue."""

    holder: str  # the delivery that holds it
    pool: str
    began: float  # seconds since the epoch: the queue's order
    writes_until: float  # seconds since the epoch: it starts no Cognito write after this


class Rates(NamedTuple):
    """The write rates the account's Cognito allows: per user pool, and per account."""

    pool: float = POOL_RATE
    account: float = ACCOUNT_RATE


DEFAULT_RATES = Rates()


class Ahead(NamedTuple):
    """A lease ahead in the line, as the ledger can find it again: to mark it stale."""

    server: str
    holder: str
    writes_until: float


class Line(NamedTuple):
    """The writers ahead of one, that can still write: in its pool, and in the whole account;
    and the first of those in its pool, oldest first."""

    in_pool: int
    in_account: int
    ahead: tuple[Ahead, ...] = ()
    # Whether the reading showed the writer's own lease: the index it is read from lags its
    # table, and until it shows a lease, it shows for as long the ones already given back.
    shows_mine: bool = True
    # When Cognito last took a write in its pool, in seconds since the epoch, if in RECENT_WRITE_S.
    last_write: float | None = None


def wait_for_turn(line: Line, rates: Rates = DEFAULT_RATES) -> tuple[float, float]:
    """Seconds until a writer can expect a free slot, if every writer ahead takes one first; and
    the slot of the rate that binds: its pool's, or the account's."""
    pool_wait, account_wait = line.in_pool / rates.pool, line.in_account / rates.account
    if account_wait >= pool_wait and account_wait > 0:
        return account_wait, 1 / rates.account
    return pool_wait, 1 / rates.pool


class Watch(NamedTuple):
    """A writer's last reading of the line, and when the writers ahead were last seen fewer."""

    line: Line
    pool_since: float
    account_since: float


def watch(previous: Watch | None, line: Line, now: float) -> Watch | None:
    """`previous`, updated with a new reading of the line at `now`. A reading that does not show
    the writer's own lease is short of the leases that began with it: it says nothing of how the
    line moves."""
    if not line.shows_mine:
        return previous
    if previous is None:
        return Watch(line, now, now)
    return Watch(
        line,
        now if line.in_pool < previous.line.in_pool else previous.pool_since,
        now if line.in_account < previous.line.in_account else previous.account_since,
    )


def stalled(seen: Watch | None, now: float, rates: Rates = DEFAULT_RATES) -> bool:
    """Whether the writers ahead, in the line whose rate binds, have not moved for STALL_S."""
    if seen is None:
        return False
    wait, slot = wait_for_turn(seen.line, rates)
    since = seen.account_since if slot == 1 / rates.account else seen.pool_since
    return wait > 0 and now - since >= STALL_S


class Move(NamedTuple):
    """What a throttled writer does next: try again after `wait_s`, or look at the queue again then."""

    wait_s: float
    attempt: bool
    at_head: bool = False  # no writer of ours is ahead of it
    timed: bool = False  # an attempt at the moment its slot opens, by the pool's last write


def next_move(
    line: Line,
    *,
    refused_at_head: int,
    rng: random.Random,
    round_trip_s: float,
    rates: Rates = DEFAULT_RATES,
    index_lag_s: float = 0.0,
    since_last_s: float | None = None,
) -> Move:
    """The pacing rule, on its own, so that the simulation in `make bench` plays exactly this.
    `refused_at_head`: how often in a row this writer was throttled with none of ours ahead.
    `index_lag_s`: how far the index lags, as this writer saw its own lease appear in it.
    `since_last_s`: how long ago, when it read the line, its pool last took a write."""
    wait, slot = wait_for_turn(line, rates)
    if not line.shows_mine and index_lag_s < STALL_S:
        # The index has yet to show its own lease, nor those that began just before it: the line
        # it shows is short by them. Read it again once the index has had as long again.
        return Move(max(index_lag_s, slot), attempt=False)
    if since_last_s is not None and line.shows_mine and slot == 1 / rates.pool:
        # Its slot opens a slot after the last write, and one more for each writer ahead. An
        # index that lags shows the moment that much older, and as many writers gone as took a
        # slot since: the two cancel. When the account's rate binds, its pool's moment is no guide.
        turn = (line.in_pool + 1) * slot * (1 + PHASE_MARGIN) - since_last_s - round_trip_s / 2
        if turn > 0:
            return Move(turn, attempt=True, at_head=line.in_pool == 0, timed=True)
        # Its slot is open by the count, yet it was refused, or the writers ahead are late: as below.
    # The line still counts, for as long as the index lags, the writers that have gone: that much
    # of the wait is theirs. Trying throughout it instead cost 90 calls a create at 0.5 s behind.
    wait = max(wait - index_lag_s, 0.0)
    if wait < slot / 2:
        # None of ours ahead, yet refused: the last writer took the slot, or writers not ours
        # share the pool. Try again at once, then, if refused again and again, back off.
        ceiling = min(slot * HEAD_JITTER * 2 ** max(refused_at_head - 2, 0), HEAD_CAP_S)
        return Move(rng.uniform(0, ceiling), attempt=True, at_head=True)
    if wait <= max(ATTEMPT_WINDOW * slot, WINDOW_ROUND_TRIPS * round_trip_s):
        return Move(rng.uniform(0, slot * HEAD_JITTER), attempt=True)
    recheck = max(RECHECK_S, wait / 2) * (1 - RECHECK_JITTER * rng.random())
    return Move(min(wait - slot, recheck), attempt=False)


def in_time(move: Move, now: float, last_attempt: float) -> Move:
    """`move`, unless it is an attempt timed to a slot that opens past the writer's last attempt:
    then a wait, as for any turn that comes too late."""
    return move._replace(attempt=False) if move.timed and now + move.wait_s > last_attempt else move


def refused_at_head_after(previous: int, move: Move) -> int:
    """How often in a row a writer has been refused with none of ours ahead, once it makes `move`:
    an attempt timed to its slot is no try at once, and does not count."""
    return previous + 1 if move.at_head and not move.timed else 0


def index_lag(estimate: float, began: float, now: float, shows_mine: bool, seen_before: bool) -> float:
    """How far the index lags, as a writer learns it from its own lease, which began at `began`:
    at least as long as a reading did not show it (`estimate`, until then); at most until the
    reading that first did. A lease shown from the first reading on says the index keeps up."""
    if seen_before or (shows_mine and estimate == 0.0):
        return estimate
    if shows_mine:
        # Midway: the upper end grows with the gap between readings, which can be seconds, and a
        # writer that overrates the lag tries that much before its turn.
        return (estimate + now - began) / 2
    return max(estimate, now - began)


class _Following:
    """What Turns knows of one lease's line; it starts afresh when the request's lease changes."""

    __slots__ = (
        "index_lag_s",
        "lease",
        "line",
        "read_at",
        "refused_at_head",
        "seen_in_index",
        "stalled",
        "timed",
        "watch",
    )

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.read_at: float | None = None  # when the line was last read, while that reading holds
        self.line: Line | None = None  # what that reading found (None: it failed)
        self.watch: Watch | None = None  # how the line has moved
        self.refused_at_head = 0  # how often in a row it was throttled with none of ours ahead
        self.stalled = False  # the line stopped moving: it paces itself from then on
        self.index_lag_s = 0.0  # how far the index lags, as its own lease's appearance showed
        self.seen_in_index = False
        self.timed = False  # its last attempt was timed to its slot: refused, it reads the line again


class Turns(Pacing):
    """Pacing for Cognito's writes: a turn in the queue of leases, when the ledger can say."""

    def __init__(
        self,
        ahead: Callable[[Lease, float], Line | None],
        mine: Callable[[], Lease | None],
        *,
        stale: Callable[[tuple[Ahead, ...]], None] = lambda _ahead: None,
        wrote: Callable[[float], None] = lambda _at: None,
        epoch: Callable[[float], float],
        rates: Rates = DEFAULT_RATES,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__()
        self._ahead = ahead  # the line ahead of a lease at a moment, or None when it can't be read
        self._mine = mine  # this request's lease, or None when it holds none
        self._stale = stale  # marks leases whose requests died, so that the line stops counting them
        self._wrote = wrote  # keeps the moment Cognito took this request's write, for the line to read
        self._epoch = epoch  # a monotonic moment in seconds since the epoch, as leases count time
        self.rates = rates
        self._clock = clock or CLOCK.monotonic
        self._sleep = sleep or CLOCK.sleep
        self._following: _Following | None = None

    def start(self) -> None:
        """A new request: nothing seen of a line yet."""
        self._following = None

    def taken(self, sent_at: float, answered_at: float) -> None:
        if self._mine() is not None:
            # Cognito took it between sending and answer: midway, to half a round trip.
            self._wrote(self._epoch((sent_at + answered_at) / 2))

    def delay(self, attempts: int, now: float, deadline: float, round_trip_s: float = 0.0) -> float:
        while (mine := self._mine()) is not None:
            if self._following is None or self._following.lease != mine:
                self._following = _Following(mine)
            seen = self._following
            if seen.stalled or (line := self._line(seen, now)) is None:
                break
            now = self._clock()  # reading the line takes a round trip, or more when DynamoDB is slow
            seen.watch = watch(seen.watch, line, now)
            if stalled(seen.watch, now, self.rates):
                logger.warning(
                    "The writers ahead in line have not moved; pacing this write without the line",
                    extra={"ahead_in_pool": line.in_pool, "ahead_in_account": line.in_account, "seconds": STALL_S},
                )
                # What this writer learned, every writer behind it learns at its next reading:
                # the leases that stood still ahead are left out of the line from now on.
                self._stale(line.ahead)
                seen.stalled = True
                break
            move = next_move(
                line,
                refused_at_head=seen.refused_at_head,
                rng=self.rng,
                round_trip_s=round_trip_s,
                rates=self.rates,
                index_lag_s=seen.index_lag_s,
                since_last_s=None if line.last_write is None else self._epoch(now) - line.last_write,
            )
            move = in_time(move, now, deadline)
            seen.timed = move.timed and move.attempt
            if not move.attempt:
                seen.read_at = None  # it sleeps: the line will have moved
            seen.refused_at_head = refused_at_head_after(seen.refused_at_head, move)
            if move.attempt:
                if move.timed:
                    logger.debug("Waiting for this write's slot", extra={"seconds": round(move.wait_s, 2)})
                return move.wait_s  # past the last attempt, the caller stops
            if now + move.wait_s > deadline - FINAL_LOOK_S and now < deadline - FINAL_LOOK_S:
                step = deadline - FINAL_LOOK_S - now  # a last look at the line, while it can still act on it
            elif now + move.wait_s > deadline:
                # Its turn comes too late, by the count: one last try, while one can still finish.
                return max(deadline - now - LAST_TRY_MARGIN_S, 0.0)
            else:
                step = move.wait_s
            logger.debug("Waiting for this write's turn", extra={"seconds": round(step, 2)})
            self._sleep(step)
            now = self._clock()
        return super().delay(attempts, now, deadline, round_trip_s)

    def _line(self, seen: _Following, now: float) -> Line | None:
        """The line ahead of the lease: read again, unless it was read in the last REREAD_S. A
        reading that failed counts too: until the next, the writer paces itself with jitter, rather
        than ask a slow or throttling ledger again after every refusal."""
        if seen.read_at is not None and now - seen.read_at < REREAD_S and not seen.timed:
            return seen.line
        # One reading for a refused timed attempt: if it fails, the next waits REREAD_S like any.
        seen.timed = False
        seen.read_at, seen.line = now, self._ahead(seen.lease, self._epoch(now))
        if seen.line is not None:
            seen.index_lag_s = index_lag(
                seen.index_lag_s, seen.lease.began, self._epoch(now), seen.line.shows_mine, seen.seen_in_index
            )
            seen.seen_in_index |= seen.line.shows_mine
        return seen.line
