"""1. The event: what CloudFormation sends, read into a typed Request. Standard library only,
so that a provider that failed to start can still read enough of it to answer.

Powertools' CloudFormationCustomResourceEvent would do this too, but importing its
data_classes package adds ~13% to cold start (see `make bench`); the tests check
every event in events/ against Powertools' pydantic models instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal, NamedTuple, cast
from urllib.parse import parse_qs, urlsplit

from .clock import CLOCK

RequestType = Literal["Create", "Update", "Delete"]
REQUEST_TYPES: tuple[RequestType, ...] = ("Create", "Update", "Delete")
# The fields crhelper reads before our code runs, with bounds in bytes as the answer carries them
# (ASCII JSON, where a non-ASCII character takes 6 or 12). CloudFormation's own values are ASCII
# and far shorter; the bounds keep an answer that echoes them within 4096 bytes.
ENVELOPE_LIMITS = {"RequestType": 16, "StackId": 512, "RequestId": 256, "LogicalResourceId": 256}
MAX_PHYSICAL_ID = 1024  # CloudFormation's own limit
MAX_RESPONSE_URL = 8192
# crhelper's own polling keys. CloudFormation never sends them; crhelper would answer an event
# holding them SUCCESS, with whatever physical id and Data it names, without our code running.
CRHELPER_KEYS = ("CrHelperPoll", "CrHelperData", "CrHelperRule", "CrHelperPermission")
# How long CloudFormation waits for an answer when the resource sets no ServiceTimeout.
DEFAULT_SERVICE_TIMEOUT_S = 3600
# The physical id of a Create that made nothing (delivery.failed_physical_id). No "|", so it never
# parses as {pool}|{identifier}.
FAILED_CREATE_MARKER = "NotCreated"
_PLAIN = re.compile(r"[^\w-]", re.ASCII)  # what a marker keeps of the ids it names
# A pre-signed URL lasts this long; CloudFormation's last 2 hours (X-Amz-Expires=7200).
URL_LIFETIME_S = 7200


class Envelope(NamedTuple):
    """What any event gives its answer, however malformed: where it goes, what it echoes, and
    when CloudFormation stops waiting for it."""

    response_url: str | None  # None when there is nowhere to answer
    request_type: str
    stack_id: str
    request_id: str
    logical_resource_id: str
    physical_resource_id: str  # "" unless it is one CloudFormation could accept back
    problem: str | None  # why crhelper could not answer the event properly
    not_after: float | None  # when CloudFormation stops waiting, in seconds since the epoch, if known


class Request(NamedTuple):
    """What the plan reads, from an event whose envelope crhelper can answer."""

    envelope: Envelope
    request_type: RequestType
    physical_resource_id: str  # "" on Create, whatever the event says
    properties: object  # as sent: the contract judges its shape
    old_properties: object  # on Update: the properties before it
    # When CloudFormation signed the ResponseURL, in seconds since the epoch: the order in which it
    # sent requests, on its own clock. None when the URL does not say (a hand-made event).
    issued_at: float | None = None

    @property
    def stack_id(self) -> str:
        return self.envelope.stack_id

    @property
    def logical_resource_id(self) -> str:
        return self.envelope.logical_resource_id

    @property
    def request_id(self) -> str:
        return self.envelope.request_id

    @property
    def identity(self) -> dict[str, str]:
        """What makes one request: RequestId is unique per request; the rest guard against its reuse."""
        return {
            "StackId": self.stack_id,
            "LogicalResourceId": self.logical_resource_id,
            "RequestId": self.request_id,
            "RequestType": self.request_type,
        }


def can_answer(event: object) -> bool:
    """Whether there is anywhere to send an answer at all: a pre-signed S3 URL is printable ASCII."""
    return (
        isinstance(event, Mapping)
        and isinstance(url := event.get("ResponseURL"), str)
        and url.startswith("https://")
        and len(url) <= MAX_RESPONSE_URL
        and url.isascii()
        and url.isprintable()
        and " " not in url
    )


# What the provider's schedule sends (template.yaml), and events/drift-check.json: no request of
# CloudFormation's, which always has a RequestType, so neither can be taken for the other.
DRIFT_CHECK = {"Action": "CheckDrift"}


def is_drift_check(event: object) -> bool:
    return isinstance(event, Mapping) and "RequestType" not in event and event.get("Action") == DRIFT_CHECK["Action"]


def envelope_problem(event: Mapping[str, object]) -> str | None:
    """Why crhelper could not answer this event properly, or None."""
    if control_keys := [key for key in CRHELPER_KEYS if key in event]:
        return f"Malformed request: {', '.join(control_keys)} is crhelper's own; CloudFormation never sends it"
    for key, limit in ENVELOPE_LIMITS.items():
        if not _is_text(event.get(key), limit):
            return f"Malformed request: {key} must be UTF-8 text of 1-{limit} bytes"
    if event["RequestType"] not in REQUEST_TYPES:
        return f"Malformed request: RequestType must be one of {', '.join(REQUEST_TYPES)}"
    if event["RequestType"] != "Create" and not _is_text(event.get("PhysicalResourceId"), MAX_PHYSICAL_ID):
        return f"Malformed request: PhysicalResourceId must be UTF-8 text of 1-{MAX_PHYSICAL_ID} bytes"
    return None


def envelope(event: object) -> Envelope:
    """The envelope of any event: whatever arrives is answered, if it can be."""
    fields: Mapping[str, object] = event if isinstance(event, Mapping) else {}
    url = fields.get("ResponseURL")
    issued = issued_at(url)
    # CloudFormation stops waiting ServiceTimeout after it sent the request; a signing time far
    # from now is a sample URL's, as in events/, and says nothing of that.
    plausible = issued is not None and abs(CLOCK.time() - issued) < URL_LIFETIME_S
    return Envelope(
        response_url=url if isinstance(url, str) and can_answer(event) else None,
        request_type=_text(fields, "RequestType"),
        stack_id=_text(fields, "StackId"),
        request_id=_text(fields, "RequestId"),
        logical_resource_id=_text(fields, "LogicalResourceId"),
        physical_resource_id=physical_id_of(fields),
        problem=envelope_problem(fields),
        not_after=issued + service_timeout_s(fields.get("ResourceProperties")) if issued and plausible else None,
    )


def read(event: object) -> tuple[Envelope, Request | None]:
    """The event's envelope, and the request in it when the envelope has no problem."""
    outside = envelope(event)
    if outside.problem is not None or not isinstance(event, Mapping):
        return outside, None
    request_type = cast("RequestType", event["RequestType"])
    return outside, Request(
        envelope=outside,
        request_type=request_type,
        physical_resource_id=outside.physical_resource_id if request_type != "Create" else "",
        properties=event.get("ResourceProperties"),
        old_properties=event.get("OldResourceProperties"),
        issued_at=issued_at(event.get("ResponseURL")),
    )


