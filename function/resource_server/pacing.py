"""Throttled Cognito writes wait their turn, in the order their requests began.

Cognito allows 5 writes/s per user pool and 15/s per account, and CloudFormation starts every
independent resource at once: a full pool is 300 writers for 5 slots a second. Jittered retries
keep those slots busy but serve writers in random order, so some wait far longer than their
place in line, and hundreds of attempts a second are refused. Every write here already holds a
lease in the ledger, taken before its first attempt (ownership.py); in the order they began, the
leases are the queue. A throttled writer reads them, works out when its turn comes at
Cognito's rates, and sleeps until then, looking again every RECHECK_S as the line moves.
Writers that are not ours share Cognito's rate too; a writer whose turn came and was still
refused simply looks again. If the ledger can't be read, it falls back to jittered retries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .deadline import Pacing

logger = logging.getLogger(__name__)

POOL_RATE = 5.0  # writes a second per user pool (Cognito's quota)
ACCOUNT_RATE = 15.0  # writes a second per account, across its pools
# The first writers in line try with jitter; the rest sleep until close to their turn.
ATTEMPT_WINDOW = 2
RECHECK_S = 2.0


@dataclass(frozen=True)
class Lease:
    """A request that may write to Cognito: its place in the queue."""

    holder: str  # the delivery that holds it
    pool: str
    began: float  # seconds since the epoch: the queue's order
    writes_until: float  # seconds since the epoch: it makes no Cognito write after this

    def order(self) -> tuple[float, str]:
        return (self.began, self.holder)


def wait_for_turn(leases: Iterable[Lease], mine: Lease, now: float) -> float:
    """Seconds from `now` until `mine` can expect a free slot, in its pool and in the account,
    if every writer ahead of it that can still write takes one slot first."""
    ahead = sorted((lease for lease in leases if lease.order() < mine.order()), key=Lease.order)
    pool_turn = account_turn = now
    for lease in ahead:
        if lease.writes_until <= max(pool_turn, account_turn):
            continue  # it will have given up before its turn
        account_turn += 1 / ACCOUNT_RATE
        if lease.pool == mine.pool:
            pool_turn += 1 / POOL_RATE
    return max(pool_turn, account_turn) - now


class Turns(Pacing):
    """Pacing for Cognito's writes: a turn in the queue of leases, when the ledger can say."""

    def __init__(
        self,
        leases: Callable[[], list[Lease] | None],
        mine: Callable[[], Lease | None],
        *,
        epoch: Callable[[float], float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self._leases = leases  # every lease held now, or None when they can't be read
        self._mine = mine  # this request's lease, or None when it holds none
        self._epoch = epoch  # a monotonic moment in seconds since the epoch, as leases count time
        self._clock = clock
        self._sleep = sleep

    def delay(self, attempts: int, now: float, deadline: float) -> float:
        slot = 1 / POOL_RATE
        while (mine := self._mine()) is not None and (leases := self._leases()) is not None:
            wait = wait_for_turn(leases, mine, self._epoch(now))
            if wait < slot / 2:
                # None of ours ahead, yet refused: the last writer took the slot, or writers not
                # ours share the pool. Try again within a slot, then back off, as jitter does.
                return self.rng.uniform(0, min(slot * 2 ** max(attempts - 2, 0), self.CAP_S))
            if wait <= ATTEMPT_WINDOW * slot:
                return self.rng.uniform(0, slot)
            step = min(wait - slot, RECHECK_S)
            if now + step > deadline:
                return step  # past the last attempt: the caller stops
            logger.debug("Waiting for this write's turn", extra={"seconds": round(wait, 2)})
            self._sleep(step)
            now = self._clock()
        return super().delay(attempts, now, deadline)
