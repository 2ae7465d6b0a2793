"""What CloudFormation says of a stack, read only where the ledger can't answer.

- Whether the operation that adopted a server succeeded (a Delete of an adopted server that no
  later request has settled): the stack's own events after the operation began.
- Whether a resource still holds a server (before another stack adopts it): DescribeStackResource.
- The stack's current operation: when it began (a Delete that names no server, to tell a Create
  cancelled in this operation from an older one), and whether it still goes forward (an
  adoption delivered after CloudFormation cancelled it adopts nothing).
- The stack's status, for a rollback Update onto a server another logical id of the stack
  adopted in the update that failed.

Only the stack's own events count: a parent stack's list also holds its nested stacks' events,
with the same ResourceType and their own ARN as PhysicalResourceId.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from botocore.exceptions import ClientError

from . import aws
from .aws import CLOUDFORMATION, RetryPolicy, code, message
from .failure import RequestFailed

logger = logging.getLogger(__name__)

UPDATE_ROLLBACK = "UPDATE_ROLLBACK_IN_PROGRESS"
# A stack-level event that starts an operation which can create a resource; what it ends with.
OPERATION_STARTS = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"})
# Only these: a nested stack's UPDATE_COMPLETE_CLEANUP_IN_PROGRESS can still be followed by a rollback.
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
FAILED = frozenset({"CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS"})
# A resource a stack deleted, or left behind under DeletionPolicy Retain as the stack was deleted.
GONE = frozenset({"DELETE_COMPLETE", "DELETE_SKIPPED"})
STACK_TYPE = "AWS::CloudFormation::Stack"


class Operation(NamedTuple):
    """A stack's current operation: the event that began it, when, and where it stands now."""

    event_id: str
    began: float  # seconds since the epoch
    status: str  # the stack's newest own event, such as UPDATE_ROLLBACK_IN_PROGRESS
    since: tuple[str, ...] = ()  # the stack's own statuses after the one that began it, oldest first

    @property
    def going_forward(self) -> bool:
        """Whether it still creates and updates: a Create that arrives otherwise was cancelled."""
        return self.status in OPERATION_STARTS

    @property
    def succeeded(self) -> bool | None:
        """Whether it succeeded; None while it runs. Only its first outcome counts: a nested
        stack's UPDATE_COMPLETE_CLEANUP_IN_PROGRESS can still be followed by a rollback."""
        for status in self.since:
            if status in SUCCEEDED:
                return True
            if status in FAILED:
                return False
        return None


class StatusUnknown(Exception):
    """The stack could not be read; `why` says what to check."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


# What a request that could not read the stack tells the stack's author to do.
RETRY = "; allow that, then retry. The server was left as it was"
CONTINUE_ROLLBACK = ": allow that, then continue the rollback"


@contextmanager
def needed(what: str, then: str = RETRY) -> Iterator[None]:
    """Around reads a decision can't be made without: unread (a role without the permission, a
    throttled account), the request fails saying what it needed, why it could not, and what to do.
    Nothing is decided on a guess."""
    try:
        yield
    except StatusUnknown as unknown:
        raise RequestFailed(f"{what} ({unknown.why}){then}") from unknown


class StackMissing(Exception):
    """CloudFormation knows no such stack, or no such resource in it."""


class StackReader:
    """What CloudFormation says of a stack: read only, and only where the ledger can't answer."""

    def __init__(self, deadline: Callable[[], float]) -> None:
        self._deadline = deadline
        self._client: Any = None

    def status(self, stack_id: str) -> str:
        """The stack's StackStatus, such as UPDATE_ROLLBACK_IN_PROGRESS; raises StatusUnknown."""
        stacks = self._call("DescribeStacks", lambda c: c.describe_stacks(StackName=stack_id))["Stacks"]
        if not stacks:
            raise StatusUnknown("cloudformation:DescribeStacks found no such stack")
        status = str(stacks[0].get("StackStatus", ""))
        logger.info("Read the stack's status", extra={"stack_status": status})
        return status

    def in_progress(self, stack_id: str) -> bool:
        """Whether an operation of the stack is still running; False when there is no such stack."""
        stacks = self._call("DescribeStacks", lambda c: c.describe_stacks(StackName=stack_id), missing_is_none=True)
        status = str(stacks["Stacks"][0].get("StackStatus", "")) if stacks and stacks.get("Stacks") else ""
        return status.endswith("_IN_PROGRESS")

    def operation(self, stack_id: str) -> Operation | None:
        """The stack's current operation, from one reading of its newest own events; None when
        there is no such stack. Raises StatusUnknown."""
        since: list[str] = []
        try:
            for event in self._own_events(stack_id):
                if event["ResourceStatus"] in OPERATION_STARTS:
                    status = since[0] if since else str(event["ResourceStatus"])
                    began = event["Timestamp"].timestamp()
                    return Operation(str(event["EventId"]), began, status, tuple(reversed(since)))
                since.append(str(event["ResourceStatus"]))
        except StackMissing:
            return None
        raise StatusUnknown("the stack's events hold no start of its current operation")

    def holds(self, stack_id: str, logical_id: str, physical_id: str) -> bool:
        """Whether the stack exists and its resource `logical_id` holds `physical_id`."""
        found = self._call(
            "DescribeStackResource",
            lambda c: c.describe_stack_resource(StackName=stack_id, LogicalResourceId=logical_id),
            missing_is_none=True,
        )
        if found is None:
            return False
        detail = found.get("StackResourceDetail", {})
        return bool(detail.get("PhysicalResourceId") == physical_id and detail.get("ResourceStatus") not in GONE)

    def _own_events(self, stack_id: str) -> Iterator[dict[str, Any]]:
        """The stack's own events, newest first."""
        pages = self._connect().get_paginator("describe_stack_events").paginate(StackName=stack_id)
        try:
            for page in pages:
                for event in page["StackEvents"]:
                    if event.get("PhysicalResourceId") == stack_id and event.get("ResourceType") == STACK_TYPE:
                        yield event
        except ClientError as error:
            if _missing(error):
                raise StackMissing from error
            raise _unknown("DescribeStackEvents", error) from error
        except Exception as error:  # unread, for whatever reason, is unknown
            raise _unknown("DescribeStackEvents", error) from error

    def _call(self, action: str, call: Callable[[Any], Any], missing_is_none: bool = False) -> Any:
        try:
            return call(self._connect())
        except ClientError as error:
            if missing_is_none and _missing(error):
                return None
            raise _unknown(action, error) from error
        except Exception as error:  # unread, for whatever reason, is unknown
            raise _unknown(action, error) from error

    def _connect(self) -> Any:
        # Made on first use: most requests never read the stack, and a client costs cold start.
        if self._client is None:
            self._client = aws.client("cloudformation", RetryPolicy(self._deadline), CLOUDFORMATION)
        return self._client


def _unknown(action: str, error: Exception) -> StatusUnknown:
    why = code(error) or type(error).__name__
    return StatusUnknown(f"cloudformation:{action} failed: {why}")


def _missing(error: ClientError) -> bool:
    return code(error) == "ValidationError" and "does not exist" in message(error)
