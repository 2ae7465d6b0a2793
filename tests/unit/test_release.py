"""One version, said the same everywhere a user meets it."""

from __future__ import annotations

import re

from cfnlint.decode import decode

from resource_server import __version__
from resource_server.budget import Budget
from resource_server.cognito import Cognito
from tests.support.lambda_runtime import ROOT
from tests.tools import release


def test_the_version_is_one_semantic_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert release.version() == __version__


def test_the_serverless_application_repository_publishes_that_version() -> None:
    parsed, problems = decode(str(ROOT / "template.yaml"))
    assert parsed is not None, problems
    application = parsed["Metadata"]["AWS::ServerlessRepo::Application"]

    assert application["SemanticVersion"] == __version__
    assert application["SpdxLicenseId"] == "Apache-2.0"
    assert (ROOT / application["LicenseUrl"]).is_file()
    assert (ROOT / application["ReadmeUrl"]).is_file()


def test_the_changelog_s_newest_release_is_that_version() -> None:
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)

    assert releases[0] == __version__


def test_cognito_sees_that_version_in_the_user_agent() -> None:
    config = Cognito.from_environment(Budget().calls_end)._client.meta.config

    assert config.user_agent_extra == f"cognito-resource-server/{__version__}"


def test_the_licence_is_apache_2() -> None:
    assert "Apache License\n                           Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
