"""What the stack is doing: the one fact a request can't tell about itself.

A rollback can send a request that looks exactly like one that must be refused: an Update
back onto the Identifier a replacement left behind looks like an Update onto someone else's
server. The stack's own status, read with cloudformation:DescribeStacks on the event's
StackId, tells them apart. It is read only on such rare paths, never on the common one.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .deadline import Budget, RetryPolicy

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 3.0
# CloudFormation rolls a failed update back with Updates carrying the old properties.
UPDATE_ROLLBACK = "UPDATE_ROLLBACK_IN_PROGRESS"


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

    def _connect(self) -> Any:
        # Made on first use: most requests never read the stack, and a client costs cold start.
        if self._client is None:
            config = Config(
                retries={"mode": "standard"}, connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S
            )
            self._client = boto3.client("cloudformation", config=config)
            RetryPolicy(self._budget.calls_end, CONNECT_TIMEOUT_S + READ_TIMEOUT_S).attach(self._client)
        return self._client
