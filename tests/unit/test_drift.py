"""The drift check: every server the ledger holds live, against what Cognito holds, read only."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from resource_server import event
from resource_server.cognito import Held
from resource_server.contract import ResourceServer, Scope
from resource_server.drift import __main__ as command
from resource_server.drift.compare import MISSING, differences
from tests.support import cloudformation, emulator, events
from tests.support.emulator import LEDGER_TABLE
from tests.support.in_process import Harness
from tests.support.lambda_context import LambdaContext
from tests.support.lambda_runtime import ROOT

API = "https://api.example.com"
NAMESPACE = "CognitoResourceServer/provider"
DECLARED = ResourceServer(
    "us-east-1_Pool1", API, "Example API", (Scope("read", "Read it"), Scope("write", "Change it"))
)


@pytest.fixture(autouse=True)
def metrics_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "cognito-resource-server")


def check(provider: Harness) -> dict[str, Any]:
    report: dict[str, Any] = provider.handler(dict(event.DRIFT_CHECK), LambdaContext(60))
    return report


def create(provider: Harness, pool: str, identifier: str = API, **extra: Any) -> None:
    answer = provider.send(events.request("Create", events.properties(pool, identifier, **extra)))
    assert answer["Status"] == "SUCCESS", answer["Reason"]


def drifted(report: dict[str, Any]) -> dict[str, list[str]]:
    return {found["server"].split("|")[1]: found["differences"] for found in report["drifted"]}


# What differs, for one server


@pytest.mark.parametrize(
    ("held", "found"),
    [
        (DECLARED, ()),
        (DECLARED._replace(scopes=DECLARED.scopes[::-1]), ()),
        (DECLARED._replace(name="Edited"), ("Name: 'Edited' in Cognito, 'Example API' declared",)),
        (DECLARED._replace(scopes=(*DECLARED.scopes, Scope("admin", "All"))), ("scope added: admin",)),
        (DECLARED._replace(scopes=DECLARED.scopes[:1]), ("scope removed: write",)),
        (
            DECLARED._replace(scopes=(Scope("read", "Read it"), Scope("write", "Edit"))),
            ("scope description: write is 'Edit' in Cognito, 'Change it' declared",),
        ),
    ],
    ids=["same", "same, scopes reordered", "name", "scope added", "scope removed", "scope description"],
)
def test_each_kind_of_difference_is_named_once(held: ResourceServer, found: tuple[str, ...]) -> None:
    assert differences(DECLARED, Held(held, None)) == found


def test_a_server_missing_or_managed_by_cognito_has_drifted_whatever_was_applied() -> None:
    assert differences(DECLARED, None) == (MISSING,)
    assert differences(None, None) == (MISSING,)
    assert differences(None, Held(DECLARED, "cognito")) == ("ManagedBy: Cognito manages it now (cognito)",)
    assert differences(None, Held(DECLARED._replace(name="Edited"), None)) == (), "nothing recorded to compare"


# The check, through the handler


def test_servers_as_declared_have_not_drifted(provider: Harness, pool: str) -> None:
    create(provider, pool)
    create(provider, pool, "https://other.example.com")

    assert check(provider) == {"checked": 2, "drifted": [], "unchecked": []}


def test_each_change_by_hand_is_reported_with_the_stack_that_repairs_it(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    for identifier in ("https://renamed", "https://rescoped", "https://deleted", "https://managed", "https://same"):
        create(provider, pool, identifier)
    cognito_idp.update_resource_server(
        UserPoolId=pool,
        Identifier="https://renamed",
        Name="Edited",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "Read it"},
            {"ScopeName": "write", "ScopeDescription": "Change it"},
        ],
    )
    cognito_idp.update_resource_server(
        UserPoolId=pool,
        Identifier="https://rescoped",
        Name="Example API",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "Read all of it"},
            {"ScopeName": "admin", "ScopeDescription": "All"},
        ],
    )
    cognito_idp.delete_resource_server(UserPoolId=pool, Identifier="https://deleted")
    emulator.manage(pool, "https://managed")

    report = check(provider)

    assert report["checked"] == 5
    assert drifted(report) == {
        "https://renamed": ["Name: 'Edited' in Cognito, 'Example API' declared"],
        "https://rescoped": [
            "scope added: admin",
            "scope removed: write",
            "scope description: read is 'Read all of it' in Cognito, 'Read it' declared",
        ],
        "https://deleted": [MISSING],
        "https://managed": ["ManagedBy: Cognito manages it now (cognito)"],
    }
    first = report["drifted"][0]
    stack_id = events.load("create")["StackId"]
    assert (first["stack_id"], first["logical_id"]) == (stack_id, events.load("create")["LogicalResourceId"])
    assert first["repair"] == "change Api's Revision property and update stack solar-system-api"


def test_servers_no_stack_holds_are_never_reported(provider: Harness, cognito_idp: Any, pool: str) -> None:
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier="https://by-hand", Name="By hand")
    create(provider, pool, "https://deleted-by-its-stack")
    answer = provider.send(
        events.request(
            "Delete",
            events.properties(pool, "https://deleted-by-its-stack"),
            physical_id=f"{pool}|https://deleted-by-its-stack",
        )
    )
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier="https://deleted-by-its-stack", Name="Again")
    # Adopted by a stack whose operation then failed: given back as it was by the rollback.
    cognito_idp.create_resource_server(UserPoolId=pool, Identifier="https://adopted", Name="By hand", Scopes=[])
    stack_id = cloudformation.new_stack("adopts")
    adopt = events.properties(pool, "https://adopted", AdoptExisting="true")
    cloudformation.set_stack_status(stack_id, "CREATE_IN_PROGRESS")
    answer = provider.send({**events.request("Create", adopt), "StackId": stack_id})
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    cloudformation.set_stack_status(stack_id, "ROLLBACK_IN_PROGRESS")  # the adoption failed
    delete = events.request("Delete", adopt, physical_id=f"{pool}|https://adopted")
    answer = provider.send({**delete, "StackId": stack_id})
    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert cognito_idp.describe_resource_server(UserPoolId=pool, Identifier="https://adopted")
    cognito_idp.update_resource_server(UserPoolId=pool, Identifier="https://adopted", Name="Changed after release")

    assert check(provider) == {"checked": 0, "drifted": [], "unchecked": []}


def test_another_providers_servers_are_not_this_ones_to_check(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(provider, pool)
    other = Harness(provider.handler, provider.client, build_other(provider.client))
    monkeypatch.setattr("app.provider", other.provider)

    assert check(other)["checked"] == 0


def build_other(client: Any) -> Any:
    from tests.support.in_process import build

    return build(client, ledger_table="another-providers-ledger")


def test_a_record_from_before_applied_was_kept_is_checked_for_being_there(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    create(provider, pool)
    create(provider, pool, "https://gone")
    dynamodb = boto3.client("dynamodb")
    for identifier in (API, "https://gone"):
        dynamodb.update_item(
            TableName=LEDGER_TABLE, Key={"server": {"S": f"{pool}|{identifier}"}}, UpdateExpression="REMOVE applied"
        )
    cognito_idp.update_resource_server(UserPoolId=pool, Identifier=API, Name="Edited")
    cognito_idp.delete_resource_server(UserPoolId=pool, Identifier="https://gone")

    assert drifted(check(provider)) == {"https://gone": [MISSING]}


def test_a_pool_that_is_gone_leaves_each_of_its_servers_missing(provider: Harness, cognito_idp: Any, pool: str) -> None:
    create(provider, pool)
    cognito_idp.delete_user_pool(UserPoolId=pool)

    report = check(provider)

    assert drifted(report) == {API: [f"{MISSING}: its user pool is gone"]}


def test_a_pool_that_cannot_be_read_is_unchecked_with_why_not_drift(provider: Harness, pool: str) -> None:
    create(provider, pool)
    create(provider, pool, "https://other.example.com")

    with Stubber(provider.client) as stubber:
        stubber.add_client_error("list_resource_servers", "AccessDeniedException", "not allowed")
        report = check(provider)

    assert report["checked"] == 0
    assert report["drifted"] == []
    [unchecked] = report["unchecked"]
    assert unchecked["user_pool_id"] == pool
    assert unchecked["servers"] == 2
    assert unchecked["why"].startswith(f"Access denied to cognito-idp:ListResourceServers on user pool {pool}")


def test_the_check_only_reads_and_lists_a_full_pool_fifty_servers_a_call(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator.FAULTS, "servers_per_pool", 300)
    create(provider, pool)
    dynamodb = boto3.client("dynamodb")
    item = dynamodb.get_item(TableName=LEDGER_TABLE, Key={"server": {"S": f"{pool}|{API}"}})["Item"]
    scopes = [
        {"ScopeName": "read", "ScopeDescription": "Read it"},
        {"ScopeName": "write", "ScopeDescription": "Change it"},
    ]
    for n in range(299):
        identifier = f"https://api-{n:03}.example.com"
        cognito_idp.create_resource_server(UserPoolId=pool, Identifier=identifier, Name="Example API", Scopes=scopes)
        dynamodb.put_item(TableName=LEDGER_TABLE, Item={**item, "server": {"S": f"{pool}|{identifier}"}})
    calls: list[str] = []
    for client in (provider.client, provider.provider.services.ledger._client):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))

    report = check(provider)

    assert report == {"checked": 300, "drifted": [], "unchecked": []}
    # 300 records, 100 a page: the last page may come back empty, as DynamoDB's may.
    assert calls[: calls.index("ListResourceServers")] in (["Scan"] * 3, ["Scan"] * 4)
    assert calls[calls.index("ListResourceServers") :] == ["ListResourceServers"] * 6


def test_the_check_publishes_its_three_counts_as_embedded_metrics(
    provider: Harness, cognito_idp: Any, pool: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    create(provider, pool)
    create(provider, pool, "https://deleted")
    cognito_idp.delete_resource_server(UserPoolId=pool, Identifier="https://deleted")
    capfd.readouterr()  # the log lines and metrics, written where Lambda reads them: the process's stdout

    check(provider)

    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["service"]]
    assert {metric["Name"] for metric in directive["Metrics"]} == {
        "CheckedResourceServers",
        "DriftedResourceServers",
        "UncheckedPools",
    }
    counts = (emf["CheckedResourceServers"], emf["DriftedResourceServers"], emf["UncheckedPools"])
    assert counts == ([2.0], [1.0], [0.0])  # Powertools writes each value as a list, as EMF allows
    assert emf["level"] == "INFO", "a JSON line with no level, Lambda reads as INFO"
    [line] = [record for record in caplog.records if record.getMessage() == "Resource server drifted"]
    assert line.levelname == "WARNING"
    assert line.__dict__["server"] == f"{pool}|https://deleted"
    assert line.__dict__["differences"] == [MISSING]


def test_a_revision_changed_makes_the_update_that_repairs_the_drift(
    provider: Harness, cognito_idp: Any, pool: str
) -> None:
    create(provider, pool)
    cognito_idp.update_resource_server(UserPoolId=pool, Identifier=API, Name="Edited")
    assert drifted(check(provider)) == {
        API: ["Name: 'Edited' in Cognito, 'Example API' declared", *["scope removed: read", "scope removed: write"]]
    }

    before = events.properties(pool)
    answer = provider.send(
        events.request("Update", {**before, "Revision": "2"}, physical_id=f"{pool}|{API}", old_properties=before)
    )

    assert answer["Status"] == "SUCCESS", answer["Reason"]
    assert check(provider) == {"checked": 1, "drifted": [], "unchecked": []}


def test_only_the_schedules_event_is_a_drift_check() -> None:
    assert event.is_drift_check({"Action": "CheckDrift"})
    assert event.is_drift_check(json.loads((ROOT / "events" / "drift-check.json").read_text()))
    assert not event.is_drift_check({**events.load("create"), "Action": "CheckDrift"}), "a request of CloudFormation's"
    assert not event.is_drift_check({"Action": "Other"})
    assert not event.is_drift_check(["Action"])


def test_the_command_prints_the_report_and_exits_by_what_it_found(
    provider: Harness, cognito_idp: Any, pool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create(provider, pool)
    capsys.readouterr()
    assert command.main(["--ledger-table", LEDGER_TABLE]) == 0
    assert json.loads(capsys.readouterr().out) == {"checked": 1, "drifted": [], "unchecked": []}

    cognito_idp.delete_resource_server(UserPoolId=pool, Identifier=API)
    assert command.main(["--ledger-table", LEDGER_TABLE, "--region", emulator.REGION]) == 1
    assert drifted(json.loads(capsys.readouterr().out)) == {API: [MISSING]}

    assert command.main(["--ledger-table", "no-such-table"]) == 2
    assert capsys.readouterr().err.startswith(
        "drift: could not read the ledger table no-such-table (ResourceNotFoundException)"
    )


def test_a_server_a_request_changed_while_the_pool_was_listed_is_left_to_the_next_check(
    provider: Harness, cognito_idp: Any, pool: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    create(provider, pool)
    cognito = provider.provider.services.cognito
    listing = cognito.list_servers

    def list_while_an_update_lands(user_pool_id: str) -> Any:
        # A request wrote between the Scan and the listing: its record's version moved, and
        # Cognito holds what it wrote.
        scopes = events.properties(pool)["Scopes"]
        cognito_idp.update_resource_server(UserPoolId=pool, Identifier=API, Name="Renamed", Scopes=scopes)
        boto3.client("dynamodb").update_item(
            TableName=LEDGER_TABLE,
            Key={"server": {"S": f"{pool}|{API}"}},
            UpdateExpression="SET version = version + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        return listing(user_pool_id)

    monkeypatch.setattr(cognito, "list_servers", list_while_an_update_lands)

    assert check(provider) == {"checked": 0, "drifted": [], "unchecked": []}
    monkeypatch.setattr(cognito, "list_servers", listing)
    # Read again with nothing moving: the record stands, so what differs is drift.
    assert drifted(check(provider)) == {API: ["Name: 'Renamed' in Cognito, 'Example API' declared"]}


def test_the_metrics_pass_lambdas_log_level_filter_whatever_it_is_set_to(
    provider: Harness, pool: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    create(provider, pool)
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR")  # LogLevel ERROR, as Lambda names it
    capfd.readouterr()

    check(provider)

    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    [emf] = [line for line in lines if "_aws" in line]
    assert emf["level"] == "ERROR"
