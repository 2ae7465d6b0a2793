"""README, "Migrating from AWS::Cognito::UserPoolResourceServer", played step by step.

The native resource is modelled as what it leaves in Cognito: a server that exists before the
custom resource does, and an app client holding its scopes. After every deployment, and
whatever fails, the server must exist and hold every scope the client holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import events
from tests.support.in_process import Harness
from tests.support.stack_operations import Custom, ModelStack, Sibling

API = "https://weather-api.example.com"
SCOPES = [("read", "Read forecasts"), ("write", "Publish forecasts")]


class Pool:
    """The user pool, as a stack author looks at it: the server and the client that uses it."""

    def __init__(self, cognito_idp: Any, pool: str) -> None:
        self.cognito_idp, self.id = cognito_idp, pool
        self.client_id = ""

    def native_resource_made_the_server(self) -> None:
        scopes = [{"ScopeName": n, "ScopeDescription": d} for n, d in SCOPES]
        self.cognito_idp.create_resource_server(UserPoolId=self.id, Identifier=API, Name="Weather API", Scopes=scopes)
        client = self.cognito_idp.create_user_pool_client(
            UserPoolId=self.id,
            ClientName="reporting",
            GenerateSecret=True,
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=[f"{API}/{name}" for name, _ in SCOPES],
        )
        self.client_id = client["UserPoolClient"]["ClientId"]

    def client_takes_scopes_from(self, scopes_output: str) -> None:
        """The client's `AllowedOAuthScopes: !Split [" ", !GetAtt Api.Scopes]`."""
        self.cognito_idp.update_user_pool_client(
            UserPoolId=self.id,
            ClientId=self.client_id,
            AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["client_credentials"],
            AllowedOAuthScopes=scopes_output.split(" "),
        )

    def assert_every_client_scope_exists(self) -> None:
        client = self.cognito_idp.describe_user_pool_client(UserPoolId=self.id, ClientId=self.client_id)
        held = self.cognito_idp.describe_resource_server(UserPoolId=self.id, Identifier=API)["ResourceServer"]
        existing = {f"{API}/{scope['ScopeName']}" for scope in held["Scopes"]}
        assert set(client["UserPoolClient"]["AllowedOAuthScopes"]) <= existing

    def server(self) -> dict[str, Any]:
        return dict(self.cognito_idp.describe_resource_server(UserPoolId=self.id, Identifier=API)["ResourceServer"])


@pytest.fixture
def weather(cognito_idp: Any, pool: str) -> Pool:
    return Pool(cognito_idp, pool)


def custom(pool: str, *, adopt: bool) -> Custom:
    return Custom(
        events.properties(pool, API, "Weather API", scopes=SCOPES, **({"AdoptExisting": "true"} if adopt else {}))
    )


def test_the_guide_moves_a_native_server_under_the_stack_with_no_moment_without_its_scopes(
    provider: Harness, weather: Pool, pool: str
) -> None:
    stack = ModelStack(provider.send)
    # Before: the native resource (Sibling here) made the server; the client holds its scopes.
    assert stack.create({"NativeApi": Sibling(), "ReportingClient": Sibling()}) == "CREATE_COMPLETE"
    weather.native_resource_made_the_server()
    before = weather.server()

    # Step 1: DeletionPolicy and UpdateReplacePolicy Retain on the native resource. CloudFormation
    # changes no physical resource for a policy, and this provider is not yet involved.
    assert stack.update({"NativeApi": Sibling(), "ReportingClient": Sibling()}) == "UPDATE_COMPLETE"
    weather.assert_every_client_scope_exists()

    # Step 2: the custom resource, under a new logical id, adopts the server; the native one goes,
    # retained; the client takes its scopes from the new output.
    assert stack.update({"WeatherApi": custom(pool, adopt=True), "ReportingClient": Sibling()}) == "UPDATE_COMPLETE"
    weather.assert_every_client_scope_exists()
    created = stack.requests[-1].answer
    assert created["PhysicalResourceId"] == f"{pool}|{API}"
    weather.client_takes_scopes_from(created["Data"]["Scopes"])
    weather.assert_every_client_scope_exists()
    assert weather.server() == before

    # Step 3, optional: drop AdoptExisting. Nothing changes in Cognito.
    provider.calls.clear()
    assert stack.update({"WeatherApi": custom(pool, adopt=False), "ReportingClient": Sibling()}) == "UPDATE_COMPLETE"
    assert provider.writes == []
    weather.assert_every_client_scope_exists()

    # From now on the stack owns it, as it owned the native resource.
    assert stack.delete() == "DELETE_COMPLETE"
    assert weather.cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []


def test_a_failure_in_step_2_gives_the_server_back_as_it_was(provider: Harness, weather: Pool, pool: str) -> None:
    stack = ModelStack(provider.send)
    stack.create({"NativeApi": Sibling(), "ReportingClient": Sibling()})
    weather.native_resource_made_the_server()
    before = weather.server()

    # Step 2 declares different scopes, and another resource of the deployment fails.
    changed = Custom(events.properties(pool, API, "Weather API v2", scopes=[("admin", "Run it")], AdoptExisting="true"))
    status = stack.update({"WeatherApi": changed, "ReportingClient": Sibling(fails=True)})

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert weather.server() == before
    weather.assert_every_client_scope_exists()


def test_a_server_made_by_hand_is_adopted_the_same_way(provider: Harness, weather: Pool, pool: str) -> None:
    weather.native_resource_made_the_server()  # by hand, outside any stack
    before = weather.server()
    stack = ModelStack(provider.send)

    assert stack.create({"WeatherApi": custom(pool, adopt=True), "ReportingClient": Sibling()}) == "CREATE_COMPLETE"
    assert weather.server() == before
    weather.assert_every_client_scope_exists()


def test_moving_a_server_to_another_logical_id_keeps_it_when_the_old_one_is_retained_first(
    provider: Harness, weather: Pool, pool: str
) -> None:
    stack = ModelStack(provider.send)
    stack.create({"Api": custom(pool, adopt=False)})

    # Step 1: DeletionPolicy Retain on the old logical id. Its properties don't change: no request.
    assert stack.update({"Api": Custom(custom(pool, adopt=False).properties, retain=True)}) == "UPDATE_COMPLETE"
    # Step 2: the new logical id adopts the server; the old one is removed, and retained.
    assert stack.update({"WeatherApi": custom(pool, adopt=True)}) == "UPDATE_COMPLETE"

    assert stack.physical_ids == {"WeatherApi": f"{pool}|{API}"}
    assert weather.server()["Identifier"] == API
    assert stack.delete() == "DELETE_COMPLETE"
    assert weather.cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []


def test_moving_within_a_stack_without_retaining_the_old_logical_id_keeps_the_server(
    provider: Harness, weather: Pool, pool: str
) -> None:
    # 1.0.0 deleted it here: the cleanup Delete of the removed logical id named the server. The
    # ledger says the new logical id holds it now, so that Delete leaves it alone.
    stack = ModelStack(provider.send)
    stack.create({"Api": custom(pool, adopt=False)})

    assert stack.update({"WeatherApi": custom(pool, adopt=True)}) == "UPDATE_COMPLETE"
    assert weather.server()["Identifier"] == API
    assert stack.delete() == "DELETE_COMPLETE"
    assert weather.cognito_idp.list_resource_servers(UserPoolId=pool, MaxResults=50)["ResourceServers"] == []
