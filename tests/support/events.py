"""CloudFormation's requests, from the files in events/, aimed at a local pool and receiver.

Tests, `make demo` and `make invoke` all start from these files, so the files can't rot.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

EVENTS = Path(__file__).resolve().parents[2] / "events"
EXAMPLE_POOL = "us-east-1_Ex4mpl3Po0l"


def load(name: str) -> dict[str, Any]:
    """An event from events/<name>.json, as CloudFormation would send it."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def aimed(
    event: dict[str, Any],
    *,
    pool: str | None = None,
    receiver: str | None = None,
    new_request_id: bool = True,
    signed_at: float | None = None,
) -> dict[str, Any]:
    """A copy with the example pool swapped for `pool`, a fresh RequestId, and the ResponseURL's
    host swapped for `receiver` (host:port), keeping its path and signature as CloudFormation's.
    With a fresh RequestId the URL is signed anew, as CloudFormation signs each request's URL
    when it sends it: at `signed_at` (seconds since the epoch), or now."""
    aimed_event = copy.deepcopy(event)
    if pool is not None:
        for key in ("ResourceProperties", "OldResourceProperties"):
            if isinstance(aimed_event.get(key), dict) and aimed_event[key].get("UserPoolId") == EXAMPLE_POOL:
                aimed_event[key]["UserPoolId"] = pool
        physical_id = aimed_event.get("PhysicalResourceId")
        if isinstance(physical_id, str) and physical_id.startswith(f"{EXAMPLE_POOL}|"):
            aimed_event["PhysicalResourceId"] = pool + physical_id[len(EXAMPLE_POOL) :]
    old_request_id = aimed_event.get("RequestId")
    if new_request_id:
        aimed_event["RequestId"] = str(uuid.uuid4())
    if not isinstance(aimed_event.get("ResponseURL"), str):
        return aimed_event  # nowhere to answer: the handler says so
    parts = urlsplit(aimed_event["ResponseURL"])
    path = parts.path
    # The URL names its request, as CloudFormation's do; a RequestId that is no text is the handler's to judge.
    if new_request_id and isinstance(old_request_id, str) and old_request_id:
        path = path.replace(old_request_id, aimed_event["RequestId"])
    query = parts.query
    if new_request_id or signed_at is not None:
        query = signed(query, time.time() if signed_at is None else signed_at)
    aimed_event["ResponseURL"] = urlunsplit(("https", receiver or parts.netloc, path, query, ""))
    return aimed_event


def signed(query: str, at: float) -> str:
    """A pre-signed URL's query, signed at `at` (X-Amz-Date, whole seconds, UTC)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(at))
    return re.sub(r"X-Amz-Date=\d{8}T\d{6}Z", f"X-Amz-Date={stamp}", query)


def request(
    request_type: str,
    properties: Any,
    *,
    physical_id: str | None = None,
    old_properties: Any = None,
    base: str = "create",
    signed_at: float | None = None,
) -> dict[str, Any]:
    """A request of any type shaped like those in events/, for properties a test chooses, with its
    own RequestId, as every CloudFormation request has, signed now or at `signed_at`."""
    event = aimed(load(base), signed_at=signed_at)
    event["RequestType"] = request_type
    event["ResourceProperties"] = properties
    event.pop("PhysicalResourceId", None)
    event.pop("OldResourceProperties", None)
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    return event


def properties(
    pool: str, identifier: str = "https://api.example.com", name: str = "Example API", **extra: Any
) -> dict[str, Any]:
    """ResourceProperties as CloudFormation delivers them: strings, ServiceToken included."""
    scopes = extra.pop("scopes", [("read", "Read it"), ("write", "Change it")])
    props: dict[str, Any] = {
        "ServiceToken": load("create")["ServiceToken"],
        "UserPoolId": pool,
        "Identifier": identifier,
        "Name": name,
    }
    if scopes is not None:
        props["Scopes"] = [{"ScopeName": n, "ScopeDescription": d} for n, d in scopes]
    props.update(extra)
    return props
