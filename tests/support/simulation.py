"""Creates contending for Cognito's write rates, in virtual time.

What this machine can't measure (300 Lambda processes; several pools under the account's
15 writes/s) is played here with the provider's own rules, imported, not copied: the pacing
of a throttled write (pacing.next_move), the give-up rule (aws.gives_up), the reserves
of the Lambda's time and the Cognito client's timeouts. The rates are enforced as the
emulator enforces them (emulator.Faults): each pool accepts a write at most every 1/5 s,
evenly spaced; and, when `account_rate` is set, the account at most every 1/15 s. `make bench`
checks the simulation against measured runs of the same size.
"""

from __future__ import annotations

import heapq
import random
import statistics
from dataclasses import dataclass

from resource_server import aws, budget, pacing
from resource_server.pacing import Lease


@dataclass(frozen=True)
class Writer:
    pool: str
    arrives: float  # seconds from the start
    budget_s: float  # the Lambda's time from its arrival


@dataclass(frozen=True)
class Outcome:
    writer: Writer
    began: float  # when its lease began: its place in the queue
    succeeded_at: float | None  # when its answer came back
    gave_up_at: float | None
    attempts: int
    accepted_at: float | None = None  # when Cognito took its write
    readings: int = 0  # Queries of the line

    @property
    def calls(self) -> int:
        """Every AWS call of its request: the answer kept (2), the look, the lease taken and
        given back (2), its attempts, and its readings of the line."""
        return 5 + self.attempts + self.readings

    @property
    def wait(self) -> float:
        end = self.succeeded_at if self.succeeded_at is not None else self.gave_up_at
        assert end is not None
        return end - self.writer.arrives


@dataclass(frozen=True)
class Result:
    outcomes: list[Outcome]

    @property
    def succeeded(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.succeeded_at is not None]

    @property
    def first_write(self) -> float:
        """When Cognito took the first write, from the start."""
        return min((o.accepted_at for o in self.outcomes if o.accepted_at is not None), default=0.0)

    @property
    def makespan(self) -> float:
        """From the first write Cognito took to the last: what the emulator measures (Faults.makespan),
        and what the rate floor bounds."""
        done = [o.accepted_at for o in self.succeeded if o.accepted_at is not None]
        return max(done) - min(done) if done else 0.0

    @property
    def attempts(self) -> int:
        return sum(o.attempts for o in self.outcomes)

    @property
    def calls_per_create(self) -> float:
        return sum(o.calls for o in self.outcomes) / max(len(self.outcomes), 1)

    def order_correlation(self) -> float:
        """Spearman's rank correlation of queue order and order of success: 1.0 is first-come."""
        done = sorted(self.succeeded, key=lambda o: o.began)
        if len(done) < 2:
            return 1.0
        by_success = {id(o): rank for rank, o in enumerate(sorted(done, key=lambda o: o.succeeded_at or 0.0))}
        n = len(done)
        squares = sum((rank - by_success[id(o)]) ** 2 for rank, o in enumerate(done))
        return 1 - 6 * squares / (n * (n * n - 1))


