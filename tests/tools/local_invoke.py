"""`make local-invoke`: `sam local invoke` for real, in a container, against the Cognito emulator:
the lifecycle of events/ (Create, Update, Update with a new Identifier, the drift check, the
cleanup Delete, the Delete), each answer, or the drift check's report, printed.

Usage: python -m tests.tools.local_invoke [REPO_ROOT] [--keep] [--event events/x.json ...]

REPO_ROOT (default: the current directory) is the SAM project after `make package`: it needs
.aws-sam/build/template.yaml, .venv/bin/python (the emulator) and .venv/sam/bin/sam (SAM CLI).

What it does, in order:
  a. checks that a Docker engine answers; else prints one line saying what to install, exit 2;
  b. ensures public.ecr.aws/lambda/python:3.13-x86_64: the real image if `docker pull` gets it
     within a few seconds, else the one already here, else the stand-in (standin-image.sh);
  c. starts `python -m tests.tools.emulator` bound to the docker0 gateway (what host-gateway
     means) on a free port, so that the container can reach it and nothing else can;
  d. writes an x86_64 copy of .aws-sam/build/template.yaml (this host can't run arm64 images);
  e. runs `sam local invoke Function --skip-pull-image` for each event, the env file aiming
     AWS_ENDPOINT_URL at the emulator;
  f. prints each answer as CloudFormation would receive it (the PUT body): under sam local the
     function tries the sample ResponseURL once and logs the whole answer in its last line,
     "Answer delivered" or "Answer not delivered before the deadline".
Exit 0 when every answer is SUCCESS, 1 when one is not (or none was found), 2 when a
prerequisite is missing. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TAG = "public.ecr.aws/lambda/python:3.13-x86_64"
# The invoke image SAM 1.170 builds on TAG (RIE added). SAM reuses it whenever it exists, even
# when TAG has changed under it, so it is removed whenever TAG changes here.
RAPID = "public.ecr.aws/lambda/python:3.13-rapid-x86_64"
STANDIN_LABEL = "Stand-in for public.ecr.aws/lambda/python"
EVENTS = (
    "events/create.json",
    "events/update.json",
    "events/update-replace.json",
    "events/drift-check.json",  # the schedule's: no answer, a report returned; both servers in step
    "events/delete-replaced.json",
    "events/delete.json",
)
TABLES = {"LEDGER_TABLE": "cognito-resource-server-ledger", "IDEMPOTENCY_TABLE": "cognito-resource-server-idempotency"}
REGION = "us-east-1"  # the emulator's, and the events'
ANSWER_LINES = ("Answer delivered", "Answer not delivered before the deadline")
DOCKER_HINT = "apt-get install -y docker.io, then start it: dockerd --default-ulimit nofile=1024:1024 &"


def say(message: str) -> None:
    print(f"local-invoke: {message}", flush=True)


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=False, capture_output=True, text=True, timeout=timeout)


def docker_reachable() -> str | None:
    """None when a Docker engine answers, else the one line that says what to do."""
    if not shutil.which("docker"):
        return f"no docker command: {DOCKER_HINT}"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=15)
    except subprocess.TimeoutExpired:
        return f"the Docker engine does not answer: {DOCKER_HINT}"
    if info.returncode != 0 or not info.stdout.strip():
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"no Docker engine reachable ({where}): {DOCKER_HINT}"
    return None


def image_id(tag: str) -> str | None:
    found = docker("image", "inspect", "--format", "{{.Id}}", tag)
    return found.stdout.strip() if found.returncode == 0 else None


def ensure_image(repo: Path, standin: Path, pull_timeout: float) -> str:
    """TAG present, real if the registry answers: what it is, in a few words."""
    before = image_id(TAG)
    started = time.monotonic()
    try:
        pulled = docker("pull", "--quiet", TAG, timeout=pull_timeout)
        pull_ok, why = pulled.returncode == 0, (pulled.stderr.strip().splitlines() or [""])[-1]
    except subprocess.TimeoutExpired:
        pull_ok, why = False, f"no answer in {pull_timeout:.0f} s"
    if pull_ok:
        kind = "the real image, pulled"
    else:
        say(f"docker pull {TAG} failed after {time.monotonic() - started:.1f} s ({why[:120]})")
        if before is None:
            built = subprocess.run(["bash", str(standin), str(repo)], check=False)
            if built.returncode != 0 or image_id(TAG) is None:
                raise SystemExit(f"local-invoke: {standin.name} failed (exit {built.returncode})")
        labels = docker("image", "inspect", "--format", "{{json .Config.Labels}}", TAG).stdout
        kind = "the stand-in (Debian trixie)" if STANDIN_LABEL in labels else "the copy already here"
    if image_id(TAG) != before and image_id(RAPID) is not None:
        docker("rmi", "--force", RAPID)  # else SAM keeps invoking on the old base
    return kind


def gateway_ip() -> str:
    """The docker0 bridge's address: what `host-gateway` resolves to inside a container."""
    shown = docker("network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
    for address in shown.stdout.split():
        if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address):
            return address
    return "172.17.0.1"  # Docker's default


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Emulator:
    """The repo's emulator in a process group of its own, bound to host:port; its output in a log."""

    def __init__(self, repo: Path, python: Path, host: str, log: Path) -> None:
        self.repo, self.python, self.host, self.log = repo, python, host, log
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self, timeout: float = 90) -> None:
        port = free_port(self.host)
        module = [str(self.python), "-u", "-m", "tests.tools.emulator", "--host", self.host, "--port", str(port)]
        if not self._run(module, timeout):
            raise SystemExit(f"local-invoke: the emulator did not start; its output:\n{self.log.read_text()[-3000:]}")

    def _run(self, command: list[str], timeout: float) -> bool:
        env = {**os.environ, "PYTHONPATH": "function:."}  # as the Makefile exports it
        ready = threading.Event()
        log = self.log.open("a")
        self.process = subprocess.Popen(
            command,
            cwd=self.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own group: stop() ends it and only it
        )

        def pump(stream: Any) -> None:
            for line in stream:
                log.write(line)
                log.flush()
                if line.startswith("Cognito emulator on"):
                    self.endpoint = line.split()[3].rstrip(",")
                    ready.set()
            log.close()

        threading.Thread(target=pump, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None and not ready.wait(0.2):
            pass
        if ready.is_set() and self.process.poll() is None:
            return True
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def x86_64_copy(built: Path, copy: Path) -> list[str]:
    """The built template with x86_64 for arm64 and its code paths made absolute, as `copy`.
    Returns warnings: compiled extensions in the code, built for arm64, won't load on x86_64."""
    text = built.read_text()
    text = re.sub(r"(Architectures:\s*\n\s*-\s*)arm64\b", r"\1x86_64", text)
    text = re.sub(r"(Architectures:\s*\[\s*)arm64(\s*\])", r"\1x86_64\2", text)
    warnings = []

    def absolute(match: re.Match[str]) -> str:
        value = match.group(2).strip("'\"")
        if "://" in value or value.startswith(("{", "[")) or Path(value).is_absolute():
            return match.group(0)
        code = (built.parent / value).resolve()
        native = [path.name for path in code.rglob("*.so*")] if code.is_dir() else []
        if native:
            shown = ", ".join(native[:3])
            warnings.append(
                f"{value} holds compiled extensions built for arm64 ({shown}...): they won't load on x86_64"
            )
        return f"{match.group(1)}{json.dumps(str(code))}"

    text = re.sub(r"^(\s*(?:CodeUri|ContentUri):\s*)(\S+)\s*$", absolute, text, flags=re.M)
    if re.search(r"\barm64\b", text):
        warnings.append("the template copy still names arm64 somewhere")
    copy.write_text(text)
    return warnings


def answer_in(output: str) -> tuple[dict[str, Any] | None, str]:
    """The answer the function logged last, and what became of its delivery."""
    found: dict[str, Any] | None = None
    fate = ""
    for raw in output.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("message") in ANSWER_LINES and "answer" in record:
            found = record["answer"]
            fate = record["message"] + (f" ({record['problem']})" if record.get("problem") else "")
    if fate.startswith(ANSWER_LINES[1]):
        # The events' ResponseURLs name a host that is not there: the container cannot deliver,
        # so the function logs the answer it would have sent, which is what is read here.
        fate += ", as expected: the events' ResponseURL is not reachable from the container"
    return found, fate


def judged(event: str, output: str, code: object, took: float) -> str:
    """What one invoke came to, printed: its answer as CloudFormation would receive it, or, for
    the drift check, the report it returned. SUCCESS, or why not."""
    if Path(event).stem == "drift-check":
        report = report_in(output)
        # Both servers the lifecycle has made by then, each as its stack declared it.
        in_step = report is not None and report["checked"] == 2 and not report["drifted"] and not report["unchecked"]
        status = "SUCCESS" if in_step else "FAILED"
        say(f"{event}: drift check {status} in {took:.1f} s (sam exit {code}); the report it returned:")
        print(json.dumps(report, separators=(",", ":")), flush=True)
        return status
    answer, fate = answer_in(output)
    if answer is None:
        say(f"{event}: no answer in the function's log (sam exit {code}, {took:.1f} s); its last lines:")
        print("\n".join(output.splitlines()[-25:]), flush=True)
        return "NONE"
    status = str(answer.get("Status"))
    say(f"{event}: {status} in {took:.1f} s (sam exit {code}; {fate})")
    # The body exactly as it is PUT to the ResponseURL: compact ASCII JSON.
    print(json.dumps(answer, separators=(",", ":")), flush=True)
    return status


def report_in(output: str) -> dict[str, Any] | None:
    """The drift check's report: what the handler returned, which sam prints on a line of its own."""
    for line in reversed(output.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict) and {"checked", "drifted", "unchecked"} <= found.keys():
            return found
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", nargs="?", default=".", type=Path)
    parser.add_argument("--event", action="append", help=f"repeatable; default: {' '.join(EVENTS)}")
    parser.add_argument("--sam", type=Path, help="default: REPO/.venv/sam/bin/sam, else sam on PATH")
    parser.add_argument("--python", type=Path, help="the emulator's Python; default: REPO/.venv/bin/python")
    parser.add_argument("--pull-timeout", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (template copy, env file, logs)")
    parser.add_argument("--check-docker", action="store_true", help="only check that a Docker engine answers")
    args = parser.parse_args()
    repo = args.repo.resolve()
    here = Path(__file__).resolve().parent  # standin-image.sh lies beside this
    began = time.monotonic()

    problem = docker_reachable()
    if problem:
        print(f"local-invoke: {problem}", flush=True)
        return 2
    if args.check_docker:
        return 0
    sam = args.sam or (repo / ".venv/sam/bin/sam")
    if not sam.exists():
        sam = Path(shutil.which("sam") or sam)
    python = args.python or (repo / ".venv/bin/python")
    built = repo / ".aws-sam/build/template.yaml"
    for needed, how in ((sam, "make package"), (python, "make package"), (built, "make package")):
        if not needed.exists():
            print(f"local-invoke: no {needed}: run `{how}` in {repo} first", flush=True)
            return 2

    work = Path(tempfile.mkdtemp(prefix="local-invoke."))
    emulator = Emulator(repo, python, gateway_ip(), work / "emulator.log")
    results: list[tuple[str, str]] = []
    try:
        started = time.monotonic()
        kind = ensure_image(repo, here / "standin-image.sh", args.pull_timeout)
        say(f"image {TAG}: {kind} ({time.monotonic() - started:.1f} s)")

        started = time.monotonic()
        emulator.start()
        say(f"emulator on {emulator.endpoint}, the docker0 gateway ({time.monotonic() - started:.1f} s)")

        template = work / "template.x86_64.yaml"
        for warning in x86_64_copy(built, template):
            say(f"warning: {warning}")
        env_file = work / "env.json"
        env_file.write_text(json.dumps({"Function": {"AWS_ENDPOINT_URL": emulator.endpoint, **TABLES}}, indent=2))

        # Moto's dummy credentials and region, never the caller's own: the container gets them.
        env = {key: value for key, value in os.environ.items() if key not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
        env.update(
            SAM_CLI_TELEMETRY="0",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            # SAM asks STS for the account id on every invoke: offline, botocore's retries
            # of a failed DNS look-up cost ~5-8 s each time. The emulator (moto) answers.
            AWS_ENDPOINT_URL_STS=emulator.endpoint,
        )
        for event in args.event or EVENTS:
            command = [
                str(sam),
                "local",
                "invoke",
                "Function",
                "--skip-pull-image",
                "-t",
                str(template),
                # Absolute: with -t, SAM resolves a relative --config-file against the template's
                # folder, and silently reads nothing when it is not there.
                "--config-file",
                str(repo / "samconfig.toml"),
                "--env-vars",
                str(env_file),
                "--region",
                REGION,
                "--event",
                str(repo / event),
            ]
            started = time.monotonic()
            try:
                ran = subprocess.run(
                    command, check=False, cwd=repo, env=env, capture_output=True, text=True, timeout=960
                )
                output, code = ran.stderr + ran.stdout, ran.returncode
            except subprocess.TimeoutExpired as timed_out:
                output, code = str(timed_out.stderr or "") + str(timed_out.stdout or ""), "timeout"
            took = time.monotonic() - started
            (work / f"{Path(event).stem}.log").write_text(output)
            results.append((event, judged(event, output, code, took)))
    finally:
        emulator.stop()
        failed = any(status != "SUCCESS" for _, status in results) or not results
        if args.keep or failed:
            say(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    summary = ", ".join(f"{Path(event).stem} {status}" for event, status in results)
    say(f"{summary}; {time.monotonic() - began:.1f} s in all")
    return 0 if results and all(status == "SUCCESS" for _, status in results) else 1


if __name__ == "__main__":
    sys.exit(main())
