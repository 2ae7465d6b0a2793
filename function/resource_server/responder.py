"""crhelper, for what it does well, with each of its flaws patched here and nowhere else.

crhelper (pinned to 2.0.12, whose internals these overrides follow) dispatches each request
to one function per request type, and answers from a timer before the Lambda deadline. The
function returns the request's Answer, or None when another delivery answers; delivery.py
sends it, once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from crhelper import resource_helper
from crhelper.resource_helper import CfnResource

from . import event
from .budget import ANSWER_RESERVE_S
from .clock import CLOCK
from .delivery import Answer, Progress, failed_physical_id, minimal, payload, send
from .event import Envelope

logger = logging.getLogger(__name__)


class _NoPollingClients:
    """Stands in for boto3 while crhelper's constructor runs."""

    @staticmethod
    def client(*_args: object, **_kwargs: object) -> None:
        return None


class Responder(CfnResource):
    # crhelper's own state, which its type stubs leave out.
    _event: dict[str, Any]
    _context: Any
    _sam_local: str | None

    def __init__(self, log_level: int) -> None:
        # Flaw: CfnResource() creates lambda, events and logs clients for polling, which this
        # provider never uses: about +25% cold start. Hide boto3 from its constructor instead.
        crhelper_globals = vars(resource_helper)
        real_boto3 = crhelper_globals["boto3"]
        crhelper_globals["boto3"] = _NoPollingClients
        try:
            # Flaw: crhelper sleeps 120 s on every Delete (sleep_on_delete), holding every stack delete.
            super().__init__(log_level=logging.getLevelName(log_level), boto_level="ERROR", sleep_on_delete=0)
        finally:
            crhelper_globals["boto3"] = real_boto3
        # Flaw: crhelper logs the whole event, and with it the ResponseURL, at DEBUG, and sets its
        # logger's level on every call. Anyone holding that URL can answer for the stack.
        logging.getLogger("crhelper").setLevel(max(log_level, logging.INFO))
        self._lock = threading.Lock()
        self._answered = False
        self._answer: Answer | None = None
        self._silent = False  # the function returned None: another delivery answers
        self._envelope = event.envelope({})
        self._progress = Progress()
        self._deadline = 0.0
        # What the timer's answer is handed to once sent: kept, so that a later delivery of the
        # request (Lambda retries the invocation it is about to kill) gets it too.
        self.on_timeout: Callable[[Answer], None] = lambda _answer: None

    def start(self, envelope: Envelope, progress: Progress, deadline: float) -> None:
        """A new request: it answers from `envelope`; `progress` is what its work has settled so
        far, for the timer; `deadline` (time.monotonic()) is when the answer must have arrived."""
        self._answered, self._answer, self._silent = False, None, False
        self._envelope, self._progress, self._deadline = envelope, progress, deadline

    def respond(self, raw_event: Any, context: Any) -> None:
        """Answer the request started: crhelper alone reads the raw event."""
        envelope = self._envelope
        if envelope.response_url is None:
            logger.error("Event has no https ResponseURL; there is nowhere to answer")
            return
        # Flaw: crhelper reads the envelope before any of our code and, when it can't, retries
        # an answer to an empty URL forever. Answer a malformed envelope here instead.
        if envelope.problem:
            self._deliver(Answer.failed(failed_physical_id(envelope), envelope.problem))
            return
        super().__call__(raw_event, context)

    def _wrap_function(self, func: Callable[[Any, Any], Answer | None] | None) -> None:
        # Flaw: crhelper logs every failure with a traceback, and drops the physical id a failure
        # needs. The function returns the whole answer instead; a bug of ours still gets one.
        try:
            self._answer = func(self._event, self._context) if func else None
            self._silent = self._answer is None
        except Exception as error:
            logger.exception("Unexpected error")
            reason = f"Internal error in the provider: {type(error).__name__}: {error}"
            self._answer = Answer.failed(failed_physical_id(self._envelope, self._progress.names), reason)
        # Keeps crhelper from generating an id of its own, which it would log and never send.
        self.PhysicalResourceId = self._answer.physical_id if self._answer else "-"

    def _set_timeout(self) -> None:
        # Flaw: crhelper's timer fires half a second before the Lambda deadline, which under a
        # ServiceTimeout shorter than the Lambda Timeout is after CloudFormation stopped waiting.
        # It fires when the request's own time leaves only the answer's PUT, should the work stall
        # where no budget reaches (DNS is outside botocore's timeouts).
        lambda_deadline = self._context.get_remaining_time_in_millis() / 1000 - 0.5
        fire_in = min(self._deadline - ANSWER_RESERVE_S - CLOCK.monotonic(), lambda_deadline)
        self._timer = CLOCK.timer(max(fire_in, 0.0), self._timeout)

    def _timeout(self) -> None:
        # Flaw: crhelper's timer answers "Execution timed out" with whatever physical id it has,
        # often none, which CloudFormation shows as "Invalid PhysicalResourceId". It sends the
        # outcome instead, once known, and else names what the request may have made.
        answer = self._progress.answer
        if answer is None:
            reason = "Timed out: the provider did not finish before the Lambda deadline"
            if self._progress.names is not None and self._envelope.request_type == "Create":
                reason += f"; this id names {self._progress.names}, which the request may have made, for the rollback"
            logger.error(reason)
            answer = Answer.failed(failed_physical_id(self._envelope, self._progress.names), reason)
        else:
            logger.warning("Out of time while saving the answer; sending it now")
        remaining = self._context.get_remaining_time_in_millis() / 1000
        if self._deliver(answer, CLOCK.monotonic() + remaining):
            self.on_timeout(answer)

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        # Flaw: crhelper's timer and its main path can both answer, and it builds the body from
        # fields it defaulted on its own. CloudFormation must get one answer: the function's.
        if self._silent:
            logger.info("Another delivery of this request answers; staying silent")
            return
        # crhelper answers without calling the function when its own set-up for the request failed.
        why = f"Internal error in crhelper before the request ran: {reason or self.Reason}"
        self._deliver(self._answer or Answer.failed(failed_physical_id(self._envelope, self._progress.names), why))

    def _deliver(self, answer: Answer, deadline: float | None = None) -> bool:
        """Send the request's one answer; False when one was sent already."""
        with self._lock:
            if self._answered:
                logger.warning("An answer was already sent; not sending another")
                return False
            self._answered = True
        try:
            encoded = payload(answer, self._envelope)
        except Exception:  # a bug of ours must not leave CloudFormation waiting out ServiceTimeout
            logger.exception("Could not build the answer; sending a minimal FAILED one")
            encoded = minimal(answer.physical_id or failed_physical_id(self._envelope), self._envelope)
        url = self._envelope.response_url
        assert url is not None  # respond() answers nothing without one
        # Under `sam local invoke` no stack waits for the answer, and the event's URL is a sample: try once.
        send(url, encoded, deadline or self._deadline, once=bool(self._sam_local))
        return True