def simulate(
    writers: list[Writer],
    *,
    account_rate: float | None = None,
    latency_s: float = 0.02,
    seed: int = 0,
    orphans: int = 0,
    pool_rate: float = pacing.POOL_RATE,
    index_lag_s: float = 0.0,
    late_s: float = 0.0,
) -> Result:
    """Each writer takes its lease, then tries CreateResourceServer until it is accepted or, by the
    provider's own rule, no attempt could finish in its time. `latency_s` is one call's round trip.
    `orphans`: leases at the head of pool-0's line whose requests died: they never write.
    `index_lag_s`: how far the queue index, which DynamoDB keeps eventually consistent, lags the
    table: a lease is counted once it has been there that long, and for that long after it went.
    `late_s`: each attempt arrives up to that much later than half a round trip, and its answer
    as late, as on a loaded machine, whose processes wake late; the writer, which sees only when
    it sent and when the answer came, takes the moment midway."""
    rng = random.Random(seed)
    rates = pacing.Rates(pool_rate, account_rate or pacing.ACCOUNT_RATE)
    jitter = pacing.Pacing(rng)  # the provider's fallback pacing, on the same random stream
    calls_end = [w.arrives + w.budget_s - budget.ANSWER_RESERVE_S - budget.STORE_RESERVE_S for w in writers]
    # Before its first write a Create reads the ledger, looks at Cognito, and takes its lease.
    leases = {
        n: Lease(
            str(n),
            w.pool,
            began=w.arrives + (3 + rng.random()) * latency_s,
            writes_until=calls_end[n] - aws.COGNITO.attempt_s,
        )
        for n, w in enumerate(writers)
    }
    began = {n: lease.began for n, lease in leases.items()}
    dead = {-1 - n: Lease(f"orphan-{n}", "pool-0", began=-1.0 + n / 1000, writes_until=900.0) for n in range(orphans)}
    gone: dict[int, tuple[Lease, float]] = {}  # leases given back, and when: the index still shows them a while
    watches: dict[int, pacing.Watch | None] = {}  # how each writer has seen the line move, as Turns keeps it
    stalled: set[int] = set()
    read_at: dict[int, float] = {}  # when each writer last read the line, as Turns._line keeps it
    lines: dict[int, pacing.Line] = {}  # what that reading found, which the writer goes by until the next
    timed: set[int] = set()  # the writers whose last attempt was timed to their slot: refused, they read again
    round_trip: dict[int, float] = {}  # each writer's last attempt, from sending to its answer
    taken: list[tuple[Lease, float, float]] = []  # each write Cognito took: its lease, its moment, when recorded
    attempts = dict.fromkeys(range(len(writers)), 0)
    lag_seen: dict[int, float] = {}  # how far each writer has seen the index lag
    shown: set[int] = set()  # the writers whose own lease the index has shown
    readings = dict.fromkeys(range(len(writers)), 0)
    refused_at_head = dict.fromkeys(range(len(writers)), 0)
    succeeded: dict[int, float] = {}
    accepted: dict[int, float] = {}
    gave_up: dict[int, float] = {}
    next_slot: dict[str, float] = {}
    next_account_slot = 0.0
    queue = [(leases[n].began, n, True) for n in range(len(writers))]  # (when, writer, is it an attempt?)
    heapq.heapify(queue)
    while queue:
        now, n, is_attempt = heapq.heappop(queue)
        if is_attempt:
            attempts[n] += 1
            # Late on its way and, apart, on its answer's: what the writer sees is the round trip.
            there, back = (rng.uniform(0, late_s), rng.uniform(0, late_s)) if late_s else (0.0, 0.0)
            arrives = now + latency_s / 2 + there
            answered = now + latency_s + there + back
            round_trip[n] = answered - now
            pool = writers[n].pool
            if arrives >= next_slot.get(pool, 0.0) and (account_rate is None or arrives >= next_account_slot):
                next_slot[pool] = arrives + 1 / pool_rate
                if account_rate is not None:
                    next_account_slot = arrives + 1 / account_rate
                succeeded[n], accepted[n] = answered, arrives
                gone[n] = (leases.pop(n), answered + latency_s)  # given back by the write that records it
                taken.append((gone[n][0], (now + answered) / 2, answered + latency_s))  # midway, as Turns.taken
                continue
            now = answered  # the throttled answer comes back
        shows_mine = index_lag_s <= 0 or leases[n].began + index_lag_s <= now
        if now - read_at.get(n, -1e9) >= pacing.REREAD_S or n in timed:
            now += latency_s  # a Query of the line
            read_at[n] = now
            readings[n] += 1
            # As Turns learns it: how far the index lags, from when it first shows the writer's own lease.
            lag_seen[n] = pacing.index_lag(lag_seen.get(n, 0.0), leases[n].began, now, shows_mine, n in shown)
            if shows_mine:
                shown.add(n)
            lines[n] = line_ahead(indexed({**dead, **leases}, gone, now, index_lag_s), leases[n], now)._replace(
                shows_mine=shows_mine, last_write=last_write(taken, leases[n], now, index_lag_s)
            )
        line = lines[n]
        watches[n] = pacing.watch(watches.get(n), line, now)
        if n in stalled or pacing.stalled(watches[n], now, rates):
            if n not in stalled:
                mark_stale(dead, leases[n], now)
            stalled.add(n)  # from then on it paces itself with jitter, as Turns.delay does
            move = pacing.Move(jitter.delay(attempts[n], now, calls_end[n]), attempt=True)
        else:
            move = pacing.next_move(
                line,
                refused_at_head=refused_at_head[n],
                rng=rng,
                round_trip_s=round_trip.get(n, latency_s),
                rates=rates,
                index_lag_s=lag_seen.get(n, 0.0),
                since_last_s=None if line.last_write is None else now - line.last_write,
            )
            refused_at_head[n] = pacing.refused_at_head_after(refused_at_head[n], move)
        last_attempt = calls_end[n] - aws.COGNITO.attempt_s
        final_look = last_attempt - pacing.FINAL_LOOK_S
        move = pacing.in_time(move, now, last_attempt)
        timed.discard(n)
        timed.update([n] if move.timed and move.attempt else [])
        if not move.attempt and (now + move.wait_s <= last_attempt or now < final_look):
            read_at.pop(n, None)  # it will read the line again when it wakes, as Turns.delay does
            wake = now + move.wait_s if now + move.wait_s <= final_look or now >= final_look else final_look
            heapq.heappush(queue, (wake, n, False))
            continue
        wait = (
            move.wait_s if move.attempt else max(last_attempt - now - pacing.LAST_TRY_MARGIN_S, 0.0)
        )  # as Turns.delay
        if not aws.gives_up(now, wait, aws.COGNITO.attempt_s, calls_end[n]):
            heapq.heappush(queue, (now + wait, n, True))
        else:
            gave_up[n] = now
            gone[n] = (leases.pop(n), now)
    return Result(
        [
            Outcome(
                w,
                began[n],
                succeeded_at=succeeded.get(n),
                gave_up_at=gave_up.get(n),
                attempts=attempts[n],
                accepted_at=accepted.get(n),
                readings=readings[n],
            )
            for n, w in enumerate(writers)
        ]
    )


