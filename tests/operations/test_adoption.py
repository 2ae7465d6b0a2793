"""AdoptExisting: taking over a server that already exists, and giving it back if the deployment fails."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
import pytest

from resource_server.replay import Replay
from tests.support import events, in_process
from tests.support.emulator import FAULTS
from tests.support.in_process import Harness
from tests.support.servers import API, adopting, existing_server, held
from tests.support.stack_operations import Custom, ModelStack, Send, Sibling


def before_each_delete(send: Send, happens: Callable[[], object]) -> Send:
    """`send`, with something that happens in the world just before each Delete reaches the provider."""

    def sending(event: dict[str, Any]) -> dict[str, Any]:
        if event["RequestType"] == "Delete":
            happens()
        return send(event)

    return sending


def test_create_with_adopt_existing_takes_the_server_over_with_the_declared_state(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)

    assert stack.create({"Api": Custom(adopting(pool))}) == "CREATE_COMPLETE"

    answer = stack.requests[0].answer
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert answer["Data"]["Scopes"] == f"{API}/read {API}/write"
    assert held(cognito_idp, pool) == {API: ("Example API", [("read", "Read it"), ("write", "Change it")])}
    assert provider.writes == ["UpdateResourceServer"], "the whole declared state, as an in-place update"


def test_create_with_adopt_existing_when_nothing_exists_creates_the_server(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)

    assert stack.create({"Api": Custom(adopting(pool))}) == "CREATE_COMPLETE"
    assert held(cognito_idp, pool) == {API: ("Example API", [("read", "Read it"), ("write", "Change it")])}
    assert provider.writes == ["CreateResourceServer"]


def test_a_failed_create_stack_gives_the_adopted_server_back_as_it_was(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before
    assert "DeleteResourceServer" not in provider.writes


def test_a_failed_update_that_added_an_adopting_resource_gives_the_server_back_as_it_was(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Other": Custom(events.properties(pool, identifier="https://other.example.com"))})
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)

    status = stack.update(
        {
            "Other": Custom(events.properties(pool, identifier="https://other.example.com")),
            "Api": Custom(adopting(pool)),
            "Client": Sibling(fails=True),
        }
    )

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_an_adoption_whose_update_fails_names_the_server_and_its_rollback_gives_it_back(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    FAULTS.fail("UpdateResourceServer", "InternalErrorException", times=3, status=500)
    stack = ModelStack(provider.send)

    status = stack.create({"Api": Custom(adopting(pool))})

    assert status == "ROLLBACK_COMPLETE"
    assert stack.requests[0].answer["PhysicalResourceId"] == f"{pool}|{API}", "the rollback must find it"
    assert held(cognito_idp, pool) == before


def test_a_delete_stack_after_a_failed_rollback_still_gives_the_adopted_server_back(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)

    cognito_fails_the_rollback = partial(
        FAULTS.fail, "UpdateResourceServer", "InternalErrorException", times=3, status=500
    )
    stack = ModelStack(before_each_delete(provider.send, cognito_fails_the_rollback))
    assert stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)}) == "ROLLBACK_FAILED"
    FAULTS.reset()

    stack = stack.with_send(provider.send)  # the author deletes the stack once Cognito is back
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == before, "the operation that adopted it never succeeded: not the stack's"


def test_once_the_adopting_operation_succeeded_the_stack_owns_the_server(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool))})

    assert stack.update({"Api": Custom(adopting(pool, scopes=[("admin", "Run it")]))}) == "UPDATE_COMPLETE"
    assert held(cognito_idp, pool) == {API: ("Example API", [("admin", "Run it")])}
    assert stack.delete() == "DELETE_COMPLETE"
    assert held(cognito_idp, pool) == {}


def test_removing_an_adopted_resource_from_the_template_deletes_the_server(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool)), "Client": Sibling()})

    assert stack.update({"Client": Sibling()}) == "UPDATE_COMPLETE"
    assert held(cognito_idp, pool) == {}


def test_deletion_policy_retain_keeps_an_adopted_server(provider: Harness, cognito_idp: Any, pool: str) -> None:
    existing_server(cognito_idp, pool)
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool), retain=True)})

    assert stack.delete() == "DELETE_COMPLETE"
    assert API in held(cognito_idp, pool)


@pytest.mark.parametrize(("before", "after"), [("true", "false"), ("false", "true")])
def test_turning_adopt_existing_on_or_off_changes_nothing_in_cognito(
    provider: Harness, cognito_idp: Any, pool: str, before: str, after: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(events.properties(pool, AdoptExisting=before))})
    provider.calls.clear()

    assert stack.update({"Api": Custom(events.properties(pool, AdoptExisting=after))}) == "UPDATE_COMPLETE"
    assert provider.writes == []
    assert stack.physical_ids == {"Api": f"{pool}|{API}"}


def test_a_repeated_delivery_of_an_adopting_create_keeps_what_the_server_held_first(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app

    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    monkeypatch.setattr(
        app.provider, "replay", Replay(None, app.provider.budget, app.provider.replay._tables)
    )  # as when the answer store was unreachable
    stack = ModelStack(provider.send)
    create = stack._request

    def delivered_twice(request_type: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = create(request_type, *args, **kwargs)
        if request_type == "Create":
            again = provider.send(stack.requests[-1].event)  # the same request, RequestId and all
            assert again["Status"] == "SUCCESS", again["Reason"]
        return answer

    monkeypatch.setattr(stack, "_request", delivered_twice)
    status = stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)})

    assert status == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_adoption_the_operator_switched_off_is_refused_and_changes_nothing(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)
    # template.yaml's AllowAdoption "false".
    refusing = in_process.wire(monkeypatch, boto3.client("cognito-idp", config=in_process.QUICK), allow_adoption=False)
    stack = ModelStack(refusing.send)

    assert stack.create({"Api": Custom(adopting(pool))}) == "ROLLBACK_COMPLETE"
    assert "does not adopt (its AllowAdoption parameter is false)" in stack.requests[0].answer["Reason"]
    assert held(cognito_idp, pool) == before
    assert refusing.writes == []


def test_a_replacement_onto_an_existing_identifier_never_adopts(provider: Harness, cognito_idp: Any, pool: str) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": Custom(adopting(pool, identifier="https://first.example.com"))})
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)

    assert stack.update({"Api": Custom(adopting(pool))}) == "UPDATE_ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_an_adopted_server_deleted_during_the_failed_deployment_is_made_again_as_it_was(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)
    before = held(cognito_idp, pool)

    someone_deletes_it = partial(cognito_idp.delete_resource_server, UserPoolId=pool, Identifier=API)
    stack = ModelStack(before_each_delete(provider.send, someone_deletes_it))

    assert stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)}) == "ROLLBACK_COMPLETE"
    assert held(cognito_idp, pool) == before


def test_giving_back_a_server_whose_pool_is_gone_completes_the_rollback(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    existing_server(cognito_idp, pool)

    stack = ModelStack(before_each_delete(provider.send, partial(cognito_idp.delete_user_pool, UserPoolId=pool)))

    assert stack.create({"Api": Custom(adopting(pool)), "Client": Sibling(fails=True)}) == "ROLLBACK_COMPLETE"
