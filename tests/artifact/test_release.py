"""`make release`: the same commit gives the same bytes, and what it gives deploys without a build."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import decode

from tests.support.lambda_runtime import ROOT
from tests.support.lambda_service import lambda_python
from tests.tools import release

pytestmark = pytest.mark.artifact
SAM = ROOT / ".venv" / "sam" / "bin" / "sam"


def sam(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert SAM.exists(), f"{SAM} is missing: run the tests through make"
    env = {
        **os.environ,
        "PATH": f"{Path(lambda_python()).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    return subprocess.run([str(SAM), *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)


def sam_build(build_dir: Path) -> Path:
    """A build of its own, with nothing cached: as on another machine, or another day."""
    sam("build", "--no-cached", "--build-dir", str(build_dir))
    return build_dir / "Function"


def test_two_builds_of_the_same_commit_give_the_same_release_zip(tmp_path: Path) -> None:
    digests = []
    for n in (1, 2):
        target = tmp_path / f"release-{n}.zip"
        release.zip_build(sam_build(tmp_path / f"build-{n}"), target)
        digests.append(hashlib.sha256(target.read_bytes()).hexdigest())

    assert digests[0] == digests[1]


def test_the_release_template_deploys_the_zip_as_it_is(tmp_path: Path) -> None:
    text = release.release_template("cognito-resource-server-1.0.0.zip", "https://example.com/source")
    path = tmp_path / "release.yaml"
    path.write_text(text)

    parsed, problems = decode(str(path))

    assert parsed is not None, problems
    function = parsed["Resources"]["Function"]
    assert function["Properties"]["CodeUri"] == "cognito-resource-server-1.0.0.zip"
    assert "Metadata" not in function, "nothing left to build"
    application = parsed["Metadata"]["AWS::ServerlessRepo::Application"]
    assert application["HomePageUrl"] == application["SourceCodeUrl"] == "https://example.com/source"
    assert "is a valid SAM Template" in sam("validate", "--lint", "-t", path.name, cwd=tmp_path).stdout
