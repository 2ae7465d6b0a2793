"""What the stack is doing: the one fact a request can't tell about itself.

A rollback can send a request that looks exactly like one that must be refused: an Update
back onto the Identifier a replacement left behind looks like an Update onto someone else's
server. The stack's own status, read with cloudformation:DescribeStacks on the event's
StackId, tells them apart.

A server taken over with AdoptExisting is given back if the operation that adopted it fails,
and deleted like any other once it succeeded. Only the stack's events can tell which, even
when the Delete comes in a later operation (a delete-stack after ROLLBACK_FAILED): the
operation's start event is remembered at adoption, and the events after it are read at
Delete. Stack-level events only, and CloudFormation's own clock on both sides.

These are read only on such rare paths, never on the common one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from .deadline import Budget, RetryPolicy, bounded_client

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 3.0
# CloudFormation rolls a failed update back with Updates carrying the old properties.
UPDATE_ROLLBACK = "UPDATE_ROLLBACK_IN_PROGRESS"
# A stack-level event that starts an operation which can create a resource, and what ends it.
OPERATION_STARTS = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"})
SUCCEEDED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE"})
FAILED = frozenset({"CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS"})


class StatusUnknown(Exception):
    """The stack's status could not be read; `why` says what to check."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Stack:
    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._client: Any = None

    def status(self, stack_id: str) -> str:
        """The stack's StackStatus, such as UPDATE_ROLLBACK_IN_PROGRESS; raises StatusUnknown."""
        try:
            stacks = self._connect().describe_stacks(StackName=stack_id)["Stacks"]
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StatusUnknown(f"cloudformation:DescribeStacks failed: {code}") from error
        except Exception as error:  # unread, for whatever reason, is unknown: never taken as "not rolling back"
            raise StatusUnknown(f"cloudformation:DescribeStacks failed: {type(error).__name__}") from error
        if not stacks:
            raise StatusUnknown("cloudformation:DescribeStacks found no such stack")
        status = str(stacks[0].get("StackStatus", ""))
        logger.info("Read the stack's status", extra={"stack_status": status})
        return status

    def operation_start(self, stack_id: str) -> str:
        """The EventId that started the stack's current operation; raises StatusUnknown."""
        for event in self._stack_events(stack_id):
            if event["ResourceStatus"] in OPERATION_STARTS:
                return str(event["EventId"])
        raise StatusUnknown("the stack's events hold no start of its current operation")

    def operation_succeeded(self, stack_id: str, start_event_id: str) -> bool:
        """Whether the operation that `start_event_id` began succeeded: False while it runs or
        once it rolls back. Raises StatusUnknown, as when its start is no longer listed."""
        since: list[str] = []
        for event in self._stack_events(stack_id):
            if event["EventId"] == start_event_id:
                break
            since.append(event["ResourceStatus"])
        else:
            raise StatusUnknown("the stack's events no longer hold the operation that adopted the server")
        for status in reversed(since):  # oldest first: the first outcome is the operation's own
            if status in SUCCEEDED:
                return True
            if status in FAILED:
                return False
        return False

    def _stack_events(self, stack_id: str) -> Iterator[dict[str, Any]]:
        """The stack's own events, newest first."""
        try:
            for page in self._connect().get_paginator("describe_stack_events").paginate(StackName=stack_id):
                for event in page["StackEvents"]:
                    if event.get("ResourceType") == "AWS::CloudFormation::Stack":
                        yield event
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            raise StatusUnknown(f"cloudformation:DescribeStackEvents failed: {code}") from error
        except Exception as error:  # unread, for whatever reason, is unknown
            raise StatusUnknown(f"cloudformation:DescribeStackEvents failed: {type(error).__name__}") from error

    def _connect(self) -> Any:
        # Made on first use: most requests never read the stack, and a client costs cold start.
        if self._client is None:
            retries = RetryPolicy(self._budget.calls_end)
            self._client = bounded_client("cloudformation", retries, CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        return self._client
