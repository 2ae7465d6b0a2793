"""`make bench` still runs: one run of each figure. It checks the script, not the timings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.lambda_runtime import FUNCTION, ROOT

pytestmark = pytest.mark.e2e


def test_bench_prints_every_figure_with_its_ratio() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(FUNCTION), str(ROOT)])

    result = subprocess.run(
        [sys.executable, "-m", "tests.tools.bench", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    numbers = [row[2] for row in rows if row[3] not in "bcd"]  # 1b and 6b show only with a build; 5b-5d below
    # 5: 3 creates measured, simulated at that latency and at 50 ms; 300 over 4 pools. 7: six kinds of request.
    assert numbers == ["1", "2", "2", "3", "3", "4", "4", "5", "5", "5", "5", "6", *["7"] * 6, "8", "8"]
    assert [row[2:4] for row in rows if row[2:4] in ("5b", "5c", "5d")] == ["5d"] * 6 + ["5b"] * 3 + ["5c"]
    assert all("x |" in row for row in rows if row[2:4] != "5c"), "every measured figure carries its ratio"
