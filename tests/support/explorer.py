"""The real handler under schedules a scheduler chooses, on a virtual clock, with faults as choices:
the way Microsoft's CHESS and FoundationDB's simulation find the races that the OS rarely picks.

- **Steps are AWS calls.** Every client the provider makes comes from `aws.client`, the one
  factory; here it also stops each call at botocore's before-send until the scheduler grants it.
  Between grants exactly one request runs, so a schedule is a list of choices and replays exactly.
- **Time is virtual.** The provider's clock (`clock.CLOCK`) and Powertools' idempotency read the
  scheduler's. A sleep parks its request until the clock reaches its end; the clock moves as a
  call takes its time, and when no request can move, to the next wake-up, timer or arrival.
- **Faults are choices too.** At a call the scheduler may lose the reply after the call acted,
  throttle it, answer 5xx, or stall it where no budget reaches (DNS): crhelper's timer then
  answers, Lambda kills the invocation at its deadline and delivers its retry a minute later.
- **A request is an invocation of a process of its own**: a provider as the function assembles
  it, on moto in this process (`mock_aws`, with the emulator's extension).

`Simulation.run(choices)` plays one schedule; `explore()` enumerates every schedule up to a bound
on preemptions (a switch away from a request that could have gone on), and random ones from a
seed. A violation carries the schedule that shows it, which `Simulation.run` replays.
"""

from __future__ import annotations

import concurrent.futures
import datetime as real_datetime
import heapq
import itertools
import json
import random
import threading
import types
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber

from resource_server import aws, clock, delivery, pacing
from resource_server.provider import Provider
from resource_server.startup import Configuration
from tests.support import stack_operations

START = 1_800_000_000.0  # the virtual clock's first moment, in seconds since the epoch
CALL_S = 0.02  # what one AWS call takes, on the virtual clock
LAMBDA_RETRY_S = 60.0  # Lambda's first retry of an invocation that failed comes a minute later
LAMBDA_RETRIES = 2  # EventInvokeConfig, as template.yaml sets it
FAULTS = ("lost", "throttled", "5xx", "stalled")
THROTTLED = {
    "cognito-identity-provider": ("TooManyRequestsException", 400),
    "dynamodb": ("ThrottlingException", 400),
    "cloudformation": ("Throttling", 400),
}
INTERNAL = {
    "cognito-identity-provider": ("InternalErrorException", 500),
    "dynamodb": ("InternalServerError", 500),
    "cloudformation": ("InternalFailure", 500),
}


class Killed(BaseException):
    """The request's process died here: nothing of it runs on, not even its `finally` blocks' calls."""


@dataclass
class Choice:
    """One point of a schedule: which request moved, of those that could, and with what fault."""

    enabled: tuple[int, ...]
    task: int
    fault: str | None = None
    call: str = ""


@dataclass
class Task:
    """One delivery of one request: a Lambda invocation, in a process of its own."""

    id: int
    name: str
    event: dict[str, Any]
    invocation: str
    timeout_s: float
    started: float
    attempt: int = 1
    thread: threading.Thread | None = None
    state: str = "new"  # new, call, sleep, running, done, dead
    wake: float = 0.0
    call: str = ""
    fault: str | None = None
    stalled: bool = False
    go: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    is_timer: bool = False
    program: Callable[[], Any] | None = None  # a stack program: CloudFormation's side, not a request
    waiting_for: Callable[[], bool] | None = None  # a program waits until this holds, or its time is up
    on_done: Callable[[Task], None] | None = None
    exited: bool = False  # its thread has ended, its `on_done` run

    @property
    def deadline(self) -> float:
        return self.started + self.timeout_s if self.program is None else float("inf")

    @property
    def live(self) -> bool:
        return self.state not in ("done", "dead")


class VirtualContext:
    """The Lambda context, on the virtual clock."""

    function_name = "cognito-resource-server-provider-Function"
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cognito-resource-server-provider-Function"
    log_group_name = "/aws/lambda/cognito-resource-server-provider-Function"
    log_stream_name = "explorer"

    def __init__(self, sim: Simulation, task: Task) -> None:
        self._sim, self._task = sim, task
        self.aws_request_id = task.invocation

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._task.deadline - self._sim.now) * 1000))


