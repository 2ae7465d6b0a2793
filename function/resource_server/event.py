"""1. The event: what CloudFormation sends, read into a typed Request.

Powertools' CloudFormationCustomResourceEvent would do this too, but importing its
data_classes package adds ~13% to cold start (see `make bench`); the tests check
every event in events/ against Powertools' pydantic models instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

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


@dataclass(frozen=True)
class Request:
    """What the plan reads. The rest of the envelope is crhelper's, for the answer."""

    request_type: RequestType
    physical_resource_id: str  # "" on Create
    properties: object  # as sent: the contract judges its shape
    stack_id: str
    logical_resource_id: str
    request_id: str


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


def read(event: Mapping[str, object]) -> Request:
    """The request in an event that envelope_problem() has passed."""
    return Request(
        request_type=cast("RequestType", event["RequestType"]),
        physical_resource_id=physical_id_of(event),
        properties=event.get("ResourceProperties"),
        stack_id=str(event["StackId"]),
        logical_resource_id=str(event["LogicalResourceId"]),
        request_id=str(event["RequestId"]),
    )


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


def _is_text(value: object, limit: int) -> bool:
    return isinstance(value, str) and is_utf8(value) and 0 < _answer_bytes(value) <= limit


def _answer_bytes(value: str) -> int:
    return len(json.dumps(value)) - 2  # as the answer's ASCII JSON carries it, without the quotes
