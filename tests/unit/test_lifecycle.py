"""Each behaviour of Create, Update and Delete, pinned on moto's Cognito."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from tests.support import events
from tests.support.in_process import Harness

API = "https://api.example.com"


def create(provider: Harness, props: dict[str, Any]) -> dict[str, Any]:
    return provider.send(events.request("Create", props))


def held(cognito_idp: Any, pool: str, identifier: str = API) -> dict[str, Any]:
    return dict(cognito_idp.describe_resource_server(UserPoolId=pool, Identifier=identifier)["ResourceServer"])


def test_create_makes_the_server_and_returns_its_id_and_scope_strings(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    answer = create(provider, events.properties(pool))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert answer["Data"] == {
        "Identifier": API,
        "UserPoolId": pool,
        "Name": "Example API",
        "Scopes": f"{API}/read {API}/write",
    }
    assert held(cognito_idp, pool)["Scopes"] == [
        {"ScopeName": "read", "ScopeDescription": "Read it"},
        {"ScopeName": "write", "ScopeDescription": "Change it"},
    ]
    assert provider.writes == ["CreateResourceServer"]


def test_create_with_no_scopes_outputs_an_empty_scopes_string(provider: Harness, cognito_idp: Any, pool: str) -> None:
    answer = create(provider, events.properties(pool, scopes=None))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["Scopes"] == ""
    assert held(cognito_idp, pool).get("Scopes", []) == []


def test_create_with_an_empty_scope_list_is_the_same_as_none(provider: Harness, pool: str) -> None:
    answer = create(provider, events.properties(pool, scopes=[]))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["Data"]["Scopes"] == ""


def test_service_timeout_and_service_token_are_accepted_and_ignored(provider: Harness, pool: str) -> None:
    props = events.properties(pool, ServiceTimeout="300")
    assert "ServiceToken" in props

    answer = create(provider, props)

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert set(answer["Data"]) == {"Identifier", "UserPoolId", "Name", "Scopes"}


def test_answer_carries_the_envelope_cloudformation_matches_on(provider: Harness, pool: str) -> None:
    event = events.request("Create", events.properties(pool))

    answer = provider.send(event)

    assert {k: answer[k] for k in ("StackId", "RequestId", "LogicalResourceId")} == {
        k: event[k] for k in ("StackId", "RequestId", "LogicalResourceId")
    }
    assert answer["NoEcho"] is False


def test_update_in_place_sends_name_and_the_complete_scope_list(provider: Harness, pool: str) -> None:
    old = events.properties(pool)
    new = events.properties(pool, name="Renamed API", scopes=[("read", "Read it"), ("admin", "Run it")])
    request = {"UserPoolId": pool, "Identifier": API}
    with Stubber(provider.client) as stub:
        stub.add_response(
            "describe_resource_server",
            {
                "ResourceServer": {
                    **request,
                    "Name": "Example API",
                    "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read it"}],
                }
            },
            request,
        )
        stub.add_response(
            "update_resource_server",
            {"ResourceServer": {**request, "Name": "Renamed API"}},
            {
                **request,
                "Name": "Renamed API",
                "Scopes": [
                    {"ScopeName": "read", "ScopeDescription": "Read it"},
                    {"ScopeName": "admin", "ScopeDescription": "Run it"},
                ],
            },
        )
        answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))
        stub.assert_no_pending_responses()

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert answer["Data"]["Scopes"] == f"{API}/read {API}/admin"


def test_update_in_place_replaces_the_whole_scope_set_in_cognito(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    old = events.properties(pool)
    create(provider, old)
    new = events.properties(pool, scopes=[("admin", "Run it")])

    answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert held(cognito_idp, pool)["Scopes"] == [{"ScopeName": "admin", "ScopeDescription": "Run it"}]


def test_update_that_changes_nothing_cognito_holds_makes_no_write(provider: Harness, pool: str) -> None:
    old = events.properties(pool)
    create(provider, old)
    # Only CloudFormation's own keys and the scope order differ.
    new = events.properties(pool, scopes=[("write", "Change it"), ("read", "Read it")], ServiceTimeout="120")
    provider.calls.clear()

    answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.writes == []
    assert answer["Data"]["Scopes"] == f"{API}/write {API}/read"


def test_update_rollback_restores_the_old_state(provider: Harness, cognito_idp: Any, pool: str) -> None:
    old = events.properties(pool)
    new = events.properties(pool, name="Renamed API", scopes=[("admin", "Run it")])
    create(provider, old)
    provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    # CloudFormation rolls a failed update back with another Update carrying the old properties.
    answer = provider.send(events.request("Update", old, physical_id=f"{pool}|{API}", old_properties=new))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    server = held(cognito_idp, pool)
    assert server["Name"] == "Example API"
    assert [s["ScopeName"] for s in server["Scopes"]] == ["read", "write"]


def test_update_with_new_identifier_replaces_and_keeps_old_for_cleanup(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    old = events.properties(pool)
    create(provider, old)
    new = events.properties(pool, identifier="https://v2.api.example.com")

    answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|https://v2.api.example.com"
    assert answer["Data"]["Scopes"] == "https://v2.api.example.com/read https://v2.api.example.com/write"
    assert held(cognito_idp, pool)["Name"] == "Example API", "the old server waits for the cleanup Delete"
    assert provider.writes == ["CreateResourceServer", "CreateResourceServer"]

    cleanup = provider.send(events.request("Delete", old, physical_id=f"{pool}|{API}"))

    assert cleanup["Status"] == "SUCCESS"
    listed = cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"]
    assert [s["Identifier"] for s in listed] == ["https://v2.api.example.com"]


def test_update_with_new_user_pool_replaces(provider: Harness, cognito_idp: Any, pool: str) -> None:
    other_pool = cognito_idp.create_user_pool(PoolName="other")["UserPool"]["Id"]
    old = events.properties(pool)
    create(provider, old)

    answer = provider.send(
        events.request("Update", events.properties(other_pool), physical_id=f"{pool}|{API}", old_properties=old)
    )

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{other_pool}|{API}"
    assert held(cognito_idp, other_pool)["Identifier"] == API
    assert held(cognito_idp, pool)["Identifier"] == API, "the old server waits for the cleanup Delete"


def test_replacement_onto_an_existing_identifier_fails_and_keeps_the_old_id(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    old = events.properties(pool)
    create(provider, old)
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier="https://taken.example.com", Name="Someone else")

    new = events.properties(pool, identifier="https://taken.example.com")
    answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert answer["Status"] == "FAILED"
    assert "already exists" in answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert held(cognito_idp, pool, "https://taken.example.com")["Name"] == "Someone else"


def test_update_recreates_a_server_deleted_outside_the_stack(provider: Harness, cognito_idp: Any, pool: str) -> None:
    old = events.properties(pool)
    create(provider, old)
    cognito_idp.delete_resource_server(UserPoolId=pool, Identifier=API)
    new = events.properties(pool, scopes=[("admin", "Run it")])

    answer = provider.send(events.request("Update", new, physical_id=f"{pool}|{API}", old_properties=old))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert held(cognito_idp, pool)["Scopes"] == [{"ScopeName": "admin", "ScopeDescription": "Run it"}]


def test_delete_removes_the_server(provider: Harness, cognito_idp: Any, pool: str) -> None:
    props = events.properties(pool)
    create(provider, props)

    answer = provider.send(events.request("Delete", props, physical_id=f"{pool}|{API}"))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert answer["PhysicalResourceId"] == f"{pool}|{API}"
    assert answer["Data"] == {}
    assert cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []


def test_delete_of_a_server_already_gone_succeeds(provider: Harness, pool: str) -> None:
    answer = provider.send(events.request("Delete", events.properties(pool), physical_id=f"{pool}|{API}"))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert provider.calls == ["DescribeResourceServer"], "it looks first: a server Cognito manages is never deleted"


def test_delete_when_the_user_pool_is_gone_succeeds(provider: Harness, cognito_idp: Any, pool: str) -> None:
    props = events.properties(pool)
    create(provider, props)
    cognito_idp.delete_user_pool(UserPoolId=pool)

    answer = provider.send(events.request("Delete", props, physical_id=f"{pool}|{API}"))

    assert answer["Status"] == "SUCCESS", answer["Reason"]


def test_delete_of_a_physical_id_this_provider_did_not_make_touches_nothing(provider: Harness, pool: str) -> None:
    props = events.properties(pool)
    create(provider, props)
    provider.calls.clear()
    crhelper_generated = "1c2fa620-982a-11e3-aff7-50e2416294e0_Api_A1B2C3D4"

    for foreign in (crhelper_generated, "Api-resource", f"{pool}/{API}", f"not a pool|{API}", f"{pool}|has space"):
        answer = provider.send(events.request("Delete", props, physical_id=foreign))
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        assert answer["PhysicalResourceId"] == foreign

    assert provider.calls == []


def test_delete_with_properties_now_invalid_still_deletes(provider: Harness, cognito_idp: Any, pool: str) -> None:
    props = events.properties(pool)
    create(provider, props)

    answer = provider.send(events.request("Delete", {"Scope": "typo"}, physical_id=f"{pool}|{API}"))

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []


def test_create_over_an_existing_identifier_fails_and_its_rollback_delete_leaves_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier=API, Name="Not ours")

    failed = create(provider, events.properties(pool))

    assert failed["Status"] == "FAILED"
    assert "already exists" in failed["Reason"]
    assert 'Set AdoptExisting to "true" to take it over' in failed["Reason"], "nothing is adopted unasked"
    assert failed["PhysicalResourceId"], "CloudFormation rejects an empty physical id"
    assert failed["PhysicalResourceId"] != f"{pool}|{API}"

    # CloudFormation's rollback Delete names whatever id the FAILED answer carried.
    rollback = provider.send(
        events.request("Delete", events.properties(pool), physical_id=failed["PhysicalResourceId"])
    )

    assert rollback["Status"] == "SUCCESS"
    assert held(cognito_idp, pool)["Name"] == "Not ours"


def test_create_in_a_missing_user_pool_fails_naming_the_pool(provider: Harness, cognito_idp: Any) -> None:
    answer = create(provider, events.properties("us-east-1_NoSuchPool"))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("User pool us-east-1_NoSuchPool not found")


def test_the_26th_server_in_a_pool_fails_naming_the_quota(provider: Harness, cognito_idp: Any, pool: str) -> None:
    for n in range(25):
        cognito_idp.create_resource_server(UserPoolId=pool, Identifier=f"https://{n}.example.com", Name="n")

    answer = create(provider, events.properties(pool))

    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith("Quota reached in user pool")
    assert "Service Quotas" in answer["Reason"]
