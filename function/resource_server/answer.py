"""6. The answer: crhelper sends it, with its flaws patched here and nowhere else.

crhelper (pinned to 2.0.12, whose internals these overrides follow) keeps doing what
it does well: dispatch to one function per request type, reset its state between
warm invocations, default the physical id, and answer from a timer before the Lambda
deadline. Each override below names the crhelper flaw it patches.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger
from crhelper import resource_helper
from crhelper.resource_helper import FAILED, SUCCESS, CfnResource

from .event import ENVELOPE_LIMITS, can_answer, clipped, envelope_problem, physical_id_of
from .failure import REASON_ROOM, DuplicateInFlight, RequestFailed

logger = logging.getLogger(__name__)

# CloudFormation fails the resource with "Response object is too long." past this.
MAX_ANSWER_BYTES = 4096
# The answer's last attempt must end this long before the Lambda deadline.
DEADLINE_MARGIN_S = 0.25
PUT_TIMEOUT_S = 5.0
FAILED_CREATE_MARKER = "NotCreated"  # no "|", so it never parses as {pool}|{identifier}
ENVELOPE_IDS = ("LogicalResourceId", "RequestId")
_PLAIN = re.compile(r"[^\w-]", re.ASCII)  # what a marker id keeps of them


@dataclass(frozen=True)
class Answer:
    """What a request answers: SUCCESS with outputs, or FAILED with a reason."""

    physical_id: str
    data: dict[str, str] = field(default_factory=dict)
    failure: str | None = None  # the Reason of a FAILED answer

    @classmethod
    def failed(cls, failure: RequestFailed) -> Answer:
        # The one log line of a failure: every problem, where the reason may only have room for some.
        logger.warning("Request failed", extra={"reason": failure.reason, "problems": list(failure.details)})
        return cls(failure.physical_id or "", {}, failure.reason)

    def physical_id_or_raise(self) -> str:
        """For crhelper: the physical id of a SUCCESS, or the failure it answers FAILED."""
        if self.failure is not None:
            raise RequestFailed(self.failure, self.physical_id or None)
        return self.physical_id


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

    def __init__(self, log: Logger, names_server: Callable[[], object] = lambda: None) -> None:
        """`names_server` names the server a Create's answer must carry, if any: one the request
        made, or one whose CreateResourceServer may have landed."""
        self._names_server = names_server
        # Flaw: CfnResource() creates lambda, events and logs clients for polling, which this
        # provider never uses: about +25% cold start. Hide boto3 from its constructor instead.
        crhelper_globals = vars(resource_helper)
        real_boto3 = crhelper_globals["boto3"]
        crhelper_globals["boto3"] = _NoPollingClients
        try:
            # sleep_on_delete=0: crhelper's 120 s default sleep would hold every stack delete.
            super().__init__(log_level=logging.getLevelName(log.log_level), boto_level="ERROR", sleep_on_delete=0)
        finally:
            crhelper_globals["boto3"] = real_boto3
        # Flaw: crhelper logs the whole event, and with it the ResponseURL, at DEBUG.
        # Anyone holding that pre-signed URL can answer for the stack, so its DEBUG never shows.
        logging.getLogger("crhelper").setLevel(max(log.log_level, logging.INFO))
        self._answer_lock = threading.Lock()
        self._committed: Answer | None = None  # the one answer this request gets, once chosen
        self._worked_out: Answer | None = None

    def __call__(self, event: Any, context: Any) -> None:
        self._committed, self._worked_out = None, None
        if not can_answer(event):
            logger.error("Event has no https ResponseURL; there is nowhere to answer")
            return
        # Flaw: crhelper reads the envelope before any of our code and, when it can't, retries
        # an answer to an empty URL forever. Answer a malformed envelope here instead.
        problem = envelope_problem(event)
        if problem:
            self._refuse(event, context, problem)
            return
        super().__call__(event, context)

    def settle(self, answer: Answer) -> Answer:
        """Record the request's outcome as soon as it is known, for the timer to send should
        what follows (saving it) run out of time. Returns the answer CloudFormation gets: this
        one, or the timer's if that was sent first."""
        with self._answer_lock:
            if self._committed is not None:
                return self._committed
            self._worked_out = answer
            return answer

    def _wrap_function(self, func: Callable[[Any, Any], str] | None) -> None:
        # Flaw: crhelper logs every failure with a traceback, and drops the physical id a failure may need.
        try:
            self.PhysicalResourceId = func(self._event, self._context) if func else ""
        except DuplicateInFlight:
            # The delivery already in flight answers; a second answer could contradict it.
            logger.info("Another delivery of this request is being answered; staying silent")
            with self._answer_lock:
                self._committed = Answer("", {}, "another delivery answers")
        except RequestFailed as failure:  # logged where it was worked out, by Answer.failed()
            self.Status, self.Reason = FAILED, failure.reason
            self.PhysicalResourceId = failure.physical_id or ""
        except Exception as error:  # a bug of ours: keep the traceback, give CloudFormation a clean reason
            logger.exception("Unexpected error")
            self.Status, self.Reason = FAILED, f"Internal error in the provider: {type(error).__name__}: {error}"

    def generate_physical_id(self, event: Any) -> str:
        # crhelper's id for a Create answered without one, as when it failed. It names the server
        # this request made, adopted, or may have made, so that the rollback Delete finds it;
        # else a marker that names no server, so the rollback Delete leaves all alone. Unlike
        # crhelper's, it is the same on every delivery of the request.
        if named := self._names_server():
            return str(named)
        logical_id, request_id = (_PLAIN.sub("", str(event.get(key) or ""))[:128] for key in ENVELOPE_IDS)
        return f"{FAILED_CREATE_MARKER}_{logical_id or 'Resource'}_{request_id or 'unknown'}"

    def _fallback_physical_id(self) -> str:
        """The id of an answer that has none: Update and Delete keep their resource; a Create
        gets crhelper's, as generate_physical_id() makes it."""
        if self._event.get("RequestType") != "Create" and (physical_id := physical_id_of(self._event)):
            return physical_id
        return self.generate_physical_id(self._event)

    def _timeout(self) -> None:
        # Flaw: crhelper's timer answers "Execution timed out", saying nothing of what ran, with
        # whatever physical id it has, often none. The outcome, once known, is sent instead.
        with self._answer_lock:
            if self._committed is not None:
                return
            answer = self._worked_out
            if answer is None:
                reason = "Timed out: the provider did not finish before the Lambda deadline"
                named = self._names_server()
                if named and self._event.get("RequestType") == "Create":
                    reason += f"; this id names {named}, which CreateResourceServer may have made, for the rollback"
                answer = Answer(self._fallback_physical_id(), {}, reason)
                logger.error(reason)
            else:
                logger.warning("Out of time while saving the answer; sending it now")
            self._committed = answer
        self._deliver_answer(answer)

    def _refuse(self, event: Mapping[str, Any], context: Any, reason: str) -> None:
        self._context = context
        self._event = dict(event)
        # Echoed as far as they fit their bounds: one of them may be what was malformed.
        self.StackId, self.RequestId, self.LogicalResourceId = (
            clipped(str(event.get(key, "")), ENVELOPE_LIMITS[key])
            for key in ("StackId", "RequestId", "LogicalResourceId")
        )
        answer = Answer(self._fallback_physical_id(), {}, reason)
        with self._answer_lock:
            self._committed = answer
        self._deliver_answer(answer)

    def _send(self, status: str | None = None, reason: str = "", send_response: object = None) -> None:
        # crhelper's main path, with the answer in its fields.
        # Flaw: crhelper's timer and its main path can both answer; CloudFormation must get one answer.
        failed = (status or self.Status) == FAILED
        # Flaw: crhelper's timer can send an empty physical id, which CloudFormation shows as
        # "Invalid PhysicalResourceId" in place of the real reason.
        physical_id = str(self.PhysicalResourceId or "") or self._fallback_physical_id()
        answer = Answer(physical_id, {}, str(reason or self.Reason)) if failed else Answer(physical_id, dict(self.Data))
        with self._answer_lock:
            if self._committed is not None:
                logger.warning("An answer was already sent; not sending another")
                return
            self._committed = answer
        self._deliver_answer(answer)

    def _deliver_answer(self, answer: Answer) -> None:
        """PUT the answer to the ResponseURL. Whatever goes wrong in building it, an answer goes."""
        try:
            body = {
                "Status": FAILED if answer.failure is not None else SUCCESS,
                "Reason": _shorten(answer.failure or ""),
                "PhysicalResourceId": answer.physical_id,
                "StackId": self.StackId,
                "RequestId": self.RequestId,
                "LogicalResourceId": self.LogicalResourceId,
                "NoEcho": False,
                "Data": dict(answer.data),
            }
            payload = fit(body)
        except Exception:  # a bug of ours must not leave CloudFormation waiting out ServiceTimeout
            logger.exception("Could not build the answer; sending a minimal FAILED one")
            body = {
                "Status": FAILED,
                "Reason": "Internal error in the provider while answering; see its log",
                "PhysicalResourceId": answer.physical_id or self.generate_physical_id(self._event),
                "StackId": str(self.StackId),
                "RequestId": str(self.RequestId),
                "LogicalResourceId": str(self.LogicalResourceId),
                "NoEcho": False,
                "Data": {},
            }
            payload = _encode(body)
        self._deliver(self._event["ResponseURL"], payload, {"answer": json.loads(payload), "bytes": len(payload)})

    def _deliver(self, url: str, payload: bytes, logged: dict[str, Any]) -> None:
        # Flaw: crhelper retries its PUT forever, and counts any HTTP status, 403 and 500 included,
        # as delivered. Retry until a 2xx, with backoff, and stop before the Lambda deadline.
        # The URL is never logged: anyone holding it can answer for the stack.
        deadline = time.monotonic() + self._context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_S
        # Under `sam local invoke` no stack waits for the answer, and the event's URL is a sample: try once.
        once = bool(self._sam_local)
        delay = 0.2
        for attempt in itertools.count(1):
            timeout = min(PUT_TIMEOUT_S, deadline - time.monotonic())
            try:
                status = _put(url, payload, timeout)
                if 200 <= status < 300:
                    logger.info("Answer delivered", extra={**logged, "http_status": status, "attempts": attempt})
                    return
                problem = f"HTTP {status}"
            except (OSError, http.client.HTTPException, ValueError) as error:
                # The type only: http.client's messages can quote the URL, signature and all.
                problem = type(error).__name__
            if once or time.monotonic() + delay + 1.0 > deadline:
                logger.error(
                    "Answer not delivered before the deadline",
                    extra={**logged, "problem": problem, "attempts": attempt},
                )
                return
            logger.warning("Answer not accepted; retrying", extra={"problem": problem, "attempt": attempt})
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def fit(body: dict[str, Any]) -> bytes:
    """The answer as JSON, within CloudFormation's 4096 bytes.

    Whole Data values are dropped, largest first, rather than cut: a GetAtt of a dropped
    key then fails plainly ("Vendor response doesn't contain X key") instead of reading
    a partial list. The reason is cut last.
    """
    payload = _encode(body)
    data = dict(body["Data"])
    while len(payload) > MAX_ANSWER_BYTES and data:
        largest = max(data, key=lambda key: len(_encode(data[key])))
        del data[largest]
        logger.warning(f"Output {largest} dropped: the answer would exceed {MAX_ANSWER_BYTES} bytes")
        payload = _encode({**body, "Data": data})
    reason = str(body["Reason"])
    while len(payload) > MAX_ANSWER_BYTES and reason:
        reason = reason[: len(reason) // 2]
        payload = _encode({**body, "Data": data, "Reason": reason})
    return payload


def _shorten(reason: str) -> str:
    return reason if len(reason) <= REASON_ROOM else reason[: REASON_ROOM - 3] + "..."


def _encode(value: object) -> bytes:
    # ASCII JSON: any text escapes, even a lone surrogate, which UTF-8 can't encode.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


@cache
def _tls() -> ssl.SSLContext:
    # Honours SSL_CERT_FILE, as crhelper's own sender does; built once, as loading CAs costs milliseconds.
    return ssl.create_default_context()


def _put(url: str, payload: bytes, timeout: float) -> int:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPSConnection(parts.netloc, timeout=max(timeout, 0.1), context=_tls())
    try:
        # CloudFormation's pre-signed URL is signed for an empty content-type.
        connection.request("PUT", path, body=payload, headers={"content-type": "", "content-length": str(len(payload))})
        return connection.getresponse().status
    finally:
        connection.close()
