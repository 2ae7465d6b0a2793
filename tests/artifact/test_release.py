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
WHEELS = ROOT / ".venv" / "wheels"  # the function's wheels, which `make package` downloads once


def sam(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    assert SAM.exists(), f"{SAM} is missing: run the tests through make"
    env = {
        **os.environ,
        "PATH": f"{Path(lambda_python()).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
        # As `make package` builds: from the wheels on this machine, with no network.
        **({"FUNCTION_WHEELS": str(WHEELS)} if (WHEELS / ".downloaded").exists() else {}),
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


@pytest.mark.parametrize(
    ("tags", "commit", "dirty", "name"),
    [
        (["v2.0.0", "latest"], "0123456789ab", False, "2.0.0"),
        ([], "0123456789ab", False, "2.0.0+g0123456789ab"),
        (["v1.9.0"], "0123456789ab", False, "2.0.0+g0123456789ab"),
        (["2.0.0"], "0123456789ab", False, "2.0.0+g0123456789ab"),
        (["v2.0.0"], "0123456789ab", True, "2.0.0+g0123456789ab.dirty"),
        ([], "0123456789ab", True, "2.0.0+g0123456789ab.dirty"),
        ([], None, False, "2.0.0+unknown"),
    ],
)
def test_only_the_commit_tagged_with_the_version_gets_the_plain_name(
    tags: list[str], commit: str | None, dirty: bool, name: str
) -> None:
    assert release.release_name("2.0.0", tags, commit, dirty) == name


def test_the_name_reads_the_tags_and_changes_of_the_clone(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        identity = ["-c", "user.name=Release Test", "-c", "user.email=release@example.com"]
        return subprocess.run(
            ["git", *identity, *args], cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout.strip()

    assert release.git_state(tmp_path) == ([], None, False), "no clone: nothing to tell"
    git("init", "--quiet")
    (tmp_path / "function").mkdir()
    (tmp_path / "function" / "app.py").write_text("handler = None\n")
    (tmp_path / "template.yaml").write_text("Resources: {}\n")
    git("add", ".")
    git("commit", "--quiet", "-m", "first")
    commit = git("rev-parse", "HEAD")[:12]

    assert release.release_name("1.0.0", *release.git_state(tmp_path)) == f"1.0.0+g{commit}"
    git("tag", "-a", "v1.0.0", "-m", "1.0.0")
    assert release.release_name("1.0.0", *release.git_state(tmp_path)) == "1.0.0"
    (tmp_path / "notes.txt").write_text("not part of the release\n")
    assert release.release_name("1.0.0", *release.git_state(tmp_path)) == "1.0.0"
    (tmp_path / "function" / "extra.py").write_text("shipped, yet not committed\n")
    assert release.release_name("1.0.0", *release.git_state(tmp_path)) == f"1.0.0+g{commit}.dirty"
    (tmp_path / "function" / "extra.py").unlink()
    (tmp_path / "template.yaml").write_text("Resources: {Changed: {}}\n")
    assert release.release_name("1.0.0", *release.git_state(tmp_path)) == f"1.0.0+g{commit}.dirty"
