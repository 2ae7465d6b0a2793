"""`make drift`: the drift check, played on this machine.

Three servers are made through the real handler, as a stack's Creates make them; then one is
edited and one deleted by hand, as someone might in the console; then the event the schedule
sends (events/drift-check.json) runs the check, in a fresh process as Lambda runs it, and its
report is printed. Exits 1 unless the report names exactly the two servers changed by hand.
"""

from __future__ import annotations

import json
import sys

from tests.support import events
from tests.support.emulator import running_emulator
from tests.support.lambda_runtime import ROOT, LocalLambda
from tests.support.receiver import Receiver

SERVERS = {
    "https://orders.example.com": "Orders",
    "https://invoices.example.com": "Invoices",
    "https://shipping.example.com": "Shipping",
}
EDITED, DELETED = "https://orders.example.com", "https://invoices.example.com"


def main() -> int:
    with running_emulator() as emulator, Receiver() as receiver:
        pool = emulator.create_user_pool("drift-pool", pool_id=events.EXAMPLE_POOL)
        function = LocalLambda(emulator.endpoint, receiver, IDEMPOTENCY_TABLE=emulator.create_tables())
        print(f"Cognito emulator {emulator.endpoint}, user pool {pool}\n")
        for identifier, name in SERVERS.items():
            create = {**events.request("Create", events.properties(pool, identifier, name)), "LogicalResourceId": name}
            answer = function.send(create, pool=pool)
            print(f"Create {identifier}: {answer['Status']} {answer['Reason']}".rstrip())
            if answer["Status"] != "SUCCESS":
                return 1
        cognito = emulator.client()
        cognito.update_resource_server(
            UserPoolId=pool,
            Identifier=EDITED,
            Name="Orders (edited in the console)",
            Scopes=[
                {"ScopeName": "read", "ScopeDescription": "Read it"},
                {"ScopeName": "admin", "ScopeDescription": "All of it"},
            ],
        )
        cognito.delete_resource_server(UserPoolId=pool, Identifier=DELETED)
        print(f"By hand: {EDITED} renamed, its write scope swapped for admin; {DELETED} deleted\n")

        check = json.loads((ROOT / "events" / "drift-check.json").read_text())
        print("The schedule's event, events/drift-check.json, through the handler in a fresh process:")
        function.run(check, new_request_id=False)
        assert function.last is not None
        if function.last.outcome != "response":
            print(f"The check ended with {function.last.outcome}:\n{function.last.logs}")
            return 1
        report = json.loads(function.last.body)
        print(json.dumps(report, indent=2))

    drifted = {found["server"].split("|", 1)[1] for found in report["drifted"]}
    if report["checked"] != len(SERVERS) or drifted != {EDITED, DELETED} or report["unchecked"]:
        print("\nVerdict: FAIL: the report should name exactly the two servers changed by hand")
        return 1
    print(f"\nVerdict: PASS: {report['checked']} checked, the two changed by hand reported, each with its repair.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
