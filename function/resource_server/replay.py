"""The same request gets the same answer, however often Lambda delivers it.

Lambda delivers asynchronous events at least once, and retries an invocation that crashed
or timed out. A second delivery of a Create must not answer FAILED "already exists" after
the first answered SUCCESS: CloudFormation would read whichever answer came last. So each
answer, SUCCESS or FAILED, is kept in DynamoDB by Powertools' Idempotency utility, keyed by
the request, and replayed to any later delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .aws import Tables
from .budget import Budget
from .delivery import Answer
from .event import Request
from .failure import DuplicateInFlight

logger = logging.getLogger(__name__)

# One request's identity (event.Request.identity), as 1.0.0 keyed it from the event.
REQUEST_KEY = "[StackId, LogicalResourceId, RequestId, RequestType]"
# CloudFormation's pre-signed ResponseURL lasts 2 hours: no delivery after that can be answered.
KEEP_ANSWERS_S = 2 * 60 * 60
POLL_S = 1.0  # how often a duplicate looks whether the delivery in flight has answered


class Replay:
    def __init__(self, table_name: str | None, budget: Budget, shared: Tables) -> None:
        self.table_name = table_name
        self._budget = budget
        self._tables = shared  # the ledger's client and its retry policy
        self._once: Callable[..., dict[str, Any]] | None = None
        self._config: Any = None
        self._store: Any = None

    def answer(self, request: Request, context: Any, work_out: Callable[[], Answer]) -> Answer:
        """The answer this request got before, or else `work_out()`'s, kept for the next delivery.
        Raises DuplicateInFlight when another delivery of it has answered, or still can."""
        if self.table_name is None:
            return work_out()
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415 - only when enabled
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        once = self._once or self._build()
        self._config.register_lambda_context(context)
        worked_out: list[Answer] = []

        def work_out_once(identity: dict[str, Any]) -> dict[str, Any]:
            worked_out.append(work_out())
            return worked_out[0]._asdict()

        while True:
            try:
                # Around the ledger's calls too, which share the client: a write of either that
                # was sent and lost is waited out before the answer goes.
                with self._tables.retries.writing() as write:
                    return Answer(**once(request=request.identity, work_out_once=work_out_once))
            except IdempotencyAlreadyInProgressError:
                if write.in_doubt:
                    # An attempt to record this request as in progress was lost, then its retry found
                    # the record: most likely that attempt's own. Answer, as when the store is unavailable.
                    logger.warning("This request's own lost write may hold the store; answering without it")
                    return work_out()
                self._await_first(request.identity)
            except IdempotencyPersistenceLayerError as error:
                # A stack must not fail because DynamoDB did: answer without the guard, once.
                logger.warning("Idempotency store unavailable; answering without it", extra={"error": str(error)})
                return worked_out[0] if worked_out else work_out()

    def _await_first(self, identity: dict[str, str]) -> None:
        """Another delivery of this request is in flight. Wait while it can still answer before its
        deadline: raise DuplicateInFlight once it has answered, or if it will outlast this one.
        Return when its deadline has passed unanswered (it crashed): then this one answers."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyItemNotFoundError,
        )

        logger.info("Another delivery of this request is in flight; waiting while it can still answer")
        while True:
            try:
                record = self._store.get_record(identity)
            except IdempotencyItemNotFoundError:
                return  # it failed and let go
            if record is None or record.status == "COMPLETED":
                raise DuplicateInFlight
            first_deadline = float(record.in_progress_expiry_timestamp or 0) / 1000  # a Decimal, from DynamoDB
            now = time.time()
            if first_deadline <= now:
                logger.warning("The delivery in flight passed its deadline without answering; this one answers")
                return
            if first_deadline > self._budget.epoch(self._budget.calls_end()):
                raise DuplicateInFlight  # it can still answer after this one could
            time.sleep(min(POLL_S, first_deadline - now))

    def _build(self) -> Callable[..., dict[str, Any]]:
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        assert self.table_name is not None
        self._store = DynamoDBPersistenceLayer(table_name=self.table_name, boto3_client=self._tables.client)
        self._config = IdempotencyConfig(
            event_key_jmespath=REQUEST_KEY, raise_on_no_idempotency_key=True, expires_after_seconds=KEEP_ANSWERS_S
        )

        def once(request: dict[str, Any], work_out_once: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
            return work_out_once(request)

        self._once = idempotent_function(
            once, data_keyword_argument="request", persistence_store=self._store, config=self._config
        )
        return self._once
