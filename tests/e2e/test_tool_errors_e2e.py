"""`make invoke` and `make emulator` on what a new user gets wrong: one plain line, or the real
answer, and never a traceback or a wait without end."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_local_commands_e2e import answer_in, make, run
from tests.support.lambda_runtime import ROOT

pytestmark = pytest.mark.e2e


def event_file(tmp_path: Path, source: str = "create.json", name: str = "event.json", **changes: Any) -> Path:
    event = json.loads((ROOT / "events" / source).read_text())
    for key, value in changes.items():
        if value is None:
            event.pop(key)
        else:
            event[key] = value
    path = tmp_path / name
    path.write_text(json.dumps(event))
    return path


class WebPage(BaseHTTPRequestHandler):
    """Any HTTP server that is not the emulator, such as AirPlay Receiver on macOS's port 5000."""

    def do_POST(self) -> None:
        body = b"<html><body><h1>AirPlay</h1>" + b"<p>not here</p>" * 40 + b"</body></html>"
        self.send_response(403)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def web_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), WebPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


def test_invoke_against_a_server_that_is_not_the_emulator_says_so_in_one_line(web_page: str) -> None:
    result = run("tests.tools.invoke", "events/create.json", AWS_ENDPOINT_URL=web_page)

    assert result.returncode == 2
    assert result.stderr.startswith(f"make invoke: what answers at {web_page} (AWS_ENDPOINT_URL) is not a Cognito")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "<html>" not in result.stdout + result.stderr


def test_invoke_against_a_port_that_never_answers_stops_within_seconds(silent_port: str) -> None:
    result = run("tests.tools.invoke", "events/create.json", AWS_ENDPOINT_URL=silent_port)

    assert result.returncode == 2
    assert result.stderr.startswith(f"make invoke: {silent_port} (AWS_ENDPOINT_URL) accepts connections but gave no")
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/no-request-id-here?a=1",
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/" + "x" * 8000 + "?a=1",
    ],
    ids=["path without the RequestId", "long but allowed"],
)
def test_invoke_prints_the_answer_whatever_the_path_of_the_response_url(tmp_path: Path, url: str) -> None:
    result = run("tests.tools.invoke", str(event_file(tmp_path, ResponseURL=url)))

    assert result.returncode == 0, result.stdout + result.stderr
    assert answer_in(result.stdout)["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    "url",
    ["https://example.com/a b", "https://example.com/" + "x" * 8200],
    ids=["a space", "longer than 8192"],
)
def test_invoke_of_a_response_url_the_function_cannot_answer_says_why_there_is_no_answer(
    tmp_path: Path, url: str
) -> None:
    result = run("tests.tools.invoke", str(event_file(tmp_path, ResponseURL=url)))

    assert result.returncode == 1
    assert "No answer: the event's ResponseURL is not one the function can answer" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("source", "changes", "reason"),
    [
        ("create.json", {"RequestId": 12345}, "Malformed request: RequestId must be UTF-8 text"),
        ("create-adopt.json", {"StackId": None}, "Malformed request: StackId must be UTF-8 text"),
        ("create-adopt.json", {"StackId": "my-stack"}, ""),
    ],
    ids=["numeric RequestId", "adoption without StackId", "adoption with a StackId that is no ARN"],
)
def test_invoke_shows_the_handlers_answer_to_a_bad_event_without_a_traceback(
    tmp_path: Path, source: str, changes: dict[str, Any], reason: str
) -> None:
    result = run("tests.tools.invoke", str(event_file(tmp_path, source, **changes)))

    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    answer = answer_in(result.stdout)
    assert answer["Status"] == "FAILED"
    assert answer["Reason"].startswith(reason)
    assert result.returncode == 1


def test_invoke_says_when_the_scopes_output_was_left_out(tmp_path: Path) -> None:
    identifier = "https://" + "a" * 230 + ".example.com"
    scopes = [{"ScopeName": f"scope-{n:03}", "ScopeDescription": "d"} for n in range(60)]
    event = json.loads((ROOT / "events" / "create.json").read_text())
    event["ResourceProperties"].update(Identifier=identifier, Scopes=scopes)
    (tmp_path / "event.json").write_text(json.dumps(event))

    result = run("tests.tools.invoke", str(tmp_path / "event.json"))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Scopes" not in answer_in(result.stdout)["Data"]
    assert "Note: Scopes left out of the answer, which CloudFormation caps at 4096 bytes" in result.stdout


def test_invoke_with_debug_but_no_logs_says_where_the_lines_are() -> None:
    result = run("tests.tools.invoke", "events/create.json", LOG_LEVEL="DEBUG")

    assert result.returncode == 0
    assert "Note: LOG_LEVEL=DEBUG changes only the log lines, which LOGS=1 prints." in result.stdout


def test_make_invoke_takes_an_event_path_with_a_space(tmp_path: Path) -> None:
    path = event_file(tmp_path, name="my event.json")

    result = make("invoke", f"EVENT={path}")

    assert result.returncode == 0, result.stdout + result.stderr
    assert answer_in(result.stdout)["Status"] == "SUCCESS"


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_emulator_refuses_a_port_that_is_none_in_one_line(port: str) -> None:
    result = run("tests.tools.emulator", "--port", port)

    assert result.returncode == 2
    assert f"argument --port: invalid port value: '{port}'" in result.stderr
    assert "Traceback" not in result.stderr
