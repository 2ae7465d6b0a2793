"""6. The answer, and its delivery: built once, fitted to 4096 bytes once, PUT to the ResponseURL.

Standard library only, so that a provider that failed to start can still answer (app.py).
The ResponseURL is never logged: anyone holding it can answer for the stack.
"""

from __future__ import annotations

import http.client
import itertools
import json
import logging
import ssl
from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .clock import CLOCK
from .event import ENVELOPE_LIMITS, Envelope, clipped, marker
from .failure import shortened

logger = logging.getLogger(__name__)

# CloudFormation fails the resource with "Response object is too long." past this.
MAX_ANSWER_BYTES = 4096
PUT_TIMEOUT_S = 5.0
# The answer's last attempt must end this long before the Lambda deadline.
DEADLINE_MARGIN_S = 0.25


class Answer(NamedTuple):
    """What a request answers: SUCCESS with outputs, or FAILED with a reason."""

    physical_id: str
    data: Mapping[str, str] = {}  # read only: one empty map serves every answer without outputs
    failure: str | None = None  # the Reason of a FAILED answer

    @classmethod
    def failed(cls, physical_id: str, reason: str, problems: tuple[str, ...] = ()) -> Answer:
        # The one log line of a failure: every problem, where the reason may only have room for some.
        logger.warning("Request failed", extra={"reason": reason, "problems": list(problems)})
        return cls(physical_id, {}, reason or "The provider failed without saying why; see its log")

    @property
    def succeeded(self) -> bool:
        return self.failure is None


class Progress:
    """What one request has settled so far, for an answer sent before its work ends: by crhelper's
    timer, or after a bug of ours."""

    def __init__(self) -> None:
        # The server a FAILED Create must name, so that the rollback Delete finds it: one it
        # adopted, or one whose create may have landed.
        self.names: str | None = None
        self.answer: Answer | None = None  # once worked out


def failed_physical_id(envelope: Envelope, may_have_made: str | None = None) -> str:
    """The physical id of a FAILED answer, decided here and nowhere else.

    - A Create names the server it may have made or adopted, so that the rollback Delete removes
      it or gives it back. One that made nothing gets a marker, which names no server and names
      the request, so that the rollback Delete can tell which Create it undoes; never the event's
      own id, which CloudFormation does not send on Create and a caller may.
    - An Update or a Delete keeps the event's own id: another would read as a replacement.
    """
    if envelope.request_type == "Create":
        return may_have_made or marker(envelope.logical_resource_id, envelope.request_id)
    return envelope.physical_resource_id or marker(envelope.logical_resource_id, envelope.request_id)


def payload(answer: Answer, envelope: Envelope) -> bytes:
    """The answer's body, as ASCII JSON of at most MAX_ANSWER_BYTES.

    Whole Data values are dropped, largest first, rather than cut: a GetAtt of a dropped key
    then fails plainly ("Vendor response doesn't contain X key") instead of reading a partial
    list. The reason is cut last, and never to nothing.
    """
    body: dict[str, Any] = {
        "Status": "SUCCESS" if answer.succeeded else "FAILED",
        "Reason": shortened(answer.failure or ""),
        "PhysicalResourceId": answer.physical_id,
        # Echoed as far as they fit their bounds: one of them may be what was malformed.
        **{key: clipped(value, ENVELOPE_LIMITS[key]) for key, value in _echoed(envelope)},
        "NoEcho": False,
        "Data": dict(answer.data),
    }
    encoded = _encode(body)
    while len(encoded) > MAX_ANSWER_BYTES and body["Data"]:
        largest = max(body["Data"], key=lambda key: len(_encode(body["Data"][key])))
        del body["Data"][largest]
        logger.warning(f"Output {largest} dropped: the answer would exceed {MAX_ANSWER_BYTES} bytes")
        encoded = _encode(body)
    while len(encoded) > MAX_ANSWER_BYTES and len(body["Reason"]) > 1:
        body["Reason"] = body["Reason"][: len(body["Reason"]) // 2]
        encoded = _encode(body)
    return encoded


def minimal(physical_id: str, envelope: Envelope) -> bytes:
    """A FAILED answer built with nothing that could fail: for when building the real one did."""
    body = {
        "Status": "FAILED",
        "Reason": "Internal error in the provider while answering; see its log",
        "PhysicalResourceId": physical_id[:1024] or "NotCreated",
        **{key: value[: ENVELOPE_LIMITS[key] // 12] for key, value in _echoed(envelope)},
        "NoEcho": False,
        "Data": {},
    }
    return _encode(body)


def send(url: str, encoded: bytes, deadline: float, *, once: bool = False) -> bool:
    """PUT the answer until it is accepted with a 2xx, with backoff, stopping before `deadline`
    (time.monotonic()), as CDK's submitResponse does. `once`: a single try, for `sam local
    invoke`, where the event's URL is a sample. True when it was delivered."""
    logged = {"answer": json.loads(encoded), "bytes": len(encoded)}
    delay = 0.2
    for attempt in itertools.count(1):
        timeout = min(PUT_TIMEOUT_S, deadline - DEADLINE_MARGIN_S - CLOCK.monotonic())
        try:
            status = _put(url, encoded, timeout)
            if 200 <= status < 300:
                logger.info("Answer delivered", extra={**logged, "http_status": status, "attempts": attempt})
                return True
            problem = f"HTTP {status}"
        except (OSError, http.client.HTTPException, ValueError) as error:
            # The type only: http.client's messages can quote the URL, signature and all.
            problem = type(error).__name__
        if once or CLOCK.monotonic() + delay + 1.0 > deadline - DEADLINE_MARGIN_S:
            logger.error("Answer not delivered before the deadline", extra={**logged, "problem": problem})
            return False
        logger.warning("Answer not accepted; retrying", extra={"problem": problem, "attempt": attempt})
        CLOCK.sleep(delay)
        delay = min(delay * 2, 5.0)
    return False  # unreachable: itertools.count never ends


def _echoed(envelope: Envelope) -> tuple[tuple[str, str], ...]:
    """What an answer echoes of its request, by the name the answer gives it."""
    return (
        ("StackId", envelope.stack_id),
        ("RequestId", envelope.request_id),
        ("LogicalResourceId", envelope.logical_resource_id),
    )


def _encode(value: object) -> bytes:
    # ASCII JSON: any text escapes, even a lone surrogate, which UTF-8 can't encode.
    return json.dumps(value, separators=(",", ":")).encode("ascii")


@cache
def _tls() -> ssl.SSLContext:
    # Honours SSL_CERT_FILE, as crhelper's own sender does; built once, as loading CAs costs milliseconds.
    return ssl.create_default_context()


def _put(url: str, encoded: bytes, timeout: float) -> int:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPSConnection(parts.netloc, timeout=max(timeout, 0.1), context=_tls())
    try:
        # CloudFormation's pre-signed URL is signed for an empty content-type.
        connection.request("PUT", path, body=encoded, headers={"content-type": "", "content-length": str(len(encoded))})
        return connection.getresponse().status
    finally:
        connection.close()
