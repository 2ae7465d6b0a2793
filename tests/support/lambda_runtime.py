"""Run the real handler the way the Lambda runtime does: one fresh process per request.

`invoke()` starts `python -m tests.support.lambda_runtime` with the event on stdin and
the function's environment. The child imports `app` cold (Lambda's init phase), then reads
its event, builds a context with the function's timeout, calls `app.handler`, and is killed
at the deadline, as Lambda would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.support import events

if TYPE_CHECKING:
    from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "function"
TIMED_OUT = 124  # the child's exit code when Lambda's deadline kills it
READY_FILE = "LAMBDA_RUNTIME_READY_FILE"  # touched by the child once its init phase is over
# Where the child writes what the handler returned, as the Runtime API would receive it.
RESULT_FILE = "LAMBDA_RUNTIME_RESULT_FILE"
# Lambda gives init 10 s; this much more, on a busy machine, before a process is taken for stuck.
INIT_LIMIT_S = 30.0
# As template.yaml names it, for a provider stack named cognito-resource-server-provider.
METRICS_NAMESPACE = "CognitoResourceServer/cognito-resource-server-provider"


@dataclass(frozen=True)
class Invocation:
    """One invocation of the function, however the tests ran it: a fresh process (here), or the
    built artifact under the runtime interface client (lambda_service.py)."""

    outcome: str  # "response" (it returned), "error" (it raised or crashed), "timeout" (stopped at the deadline)
    seconds: float
    logs: str = ""  # everything the function wrote, as Lambda sends it to CloudWatch
    request_id: str = ""  # the Lambda invocation's, under the runtime interface client
    body: bytes = b""  # what the handler returned or raised, as the Runtime API got it

    @property
    def timed_out(self) -> bool:
        return self.outcome == "timeout"


def function_environment(endpoint: str, cert_file: Path | str, **extra: str) -> dict[str, str]:
    """What Lambda and template.yaml give the function, aimed at local stand-ins."""
    from tests.support.emulator import LEDGER_TABLE  # not at the top: the child Lambda process imports this module

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(FUNCTION), str(ROOT)]),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_LAMBDA_FUNCTION_NAME": "cognito-resource-server-provider-Function",
            "POWERTOOLS_SERVICE_NAME": "cognito-resource-server",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "LOG_LEVEL": "INFO",
            "LEDGER_TABLE": LEDGER_TABLE,
            "SSL_CERT_FILE": str(cert_file),
        }
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(extra)
    return env


def start(
    event: dict[str, Any] | None, env: dict[str, str], timeout_s: float = 60.0, *, yields: bool = False
) -> subprocess.Popen[str]:
    """A cold Lambda process; it runs init, then waits for its event on stdin (None: send it later).
    `yields`: it runs at the lowest priority, as a Lambda shares no CPU with AWS's services. The
    scheduler weighs each process: at nice 10, 25 runnable ones a core still left an emulator a
    quarter of it; at 19, about three quarters."""
    process = subprocess.Popen(
        [
            *(["nice", "-n", "19"] if yields else []),
            sys.executable,
            "-m",
            "tests.support.lambda_runtime",
            str(timeout_s),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if event is not None:
        deliver(process, event)
    return process


def deliver(process: subprocess.Popen[str], event: dict[str, Any]) -> None:
    assert process.stdin is not None
    process.stdin.write(json.dumps(event))
    process.stdin.close()


def finish(process: subprocess.Popen[str], started: float) -> Invocation:
    assert process.stdout is not None
    logs = process.stdout.read()
    return Invocation(_outcome(process.wait()), time.monotonic() - started, logs)


def _outcome(code: int) -> str:
    return "timeout" if code == TIMED_OUT else "response" if code == 0 else "error"


def invoke(event: dict[str, Any], env: dict[str, str], timeout_s: float = 60.0) -> Invocation:
    """One invocation, stopped at the deadline; a process stuck before it starts (in init) is
    killed INIT_LIMIT_S later, so that no caller can wait for ever."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        process = start(None, {**env, RESULT_FILE: str(result)}, timeout_s)
        try:
            logs, _ = process.communicate(json.dumps(event), timeout=timeout_s + INIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            logs, _ = process.communicate()
            return Invocation("timeout", time.monotonic() - started, logs)
        body = result.read_bytes() if result.exists() else b""
    return Invocation(_outcome(process.returncode), time.monotonic() - started, logs, body=body)


class LocalLambda:
    """The deployed function, aimed at a local Cognito and receiver: each send is a fresh process."""

    def __init__(self, endpoint: str, receiver: Receiver, **env: str) -> None:
        self.receiver = receiver
        self.env = function_environment(endpoint, receiver.cert_file, **env)
        self.last: Invocation | None = None

    def send(self, event: dict[str, Any], *, timeout_s: float = 60.0, **options: Any) -> dict[str, Any]:
        """Invoke on `event`, as `run` does; return the answer CloudFormation would get."""
        aimed = self.run(event, timeout_s=timeout_s, **options)
        assert self.last is not None
        if self.last.timed_out:
            raise TimeoutError(f"the function timed out after {timeout_s} s:\n{self.last.logs}")
        return self.receiver.answer_for(aimed["RequestId"], timeout_s=5)

    def run(
        self,
        event: dict[str, Any],
        *,
        pool: str | None = None,
        timeout_s: float = 60.0,
        new_request_id: bool = True,
        **env: str,
    ) -> dict[str, Any]:
        """Invoke on `event` aimed at `pool` and the receiver, however it ends (`last` says how);
        return the event as aimed."""
        aimed = events.aimed(event, pool=pool, receiver=self.receiver.host, new_request_id=new_request_id)
        self.last = invoke(aimed, {**self.env, **env}, timeout_s)
        return aimed


def run_at_once(
    function: LocalLambda,
    requests: list[dict[str, Any]],
    timeout_s: float = 60.0,
    *,
    timed_out: list[str] | None = None,
    released: list[float] | None = None,
) -> list[dict[str, Any]]:
    """Cold-start one process per request, then hand them their events at the same moment, as
    CloudFormation does with independent resources. Returns their answers, in order. A function
    that hits its deadline fails the run, unless `timed_out` is given: then its logs go there.
    `released` gets the time.monotonic() at which the events were handed over."""
    with tempfile.TemporaryDirectory() as ready_dir:
        processes = [
            start(None, {**function.env, READY_FILE: f"{ready_dir}/{n}"}, timeout_s, yields=True)
            for n in range(len(requests))
        ]
        deadline = time.monotonic() + 60 + len(requests)  # two cores start a hundred processes slowly
        while len(os.listdir(ready_dir)) < len(requests):
            assert time.monotonic() < deadline, "the Lambda processes did not finish init"
            time.sleep(0.05)
        aimed = [events.aimed(r, receiver=function.receiver.host) for r in requests]
        started = time.monotonic()
        if released is not None:
            released.append(started)
        for process, event in zip(processes, aimed, strict=True):
            deliver(process, event)
        invocations = [finish(p, started) for p in processes]
    late = [i.logs for i in invocations if i.timed_out]
    if timed_out is None:
        assert not late, "a function hit its deadline"
    else:
        timed_out += late
    return [_answer_or_none(function.receiver, event["RequestId"], 1 if late else 30) for event in aimed]


def _answer_or_none(receiver: Receiver, request_id: str, timeout_s: float) -> dict[str, Any]:
    try:
        return receiver.answer_for(request_id, timeout_s=timeout_s)
    except TimeoutError:
        return {"Status": "NO ANSWER", "Reason": "no answer reached the ResponseURL", "PhysicalResourceId": ""}


def _main() -> None:
    timeout_s = float(sys.argv[1])
    import app  # Lambda's init phase, before any event
    from tests.support.lambda_context import LambdaContext

    if ready := os.environ.get(READY_FILE):
        Path(ready).touch()
    event = json.loads(sys.stdin.read())
    context = LambdaContext(timeout_s)  # the invoke phase's clock starts with the event

    def deadline() -> None:
        print(f"Task timed out after {timeout_s:.2f} seconds", flush=True)
        os._exit(TIMED_OUT)

    threading.Timer(timeout_s, deadline).start()
    returned = app.handler(event, context)
    if result := os.environ.get(RESULT_FILE):
        Path(result).write_text(json.dumps(returned))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    _main()
