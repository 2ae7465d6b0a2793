"""CloudFormation's stack operations, as a custom resource sees them.

Per-request tests can't see what CloudFormation judges: whole stack operations. This model
plays create-stack, update-stack and delete-stack through any `send(event) -> answer`:

- the requests each phase sends, with the physical id each earlier answer carried, FAILED
  answers included, and ResourceProperties and OldResourceProperties as CloudFormation
  fills them;
- the stack's status in each phase, set on a real stack in moto's CloudFormation with a
  stack-level event for each, so a provider that calls DescribeStacks or DescribeStackEvents
  on the event's StackId reads what it would read;
- both sequences public sources give for rolling back a replaced custom resource.

Sources: the CloudFormation user guide (crpg-ref-requesttypes-create, -update, -delete) and
the CDK maintainers' notes on CloudFormation internals (aws/aws-cdk, docs/CLOUDFORMATION.md).
Independent resources run in parallel in CloudFormation; here they run in template order.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support import events
from tests.support.emulator import new_stack, set_stack_status

Send = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Custom:
    """A Custom::CognitoResourceServer, with properties as CloudFormation delivers them: strings.
    `retain` is `DeletionPolicy: Retain`: removing it, or deleting the stack, sends no Delete."""

    properties: dict[str, Any]
    retain: bool = False


@dataclass(frozen=True)
class Sibling:
    """Any other resource in the template, such as an app client. Only whether it fails matters."""

    fails: bool = False


Resource = Custom | Sibling
Template = dict[str, Resource]  # by logical id, in the order CloudFormation works through them


class ReplacementRollback(enum.Enum):
    """What CloudFormation sends to roll back a custom resource it saw replaced. Sources disagree."""

    UPDATE_BACK = "an Update with the new physical id and the old properties, then the cleanup Delete"
    CLEANUP_ONLY = "only the cleanup Delete of the new physical id"


@dataclass(frozen=True)
class Request:
    phase: str  # the stack's status while it was sent
    event: dict[str, Any]
    answer: dict[str, Any]

    @property
    def failed(self) -> bool:
        return bool(self.answer["Status"] != "SUCCESS")


@dataclass
class _Change:
    """One custom resource's request in an update, for its rollback."""

    logical_id: str
    request_type: str  # Create or Update
    old: dict[str, Any] | None  # the properties before, for an Update
    new: dict[str, Any]
    old_physical_id: str | None
    answer: dict[str, Any] = field(default_factory=dict)


