"""Time: every AWS call a request makes, retries included, ends before the Lambda deadline.

The time is split from the end. The answer's PUT gets the last ANSWER_RESERVE_S; saving the
answer for a repeated delivery gets the STORE_RESERVE_S before that; Cognito, and the one
CloudFormation read, get everything before. So a server made near the deadline is still
answered for by the request that made it, never left to crhelper's timer.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.retries import standard

logger = logging.getLogger(__name__)

ANSWER_RESERVE_S = 2.0
# One DynamoDB attempt: replay.py's client connects within 1 s and reads within 1 s.
STORE_RESERVE_S = 2.0


class Budget:
    """One request's time, from the Lambda context."""

    def __init__(self) -> None:
        self.end = math.inf

    def start(self, remaining_ms: int) -> None:
        self.end = time.monotonic() + remaining_ms / 1000

    def calls_end(self) -> float:
        """When the last Cognito or CloudFormation attempt must have ended."""
        return self.end - ANSWER_RESERVE_S - STORE_RESERVE_S

    def store_end(self) -> float:
        """When saving the answer must have ended."""
        return self.end - ANSWER_RESERVE_S


class OutOfTime(Exception):
    """No attempt may start that could outlive the time left for it."""


def bounded_client(service: str, retries: RetryPolicy, connect_timeout_s: float, read_timeout_s: float) -> Any:
    """A client of boto3's default session, in standard retry mode, whose calls `retries` bounds.
    The default session's, as a session of its own loads botocore's data again (`make bench`)."""
    config = Config(retries={"mode": "standard"}, connect_timeout=connect_timeout_s, read_timeout=read_timeout_s)
    client = boto3.client(cast("Any", service), config=config)  # boto3-stubs type each service's own name
    retries.attach(client)
    return client


class RetryPolicy:
    """botocore's standard retry mode, bounded by a deadline, changed in one place.

    - No attempt starts, and no backoff is slept, that could outlive `deadline()`.
    - Codes in `never_retried` are not retried.
    - With `pace_throttling`, throttling is retried after short jittered waits (below).

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

    THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})
    # Cognito allows 5 writes/s per user pool, and CloudFormation creates sibling resources at
    # once. botocore's backoff for throttling (full jitter, 1 s doubling to 20 s) leaves that rate
    # idle: 25 creates in one pool spread over a median 17.6 s, against the 4.8 s the cap allows.
    # Full jitter capped at 0.75 s keeps a request ready for each free slot (`make bench`).
    THROTTLED_BASE_S = 0.25
    THROTTLED_CAP_S = 0.75

    def __init__(
        self,
        deadline: Callable[[], float],
        never_retried: frozenset[str] = frozenset(),
        pace_throttling: bool = False,
    ) -> None:
        self.deadline = deadline
        self.attempt_s = math.inf  # the longest one attempt can take: the client's connect and read timeouts
        self.never_retried = never_retried
        self.pace_throttling = pace_throttling
        self.in_doubt = False  # True once an attempt was sent and its outcome is unknown
        self.lost_until = 0.0  # when every attempt whose answer was lost has had time to land
        self._sent_at = 0.0
        self._client: Any = None
        self._standard: Any = None

    def attach(self, client: Any) -> None:
        self._client = client
        config = client.meta.config
        self.attempt_s = float(config.connect_timeout) + float(config.read_timeout)
        max_attempts = config.retries.get("total_max_attempts", standard.DEFAULT_MAX_ATTEMPTS)
        self._standard = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=max_attempts),
            retry_backoff=standard.ExponentialBackoff(),
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
        if lost:
            # Sent, unanswered, and still able to act: give it as long again as an attempt takes.
            self.lost_until = max(self.lost_until, self._sent_at + 2 * self.attempt_s)
        if lost or (status or 0) >= 500:
            self.in_doubt = True  # sent, and the service may have acted on it
        if caught_exception is None and status is not None and status < 300:
            return None
        if code in self.never_retried:
            self._stop(response, attempts, caught_exception, operation)
        if self.pace_throttling and code in self.THROTTLING:
            ceiling = min(self.THROTTLED_BASE_S * 2 ** (attempts - 1), self.THROTTLED_CAP_S)
            delay = random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret
        else:
            context = standard.RetryEventAdapter().create_retry_context(
                response=response, attempts=attempts, caught_exception=caught_exception, operation=operation, **kwargs
            )
            if not self._standard.should_retry(context):
                return None  # standard mode, answering after this, finds the same
            delay = float(self._standard.compute_retry_delay(context))
        if time.monotonic() + delay + self.attempt_s > self.deadline():
            self._stop(response, attempts, caught_exception, operation)
        return delay

    def before_send(self, **_: Any) -> None:
        now = time.monotonic()
        if now + self.attempt_s > self.deadline():
            raise OutOfTime
        self._sent_at = now

    @contextmanager
    def settling(self) -> Iterator[None]:
        """Around a write: its attempts whose answers were lost may still act, seconds later.
        Wait them out before the request goes on, so that nothing it sent acts after its
        answer, when a rollback may already have undone what the write did."""
        self.lost_until = 0.0
        try:
            yield
        finally:
            # Short of the deadline by an attempt, so that a look at what landed still fits.
            wait = min(self.lost_until, self.deadline() - self.attempt_s) - time.monotonic()
            if wait > 0:
                logger.info("Waiting out attempts whose answers were lost", extra={"seconds": round(wait, 2)})
                time.sleep(wait)

    def _stop(self, response: Any, attempts: int, caught_exception: Exception | None, operation: Any) -> NoReturn:
        """Raise what botocore would have raised had it stopped here itself."""
        if caught_exception is not None:
            raise caught_exception
        parsed = response[1]
        parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempts - 1
        error_class = self._client.exceptions.from_code(parsed.get("Error", {}).get("Code", ""))
        raise error_class(parsed, operation.name if operation is not None else "")