class _VirtualTimer:
    def __init__(self, task: Task) -> None:
        self.task = task
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Answered(concurrent.futures.Future):  # type: ignore[type-arg]
    """A request's answer as CloudFormation takes it: the first that arrives. A program that asks
    for it waits on the scheduler, as a step of its own."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__()
        self._sim = sim

    def result(self, timeout: float | None = None) -> Any:
        if not self.done():
            self._sim.wait_until(self.done)
        return super().result(0)


class Strategy:
    """Chooses at each point: replays `prefix`, then takes the first enabled request (the one that
    ran last, if it can go on) or, with `rng`, any; faults only where `faults_at` allows them."""

    def __init__(self, prefix: list[Choice] | None = None, rng: random.Random | None = None, fault_rate: float = 0.0):
        self.prefix = list(prefix or [])
        self.rng = rng
        self.fault_rate = fault_rate

    def choose(self, step: int, enabled: tuple[int, ...], last: int | None, call: Callable[[int], str]) -> Choice:
        if step < len(self.prefix):
            planned = self.prefix[step]
            if planned.task in enabled:
                return Choice(enabled, planned.task, planned.fault, call(planned.task))
        if self.rng is None:
            task = last if last in enabled else enabled[0]
            return Choice(enabled, task, None, call(task))
        task = self.rng.choice(enabled)
        fault = None
        if call(task) and self.rng.random() < self.fault_rate:
            fault = self.rng.choice(FAULTS)
        return Choice(enabled, task, fault, call(task))


class Simulation:
    """One world: moto in this process, the provider's processes, the virtual clock, the answers."""

    def __init__(self, configuration: Configuration, processes: int = 4) -> None:
        self.configuration = configuration
        self.now = START
        self._lock = threading.Condition()
        self._tasks: list[Task] = []
        self._by_thread: dict[int, Task] = {}
        self._arrivals: list[tuple[float, Task]] = []
        self._timers: list[tuple[float, _VirtualTimer, Callable[[], None]]] = []
        self.answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.schedule: list[Choice] = []
        self.faults = 0
        self._free: list[Provider] = []
        self._futures: dict[str, Answered] = {}
        self.requests: dict[str, dict[str, Any]] = {}  # every request CloudFormation sent, by RequestId
        # Requests whose timer's answer may not have been kept: a fault hit the timer's own call.
        self.unkept: set[str] = set()
        self._processes = processes
        self._counter = itertools.count(1)

    # The clock the provider reads.

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        task = self._current()
        if task is None:  # not a request of the simulation: the test's own thread
            self.now += max(seconds, 0.0)
            return
        self._park(task, "sleep", wake=self.now + max(seconds, 0.0))

    def timer(self, seconds: float, action: Callable[[], None]) -> _VirtualTimer:
        owner = self._current()
        assert owner is not None, "only a request sets a timer"
        timer = _VirtualTimer(owner)
        with self._lock:
            self._timers.append((self.now + max(seconds, 0.0), timer, action))
        return timer

    @property
    def tasks(self) -> list[Task]:
        return list(self._tasks)

    # What CloudFormation's side, a stack program, waits on.

    def wait_until(self, ready: Callable[[], bool], seconds: float | None = None) -> None:
        """Park the program until `ready()` holds; with `seconds`, the scheduler may also end the
        wait at any moment before then, as a sibling resource may fail at any moment."""
        task = self._current()
        assert task is not None, "only a stack program waits on answers"
        assert task.program is not None, "only a stack program waits on answers"
        if ready():
            return
        task.waiting_for = ready
        wake = float("inf") if seconds is None else self.now + max(seconds, 0.0)
        self._park(task, "wait", wake=wake)
        task.waiting_for = None

    def futures_wait(
        self, pending: Any, timeout: float | None = None, return_when: str = ""
    ) -> tuple[set[Any], set[Any]]:
        """concurrent.futures.wait, as the model of CloudFormation calls it, on the scheduler."""
        self.wait_until(lambda: any(future.done() for future in pending), timeout)
        done = {f for f in pending if f.done()}
        return done, set(pending) - done

    def start(self, event: dict[str, Any]) -> Answered:
        """How the model of CloudFormation sends a request: Lambda starts an invocation of it."""
        # Ids of the simulation's own, so that a schedule's story and sentences replay word for word.
        event["RequestId"] = f"request-{len(self.requests) + 1}"
        future = Answered(self)
        self._futures[event["RequestId"]] = future
        self.requests[event["RequestId"]] = event
        stack = str(event["StackId"]).split("/")[1].rsplit("-", 1)[0]  # the scenario's name for it
        name = f"{stack}.{event['LogicalResourceId']}:{event['RequestType']}"
        self.deliver(name, event, invocation=f"invocation-{event['RequestId']}")
        return future

    def program(self, name: str, body: Callable[[], Any]) -> Task:
        """A stack program, run as the scheduler lets it: its requests, and its waits for them."""
        task = Task(id=next(self._counter), name=name, event={}, invocation="", timeout_s=0.0, started=self.now)
        task.program = body
        with self._lock:
            self._arrivals.append((task.started, task))
        return task

    # The gate every AWS call passes.

    def gate(self, request: Any, event_name: str = "", **_: Any) -> AWSResponse | None:
        task = self._current()
        if task is None:
            return None  # the test's own call: set-up and checks
        botocore_stubber.enabled = True
        operation = event_name.rsplit(".", 1)[-1]
        service = event_name.split(".")[1] if event_name.count(".") >= 2 else ""
        self._park(task, "call", call=f"{service}:{operation}")
        fault, task.fault = task.fault, None
        self.now += CALL_S
        if fault is None:
            return None
        self.faults += 1
        if task.is_timer:
            self.unkept.add(str(task.event.get("RequestId", "")))
        if fault == "stalled":
            task.stalled = True
            self._park(task, "sleep", wake=float("inf"))  # until Lambda kills it
            raise Killed
        if fault == "lost":
            botocore_stubber(event_name=event_name, request=request)  # it acts; its reply never arrives
            raise ReadTimeoutError(endpoint_url=request.url)
        code, status = (THROTTLED if fault == "throttled" else INTERNAL).get(service, ("InternalFailure", 500))
        # botocore runs every before-send handler, and takes the first answer: moto's, after this
        # one, would act on the refused call. It is switched back on at the next call.
        botocore_stubber.enabled = False
        return _error_response(request, service, code, status)

    # Requests.

    def deliver(
        self,
        name: str,
        event: dict[str, Any],
        *,
        at: float | None = None,
        timeout_s: float = 900.0,
        invocation: str | None = None,
        attempt: int = 1,
        on_done: Callable[[Task], None] | None = None,
    ) -> Task:
        """Lambda starts an invocation of `event` at `at` (now by default)."""
        task = Task(
            id=next(self._counter),
            name=name,
            event=event,
            invocation=invocation or f"invocation-{name}",
            timeout_s=timeout_s,
            started=self.now if at is None else at,
            attempt=attempt,
            on_done=on_done,
        )
        with self._lock:
            self._arrivals.append((task.started, task))
        return task

    def run(self, strategy: Strategy, *, max_steps: int = 20_000) -> list[Choice]:
        """Play every request until none is left: the schedule it took."""
        with self._patched():
            last: int | None = None
            for step in itertools.count():
                if step > max_steps:
                    raise AssertionError(f"no end after {max_steps} steps: {self.story()}")
                self._wait_until_parked()
                enabled = self._enabled()
                if not enabled:
                    if not self._advance():
                        break
                    continue
                # Indexed by the schedule, not the loop: a step that only advances the clock
                # chooses nothing, and a replayed prefix must stay aligned with what was chosen.
                choice = strategy.choose(len(self.schedule), tuple(t.id for t in enabled), last, self._call_of)
                self.schedule.append(choice)
                task = self._task(choice.task)
                task.fault = choice.fault if task.state == "call" else None
                last = task.id
                self._grant(task)
        return self.schedule

    def story(self) -> str:
        """The schedule as a short story: who moved, into which call, with what fault."""
        lines = []
        for choice in self.schedule:
            task = self._task(choice.task)
            fault = f" [{choice.fault}]" if choice.fault else ""
            lines.append(f"{task.name}#{task.attempt}: {choice.call or 'wakes'}{fault}")
        return "\n".join(lines)

    # The scheduler's own workings.

    def _current(self) -> Task | None:
        return self._by_thread.get(threading.get_ident())

    def _task(self, task_id: int) -> Task:
        return next(t for t in self._tasks if t.id == task_id)

    def _call_of(self, task_id: int) -> str:
        task = self._task(task_id)
        return task.call if task.state == "call" else ""

    def _park(self, task: Task, state: str, *, wake: float = 0.0, call: str = "") -> None:
        if task.state == "dead":
            raise Killed
        with self._lock:
            task.state, task.wake, task.call = state, wake, call
            task.go.clear()
            self._lock.notify_all()
        task.go.wait()
        if task.state == "dead":
            raise Killed

    def _grant(self, task: Task) -> None:
        with self._lock:
            if task.state == "new":
                self._start(task)
                return
            if task.state == "wait" and not (task.waiting_for and task.waiting_for()):
                self.now = max(self.now, task.wake)  # its wait ends by time: that much has passed
            task.state = "running"  # before it wakes, so that the scheduler waits for its next step
            task.go.set()

    def _start(self, task: Task) -> None:
        task.state = "running"

        def body() -> None:
            self._by_thread[threading.get_ident()] = task
            try:
                if task.is_timer:
                    task.event["action"]()
                elif task.program is not None:
                    task.event["result"] = task.program()
                else:
                    provider = self._process()
                    provider.handle(task.event, VirtualContext(self, task))
                    self._free.append(provider)  # a process that ended well serves again
            except Killed:
                task.state = "dead"
            except BaseException as error:  # noqa: BLE001 - kept, and raised by the test
                task.error = error
            finally:
                with self._lock:
                    if task.state != "dead":
                        task.state = "done"
                    self._lock.notify_all()
                if task.on_done is not None:
                    task.on_done(task)
                with self._lock:
                    task.exited = True
                    self._lock.notify_all()

        task.thread = threading.Thread(target=body, name=task.name, daemon=True)
        task.thread.start()

    def _process(self) -> Provider:
        if self._free:
            return self._free.pop()
        return Provider.assemble(Logger(service="explorer"), self.configuration)

    def _wait_until_parked(self) -> None:
        with self._lock:
            self._lock.wait_for(lambda: all(self._parked(t) for t in self._tasks), timeout=60)
            running = [t.name for t in self._tasks if not self._parked(t)]
            assert not running, f"a request ran on past any step: {running}"

    @staticmethod
    def _parked(task: Task) -> bool:
        """At a step, or ended for good: nothing of it runs until the scheduler says so."""
        if task.state in ("done", "dead"):
            return task.exited or task.thread is None
        return task.state != "running"

    def _enabled(self) -> list[Task]:
        with self._lock:
            for at, task in list(self._arrivals):
                if at <= self.now:
                    self._arrivals.remove((at, task))
                    self._tasks.append(task)
            for at, timer, action in list(self._timers):
                if at <= self.now:
                    self._timers.remove((at, timer, action))
                    # A process Lambda killed takes its timer with it.
                    if not timer.cancelled and timer.task.state != "dead":
                        self._tasks.append(self._timer_task(timer, action))
            return [t for t in self._tasks if self._can_move(t)]

    def _can_move(self, task: Task) -> bool:
        if task.state in ("new", "call"):
            return True
        if task.state == "sleep":
            return task.wake <= self.now
        if task.state == "wait":
            ready = task.waiting_for is not None and task.waiting_for()
            return ready or task.wake != float("inf")  # a wait with a time may end at any moment
        return False

    def _timer_task(self, timer: _VirtualTimer, action: Callable[[], None]) -> Task:
        owner = timer.task
        return Task(
            id=next(self._counter),
            name=f"{owner.name}:timer",
            event={"action": action, "RequestId": owner.event.get("RequestId", "")},
            invocation=owner.invocation,
            timeout_s=owner.deadline - self.now,
            started=self.now,
            attempt=owner.attempt,
            is_timer=True,
        )

    def _advance(self) -> bool:
        """Move the clock to the next moment something can happen; False when nothing can."""
        with self._lock:
            moments = [at for at, _ in self._arrivals]
            moments += [at for at, timer, _ in self._timers if not timer.cancelled]
            moments += [t.wake for t in self._tasks if t.state == "sleep" and t.wake != float("inf")]
            moments += [t.deadline for t in self._tasks if t.live and not t.is_timer]
            upcoming = [m for m in moments if self.now < m < float("inf")]
            if not upcoming:
                return self._kill_leftovers()
            self.now = min(upcoming)
            for task in self._tasks:
                if task.live and not task.is_timer and task.deadline <= self.now and task.state != "new":
                    self._kill(task)
            return True

    def _kill(self, task: Task) -> None:
        """Lambda ends an invocation at its deadline, and retries it a minute later."""
        task.state = "dead"
        task.go.set()
        future = self._futures.get(task.event.get("RequestId", ""))
        if task.attempt > LAMBDA_RETRIES and future is not None and not future.done():
            # Never answered: CloudFormation's wait times out, and it fails the resource.
            future.set_result({"Status": "FAILED", "Reason": "timed out", "RequestId": task.event["RequestId"]})
        if task.attempt <= LAMBDA_RETRIES and task.program is None:
            retry = Task(
                id=next(self._counter),
                name=task.name,
                event=task.event,
                invocation=task.invocation,  # a retry carries the invocation's own request id
                timeout_s=task.timeout_s,
                started=self.now + LAMBDA_RETRY_S,
                attempt=task.attempt + 1,
                on_done=task.on_done,
            )
            self._arrivals.append((retry.started, retry))

    def _kill_leftovers(self) -> bool:
        stuck = [t for t in self._tasks if t.live]
        for task in stuck:
            self._kill(task)
        return bool(stuck) or bool(self._arrivals)

    @contextmanager
    def _patched(self) -> Iterator[None]:
        """The provider's clock and client factory, pacing's randomness and Powertools' clock,
        the answer's PUT: all the simulation's while it runs."""
        real = {
            "time": clock.CLOCK.time,
            "monotonic": clock.CLOCK.monotonic,
            "sleep": clock.CLOCK.sleep,
            "timer": clock.CLOCK.timer,
        }
        real_client, real_put, real_random = aws.client, delivery._put, pacing.random
        model = (stack_operations.wait, stack_operations.time, stack_operations.random)
        powertools = _powertools_clock_modules()
        saved_dt = {module: module.dt for module in powertools}
        seeded = random.Random(0)
        try:
            for name in real:
                setattr(clock.CLOCK, name, getattr(self, name))

            def client(*args: Any, **kwargs: Any) -> Any:
                made = real_client(*args, **kwargs)
                made.meta.events.register_first("before-send", self.gate)
                return made

            aws.client = client
            delivery._put = self._put
            pacing.random = types.SimpleNamespace(Random=lambda *_: random.Random(seeded.random()))
            # The model of CloudFormation waits on the scheduler, reads its clock, makes ids up alike.
            stack_operations.wait = self.futures_wait
            stack_operations.time = types.SimpleNamespace(time=self.time, monotonic=self.monotonic)
            stack_operations.random = random.Random(1)
            shim = _datetime_shim(self)
            for module in powertools:
                module.dt = shim
            yield
        finally:
            for name in real:
                delattr(clock.CLOCK, name) if name in vars(clock.CLOCK) else None
            botocore_stubber.enabled = True
            aws.client, delivery._put, pacing.random = real_client, real_put, real_random
            stack_operations.wait, stack_operations.time, stack_operations.random = model
            for module, saved in saved_dt.items():
                module.dt = saved

    def _put(self, _url: str, payload: bytes, _timeout: float) -> int:
        answer = json.loads(payload)
        with self._lock:
            self.answers[answer["RequestId"]].append(answer)
            future = self._futures.get(answer["RequestId"])
            if future is not None and not future.done():
                future.set_result(answer)
        return 200