class Stack:
    """One stack, from create-stack to delete-stack. `status` is what DescribeStacks reports."""

    def __init__(
        self,
        send: Send,
        replacement_rollback: ReplacementRollback = ReplacementRollback.UPDATE_BACK,
        on_status: Callable[[str], None] = lambda _status: None,
    ) -> None:
        self._send = send
        self._on_status = on_status  # told of each phase as it begins
        self.replacement_rollback = replacement_rollback
        self.stack_id = new_stack(f"model-{uuid.uuid4().hex[:12]}")
        self.template: Template = {}  # what the stack holds once its operation is over
        self.physical_ids: dict[str, str] = {}
        self.requests: list[Request] = []
        self.status = "CREATE_PENDING"
        self._pending_rollback: list[_Change] = []
        self._rollback_cleanup: list[tuple[str, dict[str, Any], str]] = []
        self._rollback_to: Template = {}
        # Resources whose rollback Delete failed: a later delete-stack deletes them.
        self._leftovers: list[tuple[str, dict[str, Any], str]] = []

    def with_send(self, send: Send) -> Stack:
        """The same stack, whose requests now go to `send`."""
        self._send = send
        return self

    # The three operations a stack author starts, and the one they use when a rollback fails.

    def create(self, template: Template) -> str:
        self._set("CREATE_IN_PROGRESS")
        created: list[tuple[str, dict[str, Any], str]] = []
        failed = False
        for logical_id, resource in template.items():
            if isinstance(resource, Sibling):
                failed = resource.fails
            else:
                answer = self._request("Create", logical_id, resource.properties)
                created.append((logical_id, resource.properties, answer["PhysicalResourceId"]))
                failed = answer["Status"] != "SUCCESS"
                if not failed:
                    self.physical_ids[logical_id] = answer["PhysicalResourceId"]
            if failed:
                break
        if not failed:
            self.template = dict(template)
            return self._set("CREATE_COMPLETE")
        # ROLLBACK_IN_PROGRESS deletes every resource a Create was sent for, with the id its answer carried.
        self._set("ROLLBACK_IN_PROGRESS")
        self.physical_ids = {}
        for logical_id, properties, physical_id in reversed(created):
            if self._request("Delete", logical_id, properties, physical_id)["Status"] != "SUCCESS":
                self._leftovers.append((logical_id, properties, physical_id))
        return self._set("ROLLBACK_FAILED" if self._leftovers else "ROLLBACK_COMPLETE")

    def update(self, template: Template) -> str:
        assert self.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"), self.status
        self._set("UPDATE_IN_PROGRESS")
        changes: list[_Change] = []
        replaced: list[tuple[str, dict[str, Any], str]] = []
        failed = False
        for logical_id, resource in template.items():
            if isinstance(resource, Sibling):
                failed = resource.fails
            else:
                old = self.template.get(logical_id)
                old_properties = old.properties if isinstance(old, Custom) else None
                if old_properties == resource.properties:
                    continue  # CloudFormation sends nothing for a resource that did not change
                change = _Change(
                    logical_id,
                    "Create" if old_properties is None else "Update",
                    old_properties,
                    resource.properties,
                    self.physical_ids.get(logical_id),
                )
                change.answer = self._request(
                    change.request_type, logical_id, resource.properties, change.old_physical_id, old_properties
                )
                changes.append(change)
                failed = change.answer["Status"] != "SUCCESS"
                new_id = change.answer["PhysicalResourceId"]
                if not failed and change.old_physical_id is not None and new_id != change.old_physical_id:
                    replaced.append((logical_id, old_properties or {}, change.old_physical_id))
                if not failed:
                    self.physical_ids[logical_id] = new_id
            if failed:
                break
        if not failed:
            # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS deletes what was replaced or removed; a failure
            # there does not fail the update, but leaves what it failed to delete.
            self._set("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            removed = [
                (logical_id, resource.properties, self.physical_ids.pop(logical_id))
                for logical_id, resource in self.template.items()
                if isinstance(resource, Custom) and logical_id not in template
            ]
            retained = {k for k, r in self.template.items() if isinstance(r, Custom) and r.retain}
            removed = [r for r in removed if r[0] not in retained]
            for logical_id, properties, physical_id in [*replaced, *removed]:
                self._request("Delete", logical_id, properties, physical_id)
            self.template = dict(template)
            return self._set("UPDATE_COMPLETE")
        self._rollback_to = self.template
        self._pending_rollback = list(reversed(changes))
        self._rollback_cleanup = []
        return self._roll_back_update()

    def continue_update_rollback(self) -> str:
        """ContinueUpdateRollback: what a stack author does after UPDATE_ROLLBACK_FAILED."""
        assert self.status == "UPDATE_ROLLBACK_FAILED", self.status
        return self._roll_back_update()

    def delete(self) -> str:
        self._set("DELETE_IN_PROGRESS")
        failed = False
        for logical_id, resource in reversed(self.template.items()):
            if isinstance(resource, Custom) and logical_id in self.physical_ids:
                if resource.retain:
                    del self.physical_ids[logical_id]
                    continue
                answer = self._request("Delete", logical_id, resource.properties, self.physical_ids[logical_id])
                if answer["Status"] == "SUCCESS":
                    del self.physical_ids[logical_id]
                failed |= answer["Status"] != "SUCCESS"
        leftovers, self._leftovers = self._leftovers, []
        for logical_id, properties, physical_id in leftovers:
            if self._request("Delete", logical_id, properties, physical_id)["Status"] != "SUCCESS":
                self._leftovers.append((logical_id, properties, physical_id))
        if failed or self._leftovers:
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
        while self._pending_rollback:
            change = self._pending_rollback[0]
            if change.request_type == "Create":
                self._rollback_cleanup.append((change.logical_id, change.new, change.answer["PhysicalResourceId"]))
                self.physical_ids.pop(change.logical_id, None)
                self._pending_rollback.pop(0)
                continue
            assert change.old is not None
            assert change.old_physical_id is not None
            new_id = change.answer["PhysicalResourceId"] if change.answer["Status"] == "SUCCESS" else None
            replaced = new_id is not None and new_id != change.old_physical_id
            if replaced and self.replacement_rollback is ReplacementRollback.CLEANUP_ONLY:
                self.physical_ids[change.logical_id] = change.old_physical_id
            else:
                current = new_id or change.old_physical_id
                answer = self._request("Update", change.logical_id, change.old, current, change.new)
                if answer["Status"] != "SUCCESS":
                    return self._set("UPDATE_ROLLBACK_FAILED")
                self.physical_ids[change.logical_id] = answer["PhysicalResourceId"]
            if replaced and new_id != self.physical_ids[change.logical_id]:
                assert new_id is not None
                self._rollback_cleanup.append((change.logical_id, change.new, new_id))
            self._pending_rollback.pop(0)
        # UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS deletes what the failed update created.
        self._set("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        for logical_id, properties, physical_id in self._rollback_cleanup:
            self._request("Delete", logical_id, properties, physical_id)
        self._rollback_cleanup = []
        self.template = self._rollback_to
        return self._set("UPDATE_ROLLBACK_COMPLETE")

    def _request(
        self,
        request_type: str,
        logical_id: str,
        properties: dict[str, Any],
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        event = events.request(
            request_type,
            properties,
            physical_id=physical_id if request_type != "Create" else None,
            old_properties=old_properties if request_type == "Update" else None,
        )
        event["StackId"] = self.stack_id
        event["LogicalResourceId"] = logical_id
        answer = self._send(event)
        self.requests.append(Request(self.status, event, answer))
        return answer

    def _set(self, status: str) -> str:
        self.status = status
        set_stack_status(self.stack_id, status)
        self._on_status(status)
        return status
