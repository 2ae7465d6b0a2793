"""CloudFormation's stack operations, as a custom resource sees them.

Per-request tests can't see what CloudFormation judges: whole stack operations. This model
plays create-stack, update-stack and delete-stack through the provider:

- the requests each phase sends, with the physical id each earlier answer carried, FAILED
  answers included, and ResourceProperties and OldResourceProperties as CloudFormation fills them;
- both sequences public sources give for rolling back a replaced custom resource;
- the stack's status in each phase, set on a real stack in moto's CloudFormation with a
  stack-level event for each, and what each logical id holds for DescribeStackResource, so a
  provider that reads the stack reads what it would read;
- CloudFormation's own clock: each request's ResponseURL is signed, and each event stamped, on
  it, a second apart from phase to phase at least;
- nested stacks (`Nested`), whose events the parent's DescribeStackEvents lists among its own.

With a `start` that runs requests at once (in_process.Environments), it also plays what
CloudFormation does with independent resources: it sends their requests together. A sibling
that fails `after_s` later, or a request answered FAILED, cancels every request still in flight:
CloudFormation ignores its answer, and rolls a cancelled Create back with a Delete whose
physical id it made up (`<stack name>-<LogicalId>-<random>`), with the same properties, while
the Create may still run (aws-cloudformation/cloudformation-coverage-roadmap #1814 and #1730,
binxio/cfn-certificate-provider #31). A cancelled Update is rolled back with an Update onto its
old physical id, as a failed one is (not confirmed). With a `send` that answers at once, the
resources run one at a time in template order, and the first failure stops the rest.

Sources: the CloudFormation user guide (crpg-ref-requesttypes-create, -update, -delete) and
the CDK maintainers' notes on CloudFormation internals (aws/aws-cdk, docs/CLOUDFORMATION.md).
"""

from __future__ import annotations

import datetime
import enum
import random
import string
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from tests.support import events
from tests.support.cloudformation import add_nested_stack_event, new_stack, set_stack_resource, set_stack_status

Send = Callable[[dict[str, Any]], dict[str, Any]]
Start = Callable[[dict[str, Any]], "Future[dict[str, Any]]"]


@dataclass(frozen=True)
class Custom:
    """A Custom::CognitoResourceServer, with properties as CloudFormation delivers them: strings.
    `retain` is `DeletionPolicy: Retain`: removing it, or deleting the stack, sends no Delete."""

    properties: dict[str, Any]
    retain: bool = False


@dataclass(frozen=True)
class Sibling:
    """Any other resource in the template, such as an app client. Only whether it fails matters,
    and when: `after_s` after the requests before it were sent. Resources after it depend on it."""

    fails: bool = False
    after_s: float = 0.0


@dataclass(frozen=True)
class Nested:
    """A nested stack (AWS::CloudFormation::Stack): it completes, and its events land in this
    stack's list, with its own ARN as PhysicalResourceId."""


Resource = Custom | Sibling | Nested
Template = dict[str, Resource]  # by logical id, in the order CloudFormation works through them


class ReplacementRollback(enum.Enum):
    """What CloudFormation sends to roll back a custom resource it saw replaced. Sources disagree."""

    UPDATE_BACK = "an Update with the new physical id and the old properties, then the cleanup Delete"
    CLEANUP_ONLY = "only the cleanup Delete of the new physical id"


@dataclass(frozen=True)
class Request:
    phase: str  # the stack's status while it was sent
    event: dict[str, Any]
    answer: dict[str, Any]  # {} when CloudFormation cancelled it and took no answer

    @property
    def failed(self) -> bool:
        return bool(self.answer.get("Status") != "SUCCESS")

    @property
    def cancelled(self) -> bool:
        return not self.answer


@dataclass
class _Sent:
    """One custom resource's request in a phase, and what CloudFormation took of it."""

    logical_id: str
    request_type: str
    properties: dict[str, Any]
    old_properties: dict[str, Any] | None = None
    old_physical_id: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)  # {} while in flight, and if cancelled
    sent: bool = False  # False for a resource after the one that stopped a one-at-a-time phase

    @property
    def succeeded(self) -> bool:
        return self.answer.get("Status") == "SUCCESS"

    @property
    def physical_id(self) -> str | None:
        return self.answer.get("PhysicalResourceId") if self.answer else None


