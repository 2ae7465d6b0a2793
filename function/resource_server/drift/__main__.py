"""`python -m resource_server.drift --ledger-table NAME [--region R]`: the drift check, with the
operator's own credentials, from a clone (PYTHONPATH=function) or the built function's folder.

Prints the report as JSON; exits 1 when a server drifted, 0 when none did, 2 when it could not
check (the ledger unreadable, or a pool that could not be read and nothing drifted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from resource_server.aws import tables
from resource_server.budget import Budget
from resource_server.cognito import Cognito
from resource_server.ledger import Ledger

from .check import LedgerUnreadable, check
from .report import as_dict, exit_code

TIME_S = 600  # as long as the whole check may take: each call is bounded within it


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resource_server.drift", description=__doc__.splitlines()[0])
    parser.add_argument("--ledger-table", required=True, help="the provider's ledger: its stack's LedgerTable output")
    parser.add_argument("--region", help="the provider's Region; default: the SDK's (AWS_REGION, your profile)")
    args = parser.parse_args(argv)
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = args.region
    budget = Budget()
    budget.start(TIME_S * 1000)
    ledger = Ledger(args.ledger_table, budget, tables(budget.tables_end))
    try:
        report = check(ledger, Cognito.from_environment(budget.calls_end))
    except LedgerUnreadable as unreadable:
        print(f"drift: {unreadable}", file=sys.stderr)
        return 2
    print(json.dumps(as_dict(report), indent=2))
    return exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
