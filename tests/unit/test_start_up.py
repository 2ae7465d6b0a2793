"""What the entry module needs before it can answer is the standard library alone."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.lambda_runtime import FUNCTION


def test_the_modules_that_answer_a_provider_that_cannot_start_import_only_the_standard_library() -> None:
    probe = (
        "import sys; import resource_server.startup; "
        "print(__import__('json').dumps(sorted({m.split('.')[0] for m in sys.modules} - set(sys.stdlib_module_names))))"
    )
    found = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        env={"PYTHONPATH": str(FUNCTION)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert set(json.loads(found.stdout)) - {"__main__"} == {"resource_server"}


def test_the_entry_module_imports_startup_before_anything_that_could_fail() -> None:
    source = (FUNCTION / "app.py").read_text()

    assert source.index("from resource_server import startup") < source.index("try:")
    assert source.index("try:") < source.index("from resource_server.provider import Provider")
