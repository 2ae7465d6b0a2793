"""Servers taken over with AdoptExisting, and what they held before, until their fate is known.

If the operation that adopted a server fails, CloudFormation's rollback sends a Delete for
it; the provider then gives the server back as it was, rather than deleting it, so no app
client loses a scope because a deployment failed. That needs the server's state from before
the adoption, which must outlive the 2-hour answer cache: it is kept in the same DynamoDB
table, one item per resource and server, with no expiry. An item is written before the
server is changed, and removed once the server is given back or deleted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from .contract import ResourceServer, Scope, ServerId
from .deadline import Budget, RetryPolicy, bounded_client
from .failure import RequestFailed

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Key:
    """One resource of one stack, and the server it adopted."""

    stack_id: str
    logical_resource_id: str
    server_id: ServerId

    def __str__(self) -> str:
        # Shares the answer table: a prefix no Powertools idempotency key has.
        return f"adoption|{self.stack_id}|{self.logical_resource_id}|{self.server_id}"


@dataclass(frozen=True)
class Adoption:
    prior: ResourceServer  # what the server held before it was adopted
    operation: str  # the EventId that started the stack operation which adopted it


class Adoptions:
    def __init__(self, table_name: str | None, budget: Budget) -> None:
        self._table_name = table_name
        self._budget = budget
        self._client: Any = None

    @property
    def available(self) -> bool:
        """False without a table, as under `sam local invoke`: then nothing can be adopted."""
        return self._table_name is not None

    def record(self, key: Key, prior: ResourceServer, operation: str, request_id: str) -> None:
        """Remember what the server held, before it is changed. A repeated delivery of the same
        request keeps the first record, which saw the server before that request changed it."""
        item = {
            "id": {"S": str(key)},
            "name": {"S": prior.name},
            "scopes": {"S": json.dumps([[s.name, s.description] for s in prior.scopes])},
            "operation": {"S": operation},
            "request_id": {"S": request_id},
            "adopted_at": {"S": datetime.now(UTC).isoformat()},
        }
        try:
            self._connect().put_item(
                TableName=self._table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR request_id <> :request",
                ExpressionAttributeValues={":request": {"S": request_id}},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                logger.info("This request already recorded the adopted server's prior state; keeping it")
                return
            raise _failure("record the server's prior state", error) from error
        except Exception as error:
            raise _failure("record the server's prior state", error) from error
        logger.info("Recorded the adopted server's prior state", extra={"server": str(key.server_id)})

    def find(self, key: Key) -> Adoption | None:
        if not self.available:
            return None
        try:
            item = self._connect().get_item(
                TableName=self._table_name, Key={"id": {"S": str(key)}}, ConsistentRead=True
            )
        except Exception as error:
            raise _failure("read whether this server was adopted", error) from error
        found = item.get("Item")
        if found is None:
            return None
        scopes = tuple(Scope(name, description) for name, description in json.loads(found["scopes"]["S"]))
        prior = ResourceServer(key.server_id.user_pool_id, key.server_id.identifier, found["name"]["S"], scopes)
        return Adoption(prior, found["operation"]["S"])

    def forget(self, key: Key) -> None:
        try:
            self._connect().delete_item(TableName=self._table_name, Key={"id": {"S": str(key)}})
        except Exception as error:
            raise _failure("forget an adoption record", error) from error

    def _connect(self) -> Any:
        # Made on first use: only resources with AdoptExisting ever reach here.
        if self._client is None:
            retries = RetryPolicy(self._budget.calls_end)
            self._client = bounded_client("dynamodb", retries, CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
        return self._client


def _failure(what: str, error: Exception) -> RequestFailed:
    why = _code(error) if isinstance(error, ClientError) else type(error).__name__
    return RequestFailed(f"Could not {what} in the provider's table ({why}); the server was left as it was")


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