def _error_response(request: Any, service: str, code: str, status: int) -> AWSResponse:
    if service == "cloudformation":
        error = f"<Type>Sender</Type><Code>{code}</Code><Message>{code}</Message>"
        body = f"<ErrorResponse><Error>{error}</Error></ErrorResponse>"
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": code, "message": code})
        headers = {"Content-Type": "application/x-amz-json-1.1"}
    raw = types.SimpleNamespace(stream=lambda **_: iter([body.encode()]))
    return AWSResponse(request.url, status, headers, raw)


def _powertools_clock_modules() -> list[Any]:
    from aws_lambda_powertools.utilities.idempotency import base
    from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence
    from aws_lambda_powertools.utilities.idempotency.persistence import datarecord, dynamodb

    return [base, persistence, datarecord, dynamodb]


def _datetime_shim(sim: Simulation) -> Any:
    """`datetime` as Powertools' idempotency imports it, whose `datetime.now()` is the simulation's."""

    class VirtualDatetime(real_datetime.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
            return real_datetime.datetime.fromtimestamp(sim.now, tz)

    return types.SimpleNamespace(
        datetime=VirtualDatetime, timedelta=real_datetime.timedelta, date=real_datetime.date, time=real_datetime.time
    )


# Exploration


@dataclass
class Violation:
    """A schedule under which a sentence a stack author would sign was false."""

    scenario: str
    broken: list[str]
    schedule: list[Choice]
    story: str
    seed: int | None = None

    def __str__(self) -> str:
        how = f"seed {self.seed}" if self.seed is not None else "a systematic schedule"
        plan = [(c.task, c.fault) for c in self.schedule]
        return (
            f"{self.scenario}, under {how}:\n  " + "\n  ".join(self.broken) + f"\nschedule (replay it): {plan}\n"
            f"the story:\n{self.story}"
        )


@dataclass
class Report:
    schedules: int = 0
    faults: int = 0
    violations: list[Violation] = field(default_factory=list)
    bound: int = 0


def preemptions(schedule: list[Choice]) -> int:
    """Switches away from a request that could have gone on (CHESS's measure of a schedule)."""
    return sum(
        1
        for before, after in itertools.pairwise(schedule)
        if before.task in after.enabled and after.task != before.task
    )


def faults_in(schedule: list[Choice]) -> int:
    return sum(1 for choice in schedule if choice.fault)


Play = Callable[[Strategy], tuple[list[Choice], list[str], str]]


def explore(
    name: str,
    play: Play,
    *,
    bound: int = 2,
    faults: tuple[str, ...] = (),
    max_faults: int = 1,
    limit: int = 10_000,
    seeds: range = range(0),
    fault_rate: float = 0.05,
    stop_at_first: bool = True,
) -> Report:
    """Every schedule of `play` with at most `bound` preemptions and `max_faults` faults of the
    kinds in `faults` at any call, depth first; then one random schedule per seed."""
    report = Report(bound=bound)
    # The earliest departure first, and of those the fewest preemptions: races live early in a
    # story, between requests that have just begun, and CHESS found one or two switches enough.
    frontier: list[tuple[int, int, int, list[Choice]]] = [(0, 0, 0, [])]
    pushed = itertools.count(1)
    while frontier and report.schedules < limit:
        *_, prefix = heapq.heappop(frontier)
        schedule, broken, story = play(Strategy(prefix))
        report.schedules += 1
        report.faults += faults_in(schedule)
        if broken:
            report.violations.append(Violation(name, broken, schedule, story))
            if stop_at_first:
                return report
        for index in range(len(prefix), len(schedule)):
            here = schedule[index]
            options = [(task, None) for task in here.enabled if task != here.task]
            if here.call and faults_in(schedule[:index]) < max_faults:
                options += [(here.task, fault) for fault in faults if fault != here.fault]
            for task, fault in options:
                branch = [*schedule[:index], Choice(here.enabled, task, fault)]
                if (switches := preemptions(branch)) <= bound:
                    heapq.heappush(frontier, (index, switches + faults_in(branch), next(pushed), branch))
    for seed in seeds:
        schedule, broken, story = play(Strategy(rng=random.Random(seed), fault_rate=fault_rate))
        report.schedules += 1
        report.faults += faults_in(schedule)
        if broken:
            report.violations.append(Violation(name, broken, schedule, story, seed))
            if stop_at_first:
                return report
    return report


def shrink(play: Play, violation: Violation) -> Violation:
    """The violation's schedule with as few of its departures from the default as still break the
    same sentences: each preemption or fault, dropped in turn, and kept dropped where it could be."""
    kept = list(violation.schedule)
    index = 0
    while index < len(kept):
        choice = kept[index]
        previous = kept[index - 1].task if index else None
        default_task = previous if previous in choice.enabled else choice.enabled[0]
        if choice.fault is None and choice.task == default_task:
            index += 1
            continue
        # This departure undone, the rest replayed as far as they still apply.
        trial = [*kept[:index], Choice(choice.enabled, default_task, None), *kept[index + 1 :]]
        schedule, broken, story = play(Strategy(trial))
        if broken:
            kept = schedule
            violation = Violation(violation.scenario, broken, schedule, story, violation.seed)
        else:
            index += 1
    return violation
