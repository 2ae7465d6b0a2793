"""The provider's permissions as CloudFormation will create them: what the SAM transform makes of
template.yaml, read the way `sam validate` reads it (aws-sam-translator). Only what the function
calls, each on its own resources; no managed policy; no resource "*"."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from cfnlint.decode import decode
from samtranslator.translator.transform import transform

from tests.support.lambda_runtime import ROOT

COGNITO_ACTIONS = {
    "cognito-idp:CreateResourceServer",
    "cognito-idp:UpdateResourceServer",
    "cognito-idp:DeleteResourceServer",
    "cognito-idp:DescribeResourceServer",
    "cognito-idp:ListResourceServers",  # the drift check
}
# DescribeTable on both: their creation times tell whether the answers table is 1.0.0's own.
IDEMPOTENCY_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
}
# Scan: the drift check reads every live record; no action deletes one.
LEDGER_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DescribeTable", "dynamodb:Scan"}
QUEUE_ACTIONS = {"dynamodb:Query"}
STACK_ACTIONS = {
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",
}
LEDGER_NAME = {"Fn::If": ["CreateLedger", {"Ref": "LedgerTable"}, {"Ref": "ExistingLedgerTable"}]}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
USER_POOLS = {"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/*"}


class _NoManagedPolicies:
    """The transform asks IAM for managed policy ARNs only when a template names one; this one doesn't."""

    def load(self) -> dict[str, str]:
        return {}


