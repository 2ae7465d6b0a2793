"""Time: every AWS call a request makes, retries included, ends before the request's deadline.

A request's deadline is the earlier of the Lambda deadline and the moment CloudFormation stops
waiting for it (the ResponseURL's signing time plus the resource's ServiceTimeout). The time is
split from the end. The answer's PUT gets the last ANSWER_RESERVE_S; the last ledger write and
saving the answer get the STORE_RESERVE_S before that; Cognito and the reads that decide get
everything before. So a server made near the deadline is still answered for by the request that
made it, never left to crhelper's timer.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.retries import standard

logger = logging.getLogger(__name__)

# The answer's PUT to S3 takes a few hundred milliseconds; this leaves room for a retry.
ANSWER_RESERVE_S = 1.5
# One DynamoDB attempt (1 s to connect, 0.5 s to read) for the last ledger write; saving the
# answer gets what is left, and crhelper's timer sends the answer should that run out.
STORE_RESERVE_S = 2.0
# The shortest Lambda Timeout that leaves time for a call: the reserves, and one Cognito attempt.
MIN_TIMEOUT_S = 10


class Budget:
    """One request's time. Monotonic seconds, but for `epoch()`, which leases share across processes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.end = math.inf
        self.deciding = False  # working out the answer, up to the ledger's last write

    def start(self, remaining_ms: int, not_after_epoch: float | None = None) -> None:
        """From the Lambda context's remaining time and, when known, when CloudFormation stops waiting."""
        now = self._clock()
        self.end = now + remaining_ms / 1000
        if not_after_epoch is not None:
            self.end = min(self.end, now + not_after_epoch - time.time())

    def calls_end(self) -> float:
        """When the last Cognito, CloudFormation or ledger-read attempt must have ended."""
        return self.end - ANSWER_RESERVE_S - STORE_RESERVE_S

    def store_end(self) -> float:
        """When the last ledger write and saving the answer must have ended."""
        return self.end - ANSWER_RESERVE_S

    @contextmanager
    def deciding_answer(self) -> Iterator[None]:
        """Around working out the answer: its calls to the tables end with the calls that decide,
        until `finish()`."""
        self.deciding = True
        try:
            yield
        finally:
            self.deciding = False

    def finish(self) -> None:
        """The ledger's last write begins: it may use the store's reserve."""
        self.deciding = False

    def tables_end(self) -> float:
        """When a call to the ledger or the answers store must have ended: with the calls that
        decide while the answer is worked out; else, as the answers store's record before it and
        its saving after, with the store's reserve."""
        return self.calls_end() if self.deciding else self.store_end()

    def left(self) -> float:
        return self.end - self._clock()

    def epoch(self, monotonic: float) -> float:
        """A moment of this budget, in seconds since the epoch."""
        return time.time() + monotonic - self._clock()


class OutOfTime(Exception):
    """No attempt may start that could outlive the time left for it."""


class Everything:
    """A Container holding every operation name."""

    def __contains__(self, _item: object) -> bool:
        return True


EVERY_OPERATION = Everything()


class Write:
    """One write call's attempts: whether the service may have acted on one whose answer was lost."""

    def __init__(self) -> None:
        self.in_doubt = False  # an attempt was sent and its outcome is unknown
        self.lost_until = 0.0  # when every attempt whose answer was lost has had time to land


class Pacing:
    """When a throttled call tries again. The default: short jittered waits (below). `pacing.py`
    gives Cognito's writes a turn in the queue the ledger's leases form instead."""

    # botocore's backoff for throttling (full jitter, 1 s doubling to 20 s) leaves Cognito's
    # 5 writes/s per pool idle: 25 creates spread over 17.6 s against the 4.8 s the cap allows.
    BASE_S = 0.25
    CAP_S = 0.75

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not a secret

    def delay(self, attempts: int, now: float, deadline: float, round_trip_s: float = 0.0) -> float:
        """Seconds before the next attempt; `round_trip_s`: how long the refused one took."""
        return self.rng.uniform(0, min(self.BASE_S * 2 ** (attempts - 1), self.CAP_S))


def gives_up(now: float, delay: float, attempt_s: float, deadline: float) -> bool:
    """The give-up rule: no retry whose attempt could not finish before the deadline."""
    return now + delay + attempt_s > deadline


