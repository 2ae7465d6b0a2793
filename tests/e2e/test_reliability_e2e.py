"""The provider under the conditions real stacks produce: throttling, a hanging Cognito, a lost answer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import events, lambda_runtime
from tests.support.emulator import FAULTS, CognitoEmulator
from tests.support.lambda_runtime import LocalLambda

pytestmark = pytest.mark.e2e
RATE_CAP_MAKESPAN_S = 4.8  # 25 writes at Cognito's 5 writes/s per pool, evenly spaced


def test_25_servers_created_at_once_in_one_pool_all_succeed_near_the_rate_cap(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    FAULTS.throttle(writes_per_second=5)
    props = [events.properties(pool, identifier=f"https://api-{n:02}.example.com") for n in range(25)]

    created = lambda_runtime.run_at_once(function, [events.request("Create", p) for p in props])

    assert [a["Status"] for a in created] == ["SUCCESS"] * 25, [a["Reason"] for a in created if a["Reason"]]
    assert len(emulator.servers(pool)) == 25
    makespan = FAULTS.makespan("CreateResourceServer")
    print(
        f"\n25 creates: makespan {makespan:.2f} s, {makespan / RATE_CAP_MAKESPAN_S:.2f}x the {RATE_CAP_MAKESPAN_S} s "
        f"the cap allows; {FAULTS.throttled} throttled attempts"
    )
    assert makespan <= 1.5 * RATE_CAP_MAKESPAN_S

    deleted = lambda_runtime.run_at_once(
        function,
        [events.request("Delete", p, physical_id=a["PhysicalResourceId"]) for p, a in zip(props, created, strict=True)],
    )

    assert [a["Status"] for a in deleted] == ["SUCCESS"] * 25, [a["Reason"] for a in deleted if a["Reason"]]
    assert emulator.servers(pool) == {}


def test_create_that_lands_after_the_handler_gave_up_is_removed_by_the_rollback_delete(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    props = events.properties(pool)
    FAULTS.hold("CreateResourceServer", 6.0, times=2)  # each longer than the client's 3 s read timeout

    failed = function.send(events.request("Create", props), timeout_s=12)

    assert function.last is not None
    assert function.last.seconds < 12, "answered before the deadline"
    assert failed["Status"] == "FAILED"
    assert failed["Reason"].startswith("Timed out: Cognito did not answer CreateResourceServer")
    assert failed["PhysicalResourceId"] == f"{pool}|https://api.example.com", "names the server that may land"
    deadline = time.monotonic() + 5
    while "https://api.example.com" not in emulator.servers(pool):
        assert time.monotonic() < deadline, "the held create never landed"
        time.sleep(0.1)

    rollback = function.send(events.request("Delete", props, physical_id=failed["PhysicalResourceId"]))

    assert rollback["Status"] == "SUCCESS"
    assert emulator.servers(pool) == {}


def test_create_whose_answer_was_lost_is_recognised_on_retry_and_succeeds(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    # The first attempt takes effect but its answer never comes back; botocore retries, and
    # Cognito says the Identifier exists. It is this request's own server, not someone else's.
    FAULTS.hold("CreateResourceServer", 6.0, act_first=True)

    answer = function.send(events.request("Create", events.properties(pool)), timeout_s=30)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|https://api.example.com"
    assert answer["Data"]["Scopes"] == "https://api.example.com/read https://api.example.com/write"


def test_hanging_delete_is_answered_before_the_deadline_with_its_physical_id(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    props = events.properties(pool)
    created = function.send(events.request("Create", props))
    FAULTS.hold("DeleteResourceServer", 30.0, times=10)  # a Delete is retried until the deadline: hold them all

    answer = function.send(events.request("Delete", props, physical_id=created["PhysicalResourceId"]), timeout_s=12)

    assert function.last is not None
    assert function.last.seconds < 12
    assert answer["Status"] == "FAILED"
    assert "did not answer DeleteResourceServer" in answer["Reason"]
    assert answer["PhysicalResourceId"] == created["PhysicalResourceId"]


def test_answer_refused_twice_is_retried_until_accepted(function: LocalLambda, pool: str) -> None:
    function.receiver.refuse_next(500, 403)

    answer = function.send(events.request("Create", events.properties(pool)))

    assert answer["Status"] == "SUCCESS"
    statuses = [d.status for d in function.receiver.deliveries_for(answer["RequestId"])]
    assert statuses == [500, 403, 200]


def test_answer_always_refused_ends_before_the_deadline_without_spinning(function: LocalLambda, pool: str) -> None:
    function.receiver.refuse_always(500)
    event = events.aimed(events.request("Create", events.properties(pool)), receiver=function.receiver.host)
    try:
        invocation = lambda_runtime.invoke(event, function.env, timeout_s=8)
    finally:
        function.receiver.refuse_always(None)

    assert not invocation.timed_out, "the function must end on its own, before Lambda kills it"
    assert invocation.seconds < 8
    attempts = len(function.receiver.deliveries_for(event["RequestId"]))
    assert 3 <= attempts <= 8, f"{attempts} PUTs: backoff, not a busy loop"
    assert "Answer not delivered before the deadline" in invocation.logs
    assert event["ResponseURL"].split("?")[1] not in invocation.logs


def test_whole_lifecycle_at_debug_never_logs_the_response_url_or_its_signature(
    function: LocalLambda, pool: str, tmp_path: Path
) -> None:
    logs = []
    for name in ("create", "update", "update-replace", "delete"):
        event = events.load(name)
        # POWERTOOLS_LOGGER_LOG_EVENT=true asks Powertools to log every event whole.
        answer = function.send(event, pool=pool, LOG_LEVEL="DEBUG", POWERTOOLS_LOGGER_LOG_EVENT="true")
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        assert function.last is not None
        logs.append(function.last.logs)
    text = "\n".join(logs)

    assert "DEBUG" in text
    for secret in ("X-Amz-Signature", "X-Amz-Credential", "3f1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c", "response-useast1"):
        assert secret not in text


def test_duplicate_delivery_while_the_first_is_in_flight_stays_silent(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    FAULTS.hold("CreateResourceServer", 2.0)
    event = events.aimed(events.request("Create", events.properties(pool)), receiver=function.receiver.host)
    started = time.monotonic()
    first = lambda_runtime.start(event, function.env)
    time.sleep(1.0)  # the first delivery is now waiting on Cognito
    second = lambda_runtime.invoke(event, function.env)
    lambda_runtime.finish(first, started)

    assert "Another delivery of this request answers; staying silent" in second.logs
    deliveries = function.receiver.deliveries_for(event["RequestId"])
    assert len(deliveries) == 1
    assert deliveries[0].answer["Status"] == "SUCCESS"
    assert len([a for a in FAULTS.accepted if a.operation == "CreateResourceServer"]) == 1

    third = function.send(event, new_request_id=False)  # a later duplicate replays the answer

    assert third == deliveries[0].answer


def test_duplicate_delivery_answers_when_the_first_died_before_its_deadline(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    # Lambda retries an invocation that crashed; the first's in-progress record outlives it.
    FAULTS.hold("CreateResourceServer", 30.0)
    event = events.aimed(events.request("Create", events.properties(pool)), receiver=function.receiver.host)
    first = lambda_runtime.start(event, function.env, timeout_s=10)
    time.sleep(1.5)  # the first delivery has recorded the request in progress, and waits on Cognito
    first.kill()
    first.wait()

    retry = lambda_runtime.invoke(event, function.env, timeout_s=30)

    assert "passed its deadline without answering; this one answers" in retry.logs, retry.logs[-3000:]
    deliveries = function.receiver.deliveries_for(event["RequestId"])
    assert [d.answer["Status"] for d in deliveries] == ["SUCCESS"], "exactly one answer, from the retry"
    assert deliveries[0].answer["PhysicalResourceId"] == f"{pool}|https://api.example.com"


def test_replacement_whose_create_landed_after_the_handler_gave_up_is_removed_before_answering(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    old = events.properties(pool)
    created = function.send(events.request("Create", old))
    new = events.properties(pool, identifier="https://v2.api.example.com")
    # All three attempts outlast the 5 s read timeout, and each acts 6 s after it was sent: at about
    # 6, 11 and 16 s. The handler waits them all out before it looks, removes what landed, and answers.
    FAULTS.hold("CreateResourceServer", 6.0, times=3)

    answer = function.send(
        events.request("Update", new, physical_id=created["PhysicalResourceId"], old_properties=old), timeout_s=45
    )

    assert answer["Status"] == "FAILED"
    assert answer["PhysicalResourceId"] == created["PhysicalResourceId"], "a failed Update keeps its resource"
    assert answer["Reason"].endswith("; no replacement server was left behind")
    landed = [a for a in FAULTS.accepted if a.operation == "CreateResourceServer" and a.identifier == new["Identifier"]]
    assert len(landed) == 1, "the first landed; the later ones found it there"
    assert set(emulator.servers(pool)) == {"https://api.example.com"}
    assert FAULTS.attempts["CreateResourceServer"] == 4, "none left to act after the answer"


def test_response_url_that_http_client_rejects_is_not_logged_in_its_error(function: LocalLambda, pool: str) -> None:
    event = events.aimed(events.request("Create", events.properties(pool)), receiver=function.receiver.host)
    event["ResponseURL"] += "\x01"  # http.client's InvalidURL message quotes the whole path and query
    signature = event["ResponseURL"].split("X-Amz-Signature=")[1][:64]

    invocation = lambda_runtime.invoke(event, {**function.env, "LOG_LEVEL": "DEBUG"}, timeout_s=8)

    assert not invocation.timed_out
    assert signature not in invocation.logs
    assert "ResponseURL" in invocation.logs, "the log says why there was no answer"


def test_create_whose_answer_save_hangs_still_answers_success_naming_its_server_in_time(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    # The server lands at once; then every attempt to save the answer for a repeated delivery hangs.
    FAULTS.hold("UpdateItem", 10.0, times=20)

    answer = function.send(events.request("Create", events.properties(pool)), timeout_s=12)

    assert function.last is not None
    assert function.last.seconds < 11.5, "answered by the request itself, before crhelper's timer"
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|https://api.example.com"
    assert "Idempotency store unavailable; answering without it" in function.last.logs
