"""The one way this provider makes an AWS client, and what every call shares: timeouts, botocore's
standard retries bounded by the request's time, writes whose outcome is in doubt, error codes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, NoReturn, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from botocore.retries import standard

from .clock import CLOCK
from .pacing import Pacing

logger = logging.getLogger(__name__)


class Timeouts(NamedTuple):
    """How long one attempt of a call may take: an attempt that takes longer is lost."""

    connect_s: float
    read_s: float

    @property
    def attempt_s(self) -> float:
        return self.connect_s + self.read_s


# Cognito and CloudFormation answer in well under a second; a DynamoDB item read or write, in milliseconds.
COGNITO = Timeouts(1.0, 3.0)
CLOUDFORMATION = Timeouts(1.0, 3.0)
DYNAMODB = Timeouts(1.0, 0.5)


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
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.deadline = deadline
        self.attempt_s = math.inf  # the longest one attempt can take: the client's connect and read timeouts
        self.never_retried = never_retried
        self.until_deadline = until_deadline
        self.attempted_once = attempted_once
        # Calls that can't act: inside writing(), their lost answers are not waited out, and their
        # answers are no write taken (Pacing.taken).
        self.reads = reads
        self.pacing = pacing or Pacing()
        self.clock = clock or CLOCK.monotonic
        self.sleep = sleep or CLOCK.sleep
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
        """0 to retry, after sleeping out the delay on the provider's clock, or None not to retry;
        raises the last error to stop a retry that standard mode, answering after this, would take."""
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
            if self.write is not None and name not in self.reads:
                self.pacing.taken(self._sent_at, self.clock())  # when the next slot opens (pacing.py)
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
        # Slept here, on the provider's clock, rather than by botocore: every wait reads one clock.
        self.sleep(delay)
        return 0.0

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


def client(service: str, retries: RetryPolicy, timeouts: Timeouts, **config: Any) -> Any:
    """The one way this provider makes an AWS client: from boto3's default session, in standard
    retry mode, with `retries` bounding its calls. The default session's, as a session of its
    own loads botocore's data again (`make bench`)."""
    settings = Config(
        retries={"mode": "standard"}, connect_timeout=timeouts.connect_s, read_timeout=timeouts.read_s, **config
    )
    made = boto3.client(cast("Any", service), config=settings)  # boto3-stubs type each service's own name
    retries.attach(made)
    return made


class Tables(NamedTuple):
    """The provider's one DynamoDB client, for the ledger and the answers store, and the policy
    that bounds its calls. One client, not one each: each took about 4 ms of init (`make bench`)."""

    client: Any
    retries: RetryPolicy


# The line of writers (the ledger's `line_ahead`) is only read to pace a throttled write, which
# can pace itself without it: a Query gets one attempt. Retried, a slow or throttled ledger held
# writers in their reads, their turns passing unused, and each retry loaded it more.
QUERIED_ONCE = frozenset({"Query"})
TABLE_READS = frozenset({"GetItem", "Query", "DescribeTable"})


def tables(deadline: Callable[[], float]) -> Tables:
    """The shared DynamoDB client. Every call but the line's Query may be repeated until the
    deadline: reads; the ledger's conditional writes, whose retry finds its own token if the
    first landed; the answers store's, whose retry finds its own record (replay.py)."""
    retries = RetryPolicy(deadline, attempted_once=QUERIED_ONCE, reads=TABLE_READS)
    return Tables(client("dynamodb", retries, DYNAMODB), retries)


def code(error: Exception) -> str:
    """A service error's code, such as ConditionalCheckFailedException; "" for any other error."""
    return str(error.response.get("Error", {}).get("Code", "")) if isinstance(error, ClientError) else ""


def message(error: Exception) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) if isinstance(error, ClientError) else ""
