"""`make release`: what a release attaches, built offline from `sam build`'s output.

- `cognito-resource-server-<name>.zip`: the function, as Lambda runs it;
- `cognito-resource-server-<name>.yaml`: template.yaml with the function's CodeUri pointing
  at that zip, ready for `sam deploy`, `aws cloudformation package` or `sam package && sam publish`;
- LICENSE and README.md, which the template's Serverless Application Repository metadata names;
- SHA256SUMS.

<name> is the version only when the commit is tagged v<version> and nothing the release is made
of differs from it; else it says which commit it came from (`release_name`).

The same commit gives the same bytes: the zip lists its files in order, with fixed dates and
modes, and the build writes no path of the machine it runs on into the artifact.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.lambda_runtime import ROOT

NAME = "cognito-resource-server"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold: no build time leaks in
# What a release is made of: a change here, not yet committed, makes the build differ from the commit.
SOURCES = ("function", "template.yaml", "LICENSE", "README.md")


def version() -> str:
    text = (ROOT / "function" / "resource_server" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    assert found, "function/resource_server/__init__.py names no __version__"
    return found.group(1)


def release_name(version: str, tags: list[str], commit: str | None, dirty: bool) -> str:
    """The name the release files carry. The version alone only for the commit tagged v<version>,
    unchanged: anything else is not that release, and says so. After a `+`, as SemVer's build
    metadata: the commit (`g` and its hash, as `git describe` writes it), and `.dirty` when
    SOURCES differ from it; `+unknown` outside a git clone, where neither can be told."""
    if commit is None:
        return f"{version}+unknown"
    if f"v{version}" in tags and not dirty:
        return version
    return f"{version}+g{commit}" + (".dirty" if dirty else "")


def git_state(root: Path = ROOT) -> tuple[list[str], str | None, bool]:
    """The tags on HEAD, its hash (12 digits, so every clone names it alike), and whether SOURCES
    differ from it, untracked files included; no commit when root is no git clone."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)

    head = git("rev-parse", "--short=12", "HEAD")
    if head.returncode != 0:
        return [], None, False
    tags = git("tag", "--points-at", "HEAD").stdout.split()
    changed = git("status", "--porcelain", "--", *SOURCES).stdout.strip()
    return tags, head.stdout.strip(), bool(changed)


def zip_build(build: Path, target: Path) -> None:
    """The build folder as a zip that is the same bytes for the same files."""
    files = sorted(p for p in build.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(build).as_posix(), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # Lambda needs files readable by others
            info.create_system = 3  # Unix, whatever builds it
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def release_template(code_uri: str, home_url: str | None) -> str:
    """template.yaml, with the function's code in `code_uri` rather than built from function/."""
    text = (ROOT / "template.yaml").read_text()
    text, replaced = re.subn(
        r"    Metadata:\n      BuildMethod: makefile[^\n]*\n(    Properties:\n(?:.*\n)*?      CodeUri: )function/",
        rf"\g<1>{code_uri}",
        text,
    )
    assert replaced == 1, "template.yaml's Function no longer reads as this script expects"
    if home_url:
        text = text.replace(
            "    SemanticVersion:",
            f"    HomePageUrl: {home_url}\n    SourceCodeUrl: {home_url}\n    SemanticVersion:",
            1,
        )
    return text


def repository_url() -> str | None:
    """Where the source is published, from git's origin when it is a web address."""
    found = subprocess.run(
        ["git", "config", "--get", "remote.origin.url"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    found = re.sub(r"^git@([^:]+):", r"https://\1/", found).removesuffix(".git")
    return found if found.startswith("https://") else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="sam build's output for the function")
    parser.add_argument("dist", type=Path, help="where the release files go")
    parser.add_argument("--home-url", help="HomePageUrl and SourceCodeUrl (default: git's origin, if https)")
    args = parser.parse_args()
    if not (args.build / "app.py").is_file():
        print(f"release: {args.build} holds no built function; run `make package` first", file=sys.stderr)
        return 1
    home_url = args.home_url or repository_url()
    release = release_name(version(), *git_state())
    stem = f"{NAME}-{release}"
    shutil.rmtree(args.dist, ignore_errors=True)
    args.dist.mkdir(parents=True)
    zip_build(args.build, args.dist / f"{stem}.zip")
    (args.dist / f"{stem}.yaml").write_text(release_template(f"{stem}.zip", home_url))
    for name in ("LICENSE", "README.md"):
        shutil.copyfile(ROOT / name, args.dist / name)
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(args.dist.iterdir())]
    (args.dist / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    print(f"Release {release} in {args.dist}/:")
    print("\n".join(f"  {line}" for line in sums))
    if release != version():
        # The template's SemanticVersion stays the plain version, which the Serverless Application
        # Repository needs; so only a tagged release may be published.
        print(
            f"  (not release {version()}: that is the commit tagged v{version()}, unchanged. Don't publish "
            'this one; to cut a release, see CONTRIBUTING.md, "Cutting a release")'
        )
    if not home_url:
        print("  (no HomePageUrl or SourceCodeUrl: pass HOME_URL=https://... for `sam publish`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
