"""The provider's IAM policy allows only what it calls, on user pools and its own table."""

from __future__ import annotations

from typing import Any

from cfnlint.decode import decode

from tests.support.lambda_runtime import ROOT

COGNITO_ACTIONS = {
    "cognito-idp:CreateResourceServer",
    "cognito-idp:UpdateResourceServer",
    "cognito-idp:DeleteResourceServer",
    "cognito-idp:DescribeResourceServer",
}
IDEMPOTENCY_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
STACK_ACTIONS = {"cloudformation:DescribeStacks"}
USER_POOLS = {"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/*"}


def template() -> dict[str, Any]:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert parsed is not None, problems
    return parsed


def statements() -> list[dict[str, Any]]:
    function = template()["Resources"]["Function"]["Properties"]
    found = [s for policy in function["Policies"] for s in policy["Statement"]]
    assert found
    return found


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def test_only_the_actions_the_provider_calls_are_allowed() -> None:
    actions = [action for statement in statements() for action in actions_of(statement)]

    assert set(actions) == COGNITO_ACTIONS | IDEMPOTENCY_ACTIONS | STACK_ACTIONS
    assert not [a for a in actions if "*" in a]
    assert all(statement["Effect"] == "Allow" for statement in statements())


def test_cognito_actions_are_scoped_to_user_pool_arns() -> None:
    cognito = [s for s in statements() if set(actions_of(s)) <= COGNITO_ACTIONS]

    assert len(cognito) == 1
    condition, all_pools, given_pools = cognito[0]["Resource"]["Fn::If"]
    assert condition == "AnyUserPool"
    assert all_pools == USER_POOLS
    assert given_pools == {"Ref": "UserPoolArns"}
    assert template()["Parameters"]["UserPoolArns"]["Type"] == "CommaDelimitedList"


def test_dynamodb_actions_are_scoped_to_the_idempotency_table() -> None:
    dynamodb = [s for s in statements() if set(actions_of(s)) <= IDEMPOTENCY_ACTIONS]

    assert len(dynamodb) == 1
    assert dynamodb[0]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_stack_status_read_is_read_only_and_scoped_to_this_accounts_stacks() -> None:
    stack = [s for s in statements() if set(actions_of(s)) & STACK_ACTIONS]

    assert len(stack) == 1
    assert actions_of(stack[0]) == ["cloudformation:DescribeStacks"]
    assert stack[0]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*/*"
    }


def test_no_managed_policy_widens_the_function() -> None:
    function = template()["Resources"]["Function"]["Properties"]

    assert all(isinstance(policy, dict) for policy in function["Policies"]), "no managed policy names"
    assert "Role" not in function