class RetryPolicy:
    """botocore's standard retry mode, bounded by a deadline, changed in one place.

    - No attempt starts, and no backoff is slept, that could outlive `deadline()`.
    - Throttling is retried until then, paced by `pacing`.
    - Server errors and lost connections are retried until then for the operations in
      `until_deadline` (reads, and writes that are safe to repeat); others follow standard mode.
    - Codes in `never_retried` are not retried; a denial or a missing thing is final.
    - Operations in `attempted_once` are not retried at all, throttled or not.

    Three flaws of botocore are patched here, in its needs-retry event, which this policy
    answers first, so its answer is the one botocore takes:
    - Before botocore 1.43.3, any answer but None is a delay in seconds, so False meant "retry at
      once"; the Lambda runtime's own SDK may be that old. This policy stops by raising the last
      error instead, which every version treats alike.
    - Standard mode's retry quota belongs to the client and outlives the request: in a warm
      Lambda, the failures of earlier requests would leave later ones without retries, and a
      stack's rollback could fail on one timeout. This policy asks standard mode's own
      conditions and backoff (botocore.retries.standard), without the quota.
    - Standard mode counts LimitExceededException as throttling; see `never_retried`.
    """

    THROTTLING = frozenset(
        {
            "TooManyRequestsException",
            "ThrottlingException",
            "Throttling",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
        }
    )
    TRANSIENT_BACKOFF_CAP_S = 5.0

    def __init__(
        self,
        deadline: Callable[[], float],
        *,
        never_retried: frozenset[str] = frozenset(),
        until_deadline: Container[str] = EVERY_OPERATION,
        attempted_once: frozenset[str] = frozenset(),
        reads: frozenset[str] = frozenset(),
        pacing: Pacing | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.deadline = deadline
        self.attempt_s = math.inf  # the longest one attempt can take: the client's connect and read timeouts
        self.never_retried = never_retried
        self.until_deadline = until_deadline
        self.attempted_once = attempted_once
        self.reads = reads  # calls that can't act: inside writing(), their lost answers are not waited out
        self.pacing = pacing or Pacing()
        self.clock = clock
        self.sleep = sleep
        self.write: Write | None = None  # the write call in progress, if any
        self._sent_at = 0.0
        self._client: Any = None
        self._standard: Any = None
        self._backoff = standard.ExponentialBackoff()

    def attach(self, client: Any) -> None:
        self._client = client
        config = client.meta.config
        self.attempt_s = float(config.connect_timeout) + float(config.read_timeout)
        max_attempts = config.retries.get("total_max_attempts", standard.DEFAULT_MAX_ATTEMPTS)
        self._standard = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=self._backoff,
        )
        service = client.meta.service_model.service_id.hyphenize()
        events = client.meta.events
        # botocore-stubs type handlers as returning None, but botocore reads a needs-retry handler's result.
        events.register_first(f"needs-retry.{service}", cast("Callable[..., None]", self.needs_retry))
        events.register_first(f"before-send.{service}", self.before_send)

    def needs_retry(
        self,
        response: Any = None,
        attempts: int = 1,
        caught_exception: Exception | None = None,
        operation: Any = None,
        **kwargs: Any,
    ) -> float | None:
        """A delay to retry after, or None not to retry; raises the last error to stop a retry
        that standard mode, answering after this, would take."""
        status = response[0].status_code if response is not None else None
        code = response[1].get("Error", {}).get("Code") if response is not None else None
        lost = isinstance(caught_exception, ReadTimeoutError | ConnectionClosedError)
        name = operation.name if operation is not None else ""
        if self.write is not None and name not in self.reads:
            if lost:
                # Sent, unanswered, and still able to act: give it as long again as an attempt takes.
                self.write.lost_until = max(self.write.lost_until, self._sent_at + 2 * self.attempt_s)
            if lost or (status or 0) >= 500:
                self.write.in_doubt = True  # sent, and the service may have acted on it
        if caught_exception is None and status is not None and status < 300:
            return None
        if code in self.never_retried or name in self.attempted_once:
            self._stop(response, attempts, caught_exception, operation)
        if code in self.THROTTLING:
            now = self.clock()
            delay = self.pacing.delay(attempts, now, self.deadline() - self.attempt_s, now - self._sent_at)
        else:
            context = standard.RetryEventAdapter().create_retry_context(
                response=response, attempts=attempts, caught_exception=caught_exception, operation=operation, **kwargs
            )
            transient = lost or isinstance(caught_exception, EndpointConnectionError) or (status or 0) >= 500
            if transient and name in self.until_deadline:
                delay = min(float(self._backoff.delay_amount(context)), self.TRANSIENT_BACKOFF_CAP_S)
            elif self._standard.should_retry(context):
                delay = float(self._standard.compute_retry_delay(context))
            else:
                return None  # standard mode, answering after this, finds the same
        if gives_up(self.clock(), delay, self.attempt_s, self.deadline()):
            self._stop(response, attempts, caught_exception, operation)
        return delay

    def before_send(self, **_: Any) -> None:
        now = self.clock()
        if now + self.attempt_s > self.deadline():
            raise OutOfTime
        self._sent_at = now

    @contextmanager
    def writing(self) -> Iterator[Write]:
        """Around a write: its attempts whose answers were lost may still act, seconds later.
        Wait them out before the request goes on, so that nothing it sent acts after its
        answer, when a rollback may already have undone what the write did."""
        write = self.write = Write()
        try:
            yield write
        finally:
            self.write = None
            # Short of the deadline by an attempt, so that a look at what landed still fits.
            wait = min(write.lost_until, self.deadline() - self.attempt_s) - self.clock()
            if wait > 0:
                logger.info("Waiting out attempts whose answers were lost", extra={"seconds": round(wait, 2)})
                self.sleep(wait)

    def _stop(self, response: Any, attempts: int, caught_exception: Exception | None, operation: Any) -> NoReturn:
        """Raise what botocore would have raised had it stopped here itself."""
        if caught_exception is not None:
            raise caught_exception
        parsed = response[1]
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempts - 1
        error_class = self._client.exceptions.from_code(parsed.get("Error", {}).get("Code", ""))
        raise error_class(parsed, operation.name if operation is not None else "")


def client(service: str, retries: RetryPolicy, connect_timeout_s: float, read_timeout_s: float, **config: Any) -> Any:
    """The one way this provider makes an AWS client: from boto3's default session, in standard
    retry mode, with `retries` bounding its calls. The default session's, as a session of its
    own loads botocore's data again (`make bench`)."""
    settings = Config(
        retries={"mode": "standard"}, connect_timeout=connect_timeout_s, read_timeout=read_timeout_s, **config
    )
    made = boto3.client(cast("Any", service), config=settings)  # boto3-stubs type each service's own name
    retries.attach(made)
    return made
