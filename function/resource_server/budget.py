"""A request's time: split from its end, so that every AWS call, retries included, ends before
the request's deadline, and a request too short to make any call is told so.

A request's deadline is the earlier of the Lambda deadline and the moment CloudFormation stops
waiting for it (the ResponseURL's signing time plus the resource's ServiceTimeout). The answer's
PUT gets the last ANSWER_RESERVE_S; the last ledger write and saving the answer get the
STORE_RESERVE_S before that; Cognito and the reads that decide get everything before. So a server
made near the deadline is still answered for by the request that made it, never left to
crhelper's timer.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .aws import COGNITO, DYNAMODB
from .clock import CLOCK

# The answer's PUT to S3 takes a few hundred milliseconds; this leaves room for a retry.
ANSWER_RESERVE_S = 1.5
# One DynamoDB attempt (1 s to connect, 0.5 s to read) for the last ledger write; saving the
# answer gets what is left, and crhelper's timer sends the answer should that run out.
STORE_RESERVE_S = 2.0
# The shortest Lambda Timeout that leaves time for a call: the reserves, and one Cognito attempt.
MIN_TIMEOUT_S = 10


class Budget:
    """One request's time. Monotonic seconds, but for `epoch()`, which leases share across processes."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or CLOCK.monotonic
        self.end = math.inf
        self.lambda_end = math.inf  # the Lambda deadline, which `end` never passes
        self.too_short = False  # no request could succeed in the time it was given
        self._scope = threading.local()  # see tables_end()

    def start(self, remaining_ms: int, not_after_epoch: float | None = None) -> None:
        """From the Lambda context's remaining time and, when known, when CloudFormation stops waiting."""
        now = self._clock()
        self.end = self.lambda_end = now + remaining_ms / 1000
        if not_after_epoch is not None:
            self.end = min(self.end, now + not_after_epoch - CLOCK.time())
        # Room for the answer, one ledger write and one Cognito attempt: with less, no request could succeed.
        needed = ANSWER_RESERVE_S + STORE_RESERVE_S + DYNAMODB.attempt_s + COGNITO.attempt_s
        self.too_short = remaining_ms / 1000 < min(needed, MIN_TIMEOUT_S)

    def calls_end(self) -> float:
        """When the last Cognito, CloudFormation or ledger-read attempt must have ended."""
        return self.end - ANSWER_RESERVE_S - STORE_RESERVE_S

    def store_end(self) -> float:
        """When the last ledger write and saving the answer must have ended."""
        return self.end - ANSWER_RESERVE_S

    def tables_end(self) -> float:
        """When a call to the ledger or the answers store must have ended: with the store's reserve
        for the answers store's own calls, before the answer is worked out and after; with the calls
        that decide while it is worked out (deciding_answer), but for the ledger's last write on a
        record (last_write)."""
        end: Callable[[], float] = getattr(self._scope, "tables_end", self.store_end)
        return end()

    @contextmanager
    def deciding_answer(self) -> Iterator[None]:
        with self.tables_until(self.calls_end):
            yield

    @contextmanager
    def last_write(self) -> Iterator[None]:
        with self.tables_until(self.store_end):
            yield

    @contextmanager
    def tables_until(self, end: Callable[[], float]) -> Iterator[None]:
        """The tables' calls made by this thread inside this scope end at `end()`. Per thread:
        crhelper's timer keeps its answer from a thread of its own while the request's runs on."""
        outer = getattr(self._scope, "tables_end", self.store_end)
        self._scope.tables_end = end
        try:
            yield
        finally:
            self._scope.tables_end = outer

    def left(self) -> float:
        return self.end - self._clock()

    def epoch(self, monotonic: float) -> float:
        """A moment of this budget, in seconds since the epoch."""
        return CLOCK.time() + monotonic - self._clock()
