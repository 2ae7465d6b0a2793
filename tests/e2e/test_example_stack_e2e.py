"""examples/m2m-client.yaml, played through the handler: the example can't rot."""

from __future__ import annotations

import pytest

from tests.support import events
from tests.support.emulator import CognitoEmulator
from tests.support.example_templates import ExampleTemplate
from tests.support.lambda_runtime import ROOT, LocalLambda

pytestmark = pytest.mark.e2e
SERVICE_TOKEN = events.load("create")["ServiceToken"]


def test_example_stack_creates_both_servers_and_wires_their_scopes_into_the_client(
    function: LocalLambda, emulator: CognitoEmulator, pool: str
) -> None:
    stack = ExampleTemplate(
        ROOT / "examples" / "m2m-client.yaml",
        refs={"UserPool": pool, "AWS::StackName": "m2m", "DomainPrefix": "m2m-example"},
        imports={"cognito-resource-server-provider-ServiceToken": SERVICE_TOKEN},
    )
    physical_ids = {}
    for logical_id in stack.custom_resources():
        props = stack.properties(logical_id)
        assert props["ServiceTimeout"] == "300", "CloudFormation delivers numbers as strings"
        event = events.request("Create", props)
        event["LogicalResourceId"] = logical_id
        answer = function.send(event)
        assert answer["Status"] == "SUCCESS", answer["Reason"]
        stack.outputs[logical_id] = answer["Data"]
        physical_ids[logical_id] = answer["PhysicalResourceId"]

    client_props = stack.properties("ReportingClient")
    assert client_props["AllowedOAuthScopes"] == [
        "https://solar-system-data-api.example.com/read",
        "https://solar-system-data-api.example.com/write",
        "https://planets-api.example.com/read",
    ]
    held = {
        f"{identifier}/{scope['ScopeName']}"
        for identifier, server in emulator.servers(pool).items()
        for scope in server["Scopes"]
    }
    assert set(client_props["AllowedOAuthScopes"]) == held
    client = emulator.client().create_user_pool_client(
        UserPoolId=pool,
        ClientName=client_props["ClientName"],
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=client_props["AllowedOAuthFlows"],
        AllowedOAuthScopes=client_props["AllowedOAuthScopes"],
    )["UserPoolClient"]
    assert client["AllowedOAuthScopes"] == client_props["AllowedOAuthScopes"]

    for logical_id in reversed(stack.custom_resources()):
        event = events.request("Delete", stack.properties(logical_id), physical_id=physical_ids[logical_id])
        event["LogicalResourceId"] = logical_id
        assert function.send(event)["Status"] == "SUCCESS"
    assert emulator.servers(pool) == {}
