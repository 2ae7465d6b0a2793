"""The docs a user finds their way in: every relative link and anchor leads somewhere, and the
README, which is also the Serverless Application Repository's page, stays short."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.lambda_runtime import ROOT

DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert broken == []


def test_the_readme_stays_within_300_lines() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 300


def test_internals_names_every_module_of_the_provider_with_its_one_job() -> None:
    internals = (ROOT / "docs" / "internals.md").read_text()
    modules = ["app.py", *sorted(p.name for p in (ROOT / "function" / "resource_server").glob("[!_]*.py"))]

    assert [module for module in modules if f"| `{module}` | " not in internals] == []
