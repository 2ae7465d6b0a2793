"""The built function, run as Lambda runs it: AWS's runtime interface client polling our Runtime API.

Lambda starts `python -m awslambdaric app.handler` in /var/task, with the runtime's own SDK
in /var/runtime. The client (awslambdaric, from PyPI) asks the Runtime API for each event,
calls the handler, and posts back what it returned or raised. Here `sam build`'s output
stands in for /var/task, an SDK folder made from tests/locks for /var/runtime, and
`RuntimeApi` for Lambda's Runtime API, on 127.0.0.1. Python runs without site-packages, so
nothing of the tests' own environment leaks in. Lambda stops an instance at its deadline,
and so does `LambdaInstance.invoke`.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.lambda_runtime import ROOT, Invocation, function_environment

BUILD = ROOT / ".aws-sam" / "build" / "Function"
SDKS = ROOT / ".venv" / "sdk"  # one folder per tests/locks/sdk-*.txt, made by the Makefile
PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:cognito-resource-server-provider-Function"


def lambda_python() -> str:
    """The interpreter that runs the function: python3.13, as the runtime has it."""
    return os.environ.get("LAMBDA_PYTHON") or str(Path(sys.base_prefix) / "bin" / "python3")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # an instance stopped mid-request is no news
            super().handle_error(request, client_address)


class RuntimeApi:
    """Lambda's Runtime API for one execution environment: one invocation at a time."""

    def __init__(self) -> None:
        self._next: queue.Queue[tuple[str, bytes, int]] = queue.Queue()
        self._done: dict[str, tuple[str, bytes]] = {}
        self._changed = threading.Condition()
        self.init_error: bytes | None = None
        self.first_poll: float | None = None  # time.monotonic() of the first GET next: init ended
        self._polled = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                if api.first_poll is None:
                    api.first_poll = time.monotonic()
                    api._polled.set()
                request_id, body, deadline_ms = api._next.get()
                self._reply(
                    200,
                    body,
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                        "Content-Type": "application/json",
                    },
                )

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                parts = self.path.removeprefix(PREFIX).strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_error = body
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    with api._changed:
                        api._done[parts[1]] = (parts[2], body)
                        api._changed.notify_all()
                else:
                    self._reply(404)
                    return
                self._reply(202)

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self._server.server_address[1]}"

    def offer(self, event: dict[str, Any], timeout_s: float) -> tuple[str, float]:
        request_id = str(uuid.uuid4())
        deadline = time.time() + timeout_s
        self._next.put((request_id, json.dumps(event).encode(), int(deadline * 1000)))
        return request_id, deadline

    def outcome(self, request_id: str, deadline: float) -> tuple[str, bytes] | None:
        with self._changed:
            while request_id not in self._done:
                if not self._changed.wait(timeout=max(0.0, deadline - time.time())):
                    return None
            return self._done[request_id]

    def polled(self, timeout_s: float) -> bool:
        return self._polled.wait(timeout_s)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LambdaInstance:
    """One execution environment running the built function on one SDK, warm between invocations."""

    def __init__(
        self,
        sdk: str,
        endpoint: str,
        cert_file: Path,
        *,
        ahead: Path | None = None,
        handler: str = "app.handler",
        build: Path = BUILD,
        **env: str,
    ) -> None:
        """`ahead`: a folder Python searches before /var/task, as for a broken layer. `build`
        stands in for /var/task; `handler` is the function's Handler setting."""
        self.sdk = sdk
        self._endpoint, self._cert_file, self._env, self._ahead = endpoint, cert_file, env, ahead
        self._handler, self._build = handler, build
        self._log = tempfile.NamedTemporaryFile(prefix=f"lambda-{sdk}-", suffix=".log")  # noqa: SIM115 - lives with the instance
        self.api = RuntimeApi()
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        sdk_dir = SDKS / self.sdk
        assert (sdk_dir / ".installed").exists(), f"{sdk_dir} is missing: run the tests through make"
        assert (self._build / "app.py").exists(), f"{self._build} is missing: run `make package` first"
        env = function_environment(self._endpoint, self._cert_file, **self._env)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join(
                    [*([str(self._ahead)] if self._ahead else []), str(self._build), str(sdk_dir)]
                ),
                "LAMBDA_TASK_ROOT": str(self._build),
                "AWS_LAMBDA_RUNTIME_API": self.api.address,
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            }
        )
        # -S: no site-packages, as /var/task and /var/runtime are all the function sees.
        self.started = time.monotonic()
        return subprocess.Popen(
            [lambda_python(), "-S", "-m", "awslambdaric", self._handler],
            cwd=self._build,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def init_duration(self, timeout_s: float = 30.0) -> float:
        """Seconds from the process's start to its first poll for an event, as Lambda's Init
        Duration counts them: the runtime client's start, then the handler module's import."""
        if not self.api.polled(timeout_s) or self.api.first_poll is None:
            raise RuntimeError(f"{self._handler} did not finish init:\n{self.logs}")
        return self.api.first_poll - self.started

    def invoke(self, event: dict[str, Any], timeout_s: float = 60.0) -> Invocation:
        started = time.monotonic()
        request_id, deadline = self.api.offer(event, timeout_s)
        outcome = self.api.outcome(request_id, deadline + 1.0)  # a second's grace for the post
        if outcome is None:
            # Lambda stops the environment at the deadline; the next invocation starts cold.
            self.process.kill()
            self.process.wait()
            self.api.stop()
            self.api = RuntimeApi()
            self.process = self._start()
            return Invocation("timeout", time.monotonic() - started, request_id=request_id)
        kind, body = outcome
        return Invocation(kind, time.monotonic() - started, request_id=request_id, body=body)

    @property
    def logs(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        self.api.stop()
        self._log.close()