def issued_at(url: object) -> float | None:
    """When a pre-signed URL was signed: X-Amz-Date in SigV4, or Expires less its lifetime in the
    older form. CloudFormation signs each request's URL as it sends the request."""
    if not isinstance(url, str):
        return None
    query = parse_qs(urlsplit(url).query)
    try:
        if signed := query.get("X-Amz-Date"):
            # Not strptime: its first call imports a module and compiles a pattern, 0.8 ms of CPU
            # before a cold request's first call (`make bench`, 5b). X-Amz-Date is ISO 8601's basic
            # form, in UTC; a form with an offset keeps it.
            when = datetime.fromisoformat(signed[0])
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        if expires := query.get("Expires"):
            return float(expires[0]) - URL_LIFETIME_S
    except (ValueError, OverflowError):
        return None
    return None


def service_timeout_s(properties: object) -> float:
    """How long CloudFormation waits for this answer: the resource's ServiceTimeout, 1-3600 s."""
    value = properties.get("ServiceTimeout") if isinstance(properties, Mapping) else None
    try:
        seconds = float(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except ValueError:
        seconds = None
    if seconds is None or not 1 <= seconds <= DEFAULT_SERVICE_TIMEOUT_S:
        return DEFAULT_SERVICE_TIMEOUT_S
    return seconds


def marker(logical_resource_id: str, request_id: str) -> str:
    logical_id, request = (_PLAIN.sub("", value)[:128] for value in (logical_resource_id, request_id))
    return f"{FAILED_CREATE_MARKER}_{logical_id or 'Resource'}_{request or 'unknown'}"


def is_marker(physical_id: str) -> bool:
    """Whether a physical id is the marker of a Create of ours that answered FAILED."""
    return physical_id.startswith(f"{FAILED_CREATE_MARKER}_")


def correlation_keys(event: object) -> dict[str, str]:
    """The keys every log line carries, so one request's lines can be found together."""
    fields = event if isinstance(event, Mapping) else {}
    keys = ("RequestType", "StackId", "LogicalResourceId", "RequestId", "PhysicalResourceId")
    return {key: str(fields.get(key, ""))[:MAX_PHYSICAL_ID] for key in keys}


def redacted(event: object) -> object:
    """The event as it may be logged: the pre-signed ResponseURL lets anyone answer for the stack."""
    if not isinstance(event, Mapping):
        return event
    return {key: "<redacted>" if key == "ResponseURL" else value for key, value in event.items()}


def physical_id_of(event: Mapping[str, object]) -> str:
    """The event's physical id when it is one CloudFormation could accept back, else ""."""
    value = event.get("PhysicalResourceId")
    return value if isinstance(value, str) and _is_text(value, MAX_PHYSICAL_ID) else ""


def is_utf8(value: str) -> bool:
    """False for text UTF-8 can't encode, such as a lone surrogate: no answer could carry it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clipped(value: str, limit: int) -> str:
    """The longest start of `value` that an answer carries in at most `limit` bytes."""
    size = 0
    for end, character in enumerate(value):
        size += _answer_bytes(character)
        if size > limit:
            return value[:end]
    return value


def _text(event: Mapping[str, object], key: str) -> str:
    return str(event.get(key) or "")


def _is_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and is_utf8(value) and 0 < _answer_bytes(value) <= limit


def _answer_bytes(value: str) -> int:
    return len(json.dumps(value)) - 2  # as the answer's ASCII JSON carries it, without the quotes