class Clock:
    """CloudFormation's clock: never behind this machine's, and a second on from phase to phase,
    since a ResponseURL's signing time counts whole seconds."""

    def __init__(self) -> None:
        self._now = time.time()

    def tick(self) -> float:
        self._now = max(self._now + 1.0, time.time())
        return self._now


class ModelStack:
    """One stack as the model of CloudFormation operates it, from create-stack to delete-stack.
    `status` is what DescribeStacks reports."""

    def __init__(
        self,
        send: Send | None = None,
        replacement_rollback: ReplacementRollback = ReplacementRollback.UPDATE_BACK,
        on_status: Callable[[str], None] = lambda _status: None,
        *,
        start: Start | None = None,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        assert (send is None) != (start is None), "one of send or start"
        self._send = send
        self._start = start
        self._on_status = on_status  # told of each phase as it begins
        self.replacement_rollback = replacement_rollback
        self.clock = clock or Clock()
        self.name = name or f"model-{uuid.uuid4().hex[:12]}"
        self.stack_id = new_stack(self.name)
        self.template: Template = {}  # what the stack holds once its operation is over
        self.physical_ids: dict[str, str] = {}
        self.requests: list[Request] = []
        self.status = "CREATE_PENDING"
        self._signed_at = 0.0
        self._in_flight: list[Future[dict[str, Any]]] = []
        self._requested: dict[int, int] = {}  # a request in flight: its index in self.requests
        self._pending_rollback: list[_Sent] = []
        self._rollback_cleanup: list[_Sent] = []
        self._rollback_to: Template = {}
        # Resources whose rollback Delete failed: a later delete-stack deletes them.
        self._leftovers: list[_Sent] = []

    @property
    def concurrent(self) -> bool:
        return self._start is not None

    def with_send(self, send: Send) -> ModelStack:
        """The same stack, whose requests now go to `send`."""
        self._send, self._start = send, None
        return self

    # The three operations a stack author starts, and the one they use when a rollback fails.

    def create(self, template: Template) -> str:
        self._set("CREATE_IN_PROGRESS")
        self._nested_complete(template, "CREATE")
        created = [_Sent(logical_id, "Create", r.properties) for logical_id, r in self._started(template)]
        failed = self._run(created, self._failing_sibling(template))
        for sent in created:
            if sent.succeeded and sent.physical_id:
                self.physical_ids[sent.logical_id] = sent.physical_id
                self._holds(sent.logical_id, sent.physical_id)
        if not failed:
            self.template = dict(template)
            return self._set("CREATE_COMPLETE")
        # ROLLBACK_IN_PROGRESS deletes every resource a Create was sent for: with the id its answer
        # carried, or one CloudFormation made up when it cancelled the Create.
        self._set("ROLLBACK_IN_PROGRESS")
        deletes = [self._delete_of(sent) for sent in reversed(created) if sent.sent]
        self._run(deletes)
        self._leftovers += [d for d in deletes if not d.succeeded]
        for sent in created:
            self._holds(sent.logical_id, None)
        self.physical_ids = {}
        self._join()
        return self._set("ROLLBACK_FAILED" if self._leftovers else "ROLLBACK_COMPLETE")

    def update(self, template: Template) -> str:
        assert self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"), self.status
        self._set("UPDATE_IN_PROGRESS")
        self._nested_complete(template, "UPDATE")
        changes: list[_Sent] = []
        for logical_id, resource in self._started(template):
            old = self.template.get(logical_id)
            old_properties = old.properties if isinstance(old, Custom) else None
            if old_properties == resource.properties:
                continue  # CloudFormation sends nothing for a resource that did not change
            kind = "Create" if old_properties is None else "Update"
            changes.append(
                _Sent(logical_id, kind, resource.properties, old_properties, self.physical_ids.get(logical_id))
            )
        failed = self._run(changes, self._failing_sibling(template))
        replaced = [
            c for c in changes if c.succeeded and c.old_physical_id is not None and c.physical_id != c.old_physical_id
        ]
        for change in changes:
            if change.succeeded and change.physical_id:
                self.physical_ids[change.logical_id] = change.physical_id
                self._holds(change.logical_id, change.physical_id)
        if not failed:
            # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS deletes what was replaced or removed; a failure
            # there does not fail the update, but leaves what it failed to delete.
            self._set("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            removed = [
                (logical_id, resource)
                for logical_id, resource in self.template.items()
                if isinstance(resource, Custom) and logical_id not in template
            ]
            cleanup = [_Sent(c.logical_id, "Delete", c.old_properties or {}, None, c.old_physical_id) for c in replaced]
            for logical_id, resource in removed:
                physical_id = self.physical_ids.pop(logical_id)
                self._holds(logical_id, None)
                if not resource.retain:
                    cleanup.append(_Sent(logical_id, "Delete", resource.properties, None, physical_id))
            self._run(cleanup)
            self.template = dict(template)
            self._join()
            return self._set("UPDATE_COMPLETE")
        self._rollback_to = self.template
        self._pending_rollback = [change for change in reversed(changes) if change.sent]
        self._rollback_cleanup = []
        return self._roll_back_update()

    def continue_update_rollback(self) -> str:
        """ContinueUpdateRollback: what a stack author does after UPDATE_ROLLBACK_FAILED."""
        assert self.status == "UPDATE_ROLLBACK_FAILED", self.status
        return self._roll_back_update()

    def delete(self) -> str:
        self._set("DELETE_IN_PROGRESS")
        deletes: list[_Sent] = []
        for logical_id, resource in reversed(self.template.items()):
            if isinstance(resource, Custom) and logical_id in self.physical_ids:
                if resource.retain:
                    del self.physical_ids[logical_id]
                    self._holds(logical_id, None)
                    continue
                deletes.append(_Sent(logical_id, "Delete", resource.properties, None, self.physical_ids[logical_id]))
        leftovers, self._leftovers = self._leftovers, []
        retried = [_Sent(s.logical_id, "Delete", s.properties, None, s.old_physical_id) for s in leftovers]
        self._run(deletes + retried, stop_at_failure=False)
        for sent in deletes:
            if sent.succeeded:
                del self.physical_ids[sent.logical_id]
                self._holds(sent.logical_id, None)
        self._leftovers = [s for s in retried if not s.succeeded]
        self._join()
        if any(not s.succeeded for s in deletes) or self._leftovers:
            return self._set("DELETE_FAILED")
        self.template = {}
        return self._set("DELETE_COMPLETE")

    # What the stack declares, for the tests' invariants.

    def declared(self) -> dict[str, dict[str, Any]]:
        """The custom resources' properties in the template the stack now holds, by logical id."""
        return {k: r.properties for k, r in self.template.items() if isinstance(r, Custom)}

    def _roll_back_update(self) -> str:
        # UPDATE_ROLLBACK_IN_PROGRESS sends each changed resource back its old properties, as an
        # Update whose OldResourceProperties are the new ones. Resources the failed update created
        # are left for the cleanup below.
        self._set("UPDATE_ROLLBACK_IN_PROGRESS")
        backs: list[tuple[_Sent, _Sent]] = []
        for change in self._pending_rollback:
            if change.request_type == "Create":
                self._rollback_cleanup.append(self._delete_of(change))
                self.physical_ids.pop(change.logical_id, None)
                self._holds(change.logical_id, None)
                continue
            assert change.old_properties is not None
            assert change.old_physical_id is not None
            new_id = change.physical_id if change.succeeded else None
            replaced = new_id is not None and new_id != change.old_physical_id
            if replaced and not any(d.old_physical_id == new_id for d in self._rollback_cleanup):
                self._rollback_cleanup.append(_Sent(change.logical_id, "Delete", change.properties, None, new_id))
            if replaced and self.replacement_rollback is ReplacementRollback.CLEANUP_ONLY:
                self.physical_ids[change.logical_id] = change.old_physical_id
                self._holds(change.logical_id, change.old_physical_id)
                continue
            back = _Sent(
                change.logical_id, "Update", change.old_properties, change.properties, new_id or change.old_physical_id
            )
            backs.append((change, back))
        self._pending_rollback = []
        self._run([back for _change, back in backs], stop_at_failure=False)
        failed_backs = [change for change, back in backs if not back.succeeded]
        for change, back in backs:
            if back.succeeded and back.physical_id:
                self.physical_ids[change.logical_id] = back.physical_id
                self._holds(change.logical_id, back.physical_id)
        # The cleanup Delete of a replaced server the rollback Update moved back from.
        self._rollback_cleanup = [
            d for d in self._rollback_cleanup if d.old_physical_id != self.physical_ids.get(d.logical_id)
        ]
        if failed_backs:
            self._pending_rollback = failed_backs
            self._join()
            return self._set("UPDATE_ROLLBACK_FAILED")
        # UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS deletes what the failed update created.
        self._set("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self._run(self._rollback_cleanup, stop_at_failure=False)
        self._rollback_cleanup = []
        self.template = self._rollback_to
        self._join()
        return self._set("UPDATE_ROLLBACK_COMPLETE")

    # Sending

    def _started(self, template: Template) -> list[tuple[str, Custom]]:
        """The custom resources CloudFormation starts: those before the first failing sibling."""
        started = []
        for logical_id, resource in template.items():
            if isinstance(resource, Sibling) and resource.fails:
                break
            if isinstance(resource, Custom):
                started.append((logical_id, resource))
        return started

    @staticmethod
    def _failing_sibling(template: Template) -> Sibling | None:
        return next((r for r in template.values() if isinstance(r, Sibling) and r.fails), None)

    def _delete_of(self, sent: _Sent) -> _Sent:
        """The rollback's Delete of a resource a request was sent for in the failed operation."""
        physical_id = sent.physical_id
        if physical_id is None:  # cancelled: CloudFormation makes an id up
            suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=12))
            physical_id = f"{self.name}-{sent.logical_id}-{suffix}"
        return _Sent(sent.logical_id, "Delete", sent.properties, None, physical_id)

    def _run(self, sends: list[_Sent], failing: Sibling | None = None, stop_at_failure: bool = True) -> bool:
        """Send each request of a phase; True when the phase failed. At once, when concurrent; else
        one at a time, stopping at the first failure when the phase is one that can fail."""
        if not self.concurrent:
            for sent in sends:
                sent.answer = self._request(sent)
                if stop_at_failure and not sent.succeeded:
                    return True
            return failing is not None
        futures = {self._request_later(sent): sent for sent in sends}
        sibling_fails_at = time.monotonic() + failing.after_s if failing is not None else None
        pending = set(futures)
        failed = False
        while pending:
            timeout = None if sibling_fails_at is None else max(0.0, sibling_fails_at - time.monotonic())
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                sent = futures[future]
                sent.answer = future.result()
                index = self._requested.pop(id(sent))
                self.requests[index] = Request(self.requests[index].phase, self.requests[index].event, sent.answer)
                failed |= not sent.succeeded
            sibling_failed = sibling_fails_at is not None and time.monotonic() >= sibling_fails_at
            if pending and (sibling_failed or (failed and stop_at_failure)):
                # Cancelled: CloudFormation takes no answer from them, though they may still run.
                self._in_flight += list(pending)
                break
        return failed or failing is not None

    def _request(self, sent: _Sent) -> dict[str, Any]:
        event = self._event(sent)
        assert self._send is not None
        answer = self._send(event)
        self.requests.append(Request(self.status, event, answer))
        return answer

    def _request_later(self, sent: _Sent) -> Future[dict[str, Any]]:
        event = self._event(sent)
        self._requested[id(sent)] = len(self.requests)
        self.requests.append(Request(self.status, event, {}))
        assert self._start is not None
        return self._start(event)

    def _event(self, sent: _Sent) -> dict[str, Any]:
        sent.sent = True
        event = events.request(
            sent.request_type,
            sent.properties,
            physical_id=sent.old_physical_id if sent.request_type != "Create" else None,
            old_properties=sent.old_properties if sent.request_type == "Update" else None,
            signed_at=self._signed_at,
        )
        event["StackId"] = self.stack_id
        event["LogicalResourceId"] = sent.logical_id
        return event

    def _join(self) -> None:
        """Wait for the requests CloudFormation cancelled: their Lambdas run on after it moved on."""
        for future in self._in_flight:
            future.result()
        self._in_flight = []

    def _holds(self, logical_id: str, physical_id: str | None) -> None:
        set_stack_resource(self.stack_id, logical_id, physical_id)

    def _nested_complete(self, template: Template, action: str) -> None:
        for logical_id, resource in template.items():
            if isinstance(resource, Nested):
                for status in (f"{action}_IN_PROGRESS", f"{action}_COMPLETE"):
                    add_nested_stack_event(self.stack_id, logical_id, status, self._stamp())

    def _set(self, status: str) -> str:
        self.status = status
        self._signed_at = self.clock.tick()
        set_stack_status(self.stack_id, status, self._stamp(self._signed_at))
        self._on_status(status)
        return status

    def _stamp(self, at: float | None = None) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._signed_at if at is None else at, datetime.UTC)
