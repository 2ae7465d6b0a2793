"""`make explore`: the explorer run long, over every scenario (tests/support/scenarios.py).

Every schedule up to BOUND preemptions, as far as SCHEDULES a scenario, then SEEDS random
schedules with faults. Ends with one line, or, for a violation, its shrunk story and schedule.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from tests.support import emulator
from tests.support.explorer import Report, explore, shrink
from tests.support.scenarios import SCENARIOS, in_moto, play


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound", type=int, default=2, help="preemptions a systematic schedule may make")
    parser.add_argument("--schedules", type=int, default=400, help="systematic schedules, at most, a scenario")
    parser.add_argument("--seeds", type=int, default=100, help="random schedules with faults, a scenario")
    args = parser.parse_args()
    for key, value in {
        "AWS_DEFAULT_REGION": emulator.REGION,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }.items():
        os.environ[key] = value
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(key, None)
    logging.disable(logging.CRITICAL)  # thousands of requests fail on purpose
    total = Report(bound=args.bound)
    with in_moto():
        for scenario in SCENARIOS:
            began = time.monotonic()
            report = explore(
                scenario.name,
                play(scenario),
                bound=args.bound,
                faults=scenario.faults,
                limit=args.schedules,
                seeds=range(args.seeds),
            )
            total.schedules += report.schedules
            total.faults += report.faults
            took = time.monotonic() - began
            print(f"  {scenario.name}: {report.schedules} schedules, {report.faults} faults, {took:.0f} s", flush=True)
            if report.violations:
                print(shrink(play(scenario), report.violations[0]))
                total.violations += report.violations
                break
    print(
        f"explored {total.schedules} schedules (at most {total.bound} preemptions), {total.faults} faults injected, "
        f"{len(total.violations)} violations"
    )
    return 1 if total.violations else 0


if __name__ == "__main__":
    sys.exit(main())