@cache
def transformed() -> dict[str, Any]:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert parsed is not None, problems
    template = copy.deepcopy(json.loads(json.dumps(parsed)))
    # What `sam package` writes in place of the local folder.
    template["Resources"]["Function"]["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    result: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return result


@pytest.fixture(autouse=True)
def region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the transform fills in pseudo parameters


def roles() -> dict[str, dict[str, Any]]:
    return {name: r for name, r in transformed()["Resources"].items() if r["Type"] == "AWS::IAM::Role"}


def statements(role: str = "FunctionRole") -> list[dict[str, Any]]:
    found = [
        statement
        for policy in roles()[role]["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert found
    return found


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def only(actions: set[str], sid: str | None = None) -> dict[str, Any]:
    matching = [s for s in statements() if actions_of(s) & actions and sid in (None, s.get("Sid"))]
    assert len(matching) == 1
    assert actions_of(matching[0]) == actions
    return matching[0]


def test_the_function_runs_as_its_own_role_with_no_managed_policy() -> None:
    function = transformed()["Resources"]["Function"]["Properties"]

    assert sorted(roles()) == ["DriftCheckRole", "FunctionRole"], "SAM made no role, so no AWSLambdaBasicExecutionRole"
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert "ManagedPolicyArns" not in roles()["FunctionRole"]["Properties"]
    assert roles()["FunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_only_the_actions_the_provider_calls_are_allowed_and_never_on_every_resource() -> None:
    allowed = set().union(*(actions_of(s) for s in statements()))

    assert (
        allowed == COGNITO_ACTIONS | IDEMPOTENCY_ACTIONS | LEDGER_ACTIONS | QUEUE_ACTIONS | STACK_ACTIONS | LOG_ACTIONS
    )
    assert not [a for a in allowed if "*" in a]
    assert all(s["Effect"] == "Allow" for s in statements())
    assert not [s for s in statements() if s["Resource"] == "*" or "*" in (s["Resource"] or [])]


def test_cognito_actions_are_scoped_to_user_pool_arns() -> None:
    condition, all_pools, given_pools = only(COGNITO_ACTIONS)["Resource"]["Fn::If"]

    assert condition == "AnyUserPool"
    assert all_pools == USER_POOLS
    assert given_pools == {"Ref": "UserPoolArns"}
    assert transformed()["Parameters"]["UserPoolArns"]["Type"] == "CommaDelimitedList"


def test_dynamodb_actions_are_scoped_to_the_idempotency_table() -> None:
    assert only(IDEMPOTENCY_ACTIONS, "ReplayAnswers")["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_ledger_is_read_and_written_only_in_its_own_table_and_its_queue_only_counted_in_its_index() -> None:
    arn = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Ledger}"

    assert only(LEDGER_ACTIONS, "Ledger")["Resource"] == {"Fn::Sub": [arn, {"Ledger": LEDGER_NAME}]}
    assert only(QUEUE_ACTIONS, "LedgerQueue")["Resource"] == {
        "Fn::Sub": [arn + "/index/queue", {"Ledger": LEDGER_NAME}]
    }
    assert "dynamodb:DeleteItem" not in LEDGER_ACTIONS, "a record of a deleted server stays, to fence a late Create"


def test_the_ledger_outlives_the_provider_and_can_be_restored() -> None:
    ledger = transformed()["Resources"]["LedgerTable"]

    assert (ledger["DeletionPolicy"], ledger["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert ledger["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert ledger["Condition"] == "CreateLedger", "a reinstall names the table it kept"
    function = transformed()["Resources"]["Function"]["Properties"]
    assert function["Environment"]["Variables"]["LEDGER_TABLE"] == LEDGER_NAME


def test_the_stack_reads_are_read_only_and_scoped_to_this_accounts_stacks() -> None:
    assert only(STACK_ACTIONS)["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*/*"
    }


def test_logs_go_to_the_functions_own_log_group_and_nowhere_else() -> None:
    function = transformed()["Resources"]["Function"]["Properties"]

    assert only(LOG_ACTIONS)["Resource"] == {"Fn::GetAtt": ["LogGroup", "Arn"]}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "LogGroup"}


def test_logging_follows_lambdas_own_controls() -> None:
    """JSON lines, the platform's too, at the level Lambda's controls set: the Logger reads it
    from AWS_LAMBDA_LOG_LEVEL, so no environment variable of ours competes with it."""
    template = transformed()
    function = template["Resources"]["Function"]["Properties"]
    logging_config = function["LoggingConfig"]

    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["SystemLogLevel"] == "INFO"
    assert logging_config["ApplicationLogLevel"] == {"Fn::FindInMap": ["LambdaLogLevels", {"Ref": "LogLevel"}, "Name"]}
    levels = template["Mappings"]["LambdaLogLevels"]
    assert set(levels) == set(template["Parameters"]["LogLevel"]["AllowedValues"])
    assert {level["Name"] for level in levels.values()} <= {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    assert not {"LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"} & set(function["Environment"]["Variables"])


def test_the_drift_check_schedule_may_only_invoke_the_provider() -> None:
    resources = transformed()["Resources"]
    schedule = resources["DriftCheck"]["Properties"]
    role = roles()["DriftCheckRole"]["Properties"]

    assert "Name" not in schedule, "CloudFormation names it: two providers in one account don't collide"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["DriftCheckRole", "Arn"]}
    assert json.loads(schedule["Target"]["Input"]) == {"Action": "CheckDrift"}
    assert schedule["State"] == {"Fn::If": ["DriftCheckOn", "ENABLED", "DISABLED"]}
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statements("DriftCheckRole") == [
        {
            "Sid": "InvokeProvider",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["Function", "Arn"]},
        }
    ]


def test_the_drift_alarm_exists_only_with_a_topic_and_watches_the_checks_own_metric() -> None:
    resources = transformed()["Resources"]
    alarm = resources["DriftAlarm"]
    variables = resources["Function"]["Properties"]["Environment"]["Variables"]

    assert alarm["Condition"] == "DriftAlarm"
    assert transformed()["Conditions"]["DriftAlarm"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DriftAlarmTopicArn"}, ""]}]
    }
    assert alarm["Properties"]["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Properties"]["MetricName"] == "DriftedResourceServers"
    assert alarm["Properties"]["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": "DriftAlarmTopicArn"}]