def last_write(taken: list[tuple[Lease, float, float]], mine: Lease, now: float, lag_s: float) -> float | None:
    """When Cognito last took a write in the pool of `mine`, of a writer ahead, as the queue index
    shows it at `now`: `taken` holds each write's lease, its moment, and when the write that gave
    the lease back recorded that moment, which the index shows `lag_s` later."""
    shown = [
        at
        for lease, at, recorded in taken
        if lease.pool == mine.pool and lease.began <= mine.began and recorded + lag_s <= now
    ]
    return max((at for at in shown if at > now - pacing.RECENT_WRITE_S), default=None)


def mark_stale(dead: dict[int, Lease], mine: Lease, now: float) -> None:
    """As Turns does when the line stalls: the leases that stood still ahead in its pool are marked
    stale, and the line counts them no more, for every writer."""
    for key, lease in list(dead.items()):
        if lease.began < mine.began and lease.pool == mine.pool:
            dead[key] = lease._replace(writes_until=now)


def indexed(
    leases: dict[int, Lease], gone: dict[int, tuple[Lease, float]], now: float, lag_s: float
) -> dict[int, Lease]:
    """The leases the queue index shows at `now`, `lag_s` behind the table: those there for at
    least that long, and those given back less than that long ago."""
    if lag_s <= 0:
        return leases
    shown = {n: lease for n, lease in leases.items() if lease.began + lag_s <= now}
    shown.update({n: lease for n, (lease, at) in gone.items() if at + lag_s > now and lease.began + lag_s <= now})
    return shown


def line_ahead(leases: dict[int, Lease], mine: Lease, now: float) -> pacing.Line:
    """What Ledger.line_ahead counts, from the simulation's leases."""
    ahead = [lease for lease in leases.values() if lease.began < mine.began and lease.writes_until > now]
    return pacing.Line(sum(lease.pool == mine.pool for lease in ahead), len(ahead))


def at_once(count: int, *, pools: int = 1, budget_s: float = 900.0) -> list[Writer]:
    """`count` creates released together, as CloudFormation starts independent resources."""
    return [Writer(pool=f"pool-{n % pools}", arrives=0.0, budget_s=budget_s) for n in range(count)]


def rate_floor(count: int, rate: float = pacing.POOL_RATE) -> float:
    """The shortest makespan the rate allows: the first write at once, then one every 1/rate."""
    return (count - 1) / rate


def median_wait(result: Result) -> float:
    return statistics.median(o.wait for o in result.outcomes)
