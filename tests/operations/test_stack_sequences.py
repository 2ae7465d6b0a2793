"""Whole stack operations that once ended badly, each played as CloudFormation plays it."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from tests.support import events, legacy
from tests.support.emulator import FAULTS
from tests.support.in_process import Harness
from tests.support.servers import API, held
from tests.support.stack_operations import Custom, ModelStack, ReplacementRollback, Sibling

V2 = "https://v2.api.example.com"
FOREIGN = "https://someone-else.example.com"


def foreign_server(cognito_idp: Any, pool: str, identifier: str = FOREIGN, **state: Any) -> None:
    """A server someone else made, outside any stack."""
    props = events.properties(pool, identifier=identifier, **state)
    cognito_idp.create_resource_server(
        UserPoolId=pool, Identifier=identifier, Name=props["Name"], Scopes=props.get("Scopes", [])
    )


@pytest.mark.parametrize("rollback", list(ReplacementRollback), ids=lambda r: r.name)
def test_rollback_of_a_replacement_gives_back_the_old_server_untouched_and_removes_the_new(
    provider: Harness, cognito_idp: Any, pool: str, rollback: ReplacementRollback
) -> None:
    stack = ModelStack(provider.send, rollback)
    old = events.properties(pool)
    assert stack.create({"Api": Custom(old)}) == "CREATE_COMPLETE"
    before = held(cognito_idp, pool)
    provider.calls.clear()

    new = events.properties(pool, identifier=V2, name="Second version")
    status = stack.update({"Api": Custom(new), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert stack.physical_ids == {"Api": f"{pool}|{API}"}
    assert held(cognito_idp, pool) == before
    assert [r.answer["Status"] for r in stack.requests] == ["SUCCESS"] * len(stack.requests)
    assert "UpdateResourceServer" not in provider.calls, "the old server already holds the old state"


def test_rollback_of_a_replacement_after_the_old_server_changed_outside_restores_its_old_state(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send, ReplacementRollback.UPDATE_BACK)
    old = events.properties(pool)
    stack.create({"Api": Custom(old)})
    before = held(cognito_idp, pool)
    cognito_idp.update_resource_server(UserPoolId=pool, Identifier=API, Name="Changed by hand", Scopes=[])

    status = stack.update({"Api": Custom(events.properties(pool, identifier=V2)), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_update_onto_someone_elses_identifier_outside_a_rollback_is_refused_and_leaves_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    foreign_server(cognito_idp, pool, name="Someone else")
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(cognito_idp, pool)

    status = stack.update({"Api": Custom(events.properties(pool, identifier=FOREIGN))})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    refused = next(r for r in stack.requests if r.phase == "UPDATE_IN_PROGRESS")
    assert refused.answer["Status"] == "FAILED"
    assert refused.answer["Reason"].startswith("Identifier already exists")
    assert refused.answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert held(cognito_idp, pool) == before


def test_rollback_of_a_replacement_back_onto_its_server_needs_no_read_of_the_stack(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send, ReplacementRollback.UPDATE_BACK)
    stack.create({"Api": Custom(events.properties(pool))})
    before = held(cognito_idp, pool)
    FAULTS.fail("DescribeStacks", "AccessDenied", times=10, status=403, message="not authorized to DescribeStacks")

    status = stack.update({"Api": Custom(events.properties(pool, identifier=V2)), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE", "the ledger says the old server is this resource's own"
    assert FAULTS.attempts["DescribeStacks"] == 0
    assert held(cognito_idp, pool) == before


def test_rollback_of_a_1_0_0_server_that_cannot_read_the_stack_takes_nothing_and_completes_when_continued(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send, ReplacementRollback.UPDATE_BACK)
    stack.create({"Api": Custom(events.properties(pool))})
    legacy.made_by_1_0_0(boto3.client("dynamodb"), f"{pool}|{API}")
    before = held(cognito_idp, pool)
    FAULTS.fail("DescribeStackEvents", "AccessDenied", status=403, message="not authorized to DescribeStackEvents")

    status = stack.update({"Api": Custom(events.properties(pool, identifier=V2)), "Client": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_FAILED"
    reason = stack.requests[-1].answer["Reason"]
    assert "If this is a rollback" in reason
    assert "cloudformation:DescribeStackEvents failed: AccessDenied" in reason
    assert len(reason) <= 240
    assert stack.continue_update_rollback() == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_create_over_someone_elses_server_while_cognito_fails_never_names_or_deletes_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    foreign_server(cognito_idp, pool, identifier=API, name="Someone else")
    before = held(cognito_idp, pool)
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=10, status=500)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(events.properties(pool))})

    assert status == "ROLLBACK_COMPLETE"
    failed = stack.requests[0].answer
    assert failed["Status"] == "FAILED"
    assert failed["PhysicalResourceId"] != f"{pool}|{API}", "the rollback Delete must not find it"
    assert held(cognito_idp, pool) == before


def test_create_meeting_someone_elses_identical_server_after_a_500_does_not_claim_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    foreign_server(cognito_idp, pool, identifier=API)  # exactly the state the stack declares
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=1, status=500)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(events.properties(pool))})

    assert status == "ROLLBACK_COMPLETE"
    assert stack.requests[0].answer["Status"] == "FAILED"
    assert API in held(cognito_idp, pool)


def test_replacement_in_doubt_never_deletes_someone_elses_identical_server(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool))})
    foreign_server(cognito_idp, pool, identifier=V2)  # exactly the state the update will declare
    before = held(cognito_idp, pool)
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=10, status=500)

    status = stack.update({"Api": Custom(events.properties(pool, identifier=V2))})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_create_in_doubt_of_a_server_that_was_absent_still_names_it_for_the_rollback(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # The first attempt lands but its answer is lost; the rest fail. Only this request can have made it.
    FAULTS.hold("CreateResourceServer", 1.0, act_first=True)
    FAULTS.fail("CreateResourceServer", "InternalErrorException", times=1, status=500)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(events.properties(pool)), "Client": Sibling(fails=True)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == {}


def test_a_lost_write_of_the_in_progress_record_is_not_mistaken_for_another_delivery(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # The record that marks this request in progress is written, but the answer comes after the
    # store's client gave up; its retry then finds the record. Found by the stateful model.
    FAULTS.hold("PutItem", 1.2, act_first=True)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(events.properties(pool))})

    assert status == "CREATE_COMPLETE"
    assert API in held(cognito_idp, pool)


def test_a_create_attempt_that_acts_late_cannot_bring_back_what_the_rollback_deleted(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    # Both first attempts outlast the client's 0.5 s and act 0.7 s after they were sent, the second
    # after the third has succeeded. Found by the stateful model: answered at once, the stack rolled
    # back, and the late attempt made the server again, which nothing then deleted.
    FAULTS.hold("CreateResourceServer", 0.7, times=2)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(events.properties(pool)), "Client": Sibling(fails=True)})
    time.sleep(1.0)  # any attempt still held has acted by now

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == {}
