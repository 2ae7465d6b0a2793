"""The same request gets the same answer, however often Lambda delivers it.

Lambda delivers asynchronous events at least once, and retries an invocation that crashed
or timed out. A second delivery of a Create must not answer FAILED "already exists" after
the first answered SUCCESS: CloudFormation would read whichever answer came last. So each
answer, SUCCESS or FAILED, is kept in DynamoDB by Powertools' Idempotency utility, keyed by
the request, and replayed to any later delivery.

A delivery that finds another in flight waits while that one can still answer, judged on the
same clock for both: a delivery's record in progress expires when its own time does (the
earlier of the Lambda deadline and CloudFormation's). And Lambda's retry of an attempt that
failed carries that attempt's request id (AWS Knowledge Center, "Lambda function duplicate
invocations"), so a record in progress that names this invocation is an attempt that ended
without answering, whose retry this is: it answers at once, rather than wait out a dead one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .aws import DYNAMODB, Tables
from .budget import Budget
from .clock import CLOCK
from .delivery import Answer
from .event import Request
from .failure import DuplicateInFlight

logger = logging.getLogger(__name__)

# One request's identity (event.Request.identity), as 1.0.0 keyed it from the event.
REQUEST_KEY = "[StackId, LogicalResourceId, RequestId, RequestType]"
# CloudFormation's pre-signed ResponseURL lasts 2 hours: no delivery after that can be answered.
KEEP_ANSWERS_S = 2 * 60 * 60
POLL_S = 1.0  # how often a duplicate looks whether the delivery in flight has answered


INVOCATION = "invocation"  # the attribute that names the Lambda invocation a record in progress is of


class _TimeLeft:
    """What Powertools reads of the Lambda context: for how long this delivery can still answer."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._budget.left() * 1000), 0)


class DeadAttempt(Exception):
    """The record in progress is this invocation's own earlier attempt, which ended unanswered."""


class Replay:
    def __init__(self, table_name: str | None, budget: Budget, shared: Tables) -> None:
        self.table_name = table_name
        self._budget = budget
        self._tables = shared  # the ledger's client and its retry policy
        self._once: Callable[..., dict[str, Any]] | None = None
        self._config: Any = None
        self._store: Any = None
        self._invocation = ""  # this delivery's Lambda invocation
        self._in_progress_of: str | None = None  # the invocation the record last read is in progress for

    def start(self, invocation_id: str) -> None:
        """A new request, delivered in Lambda invocation `invocation_id`."""
        self._invocation, self._in_progress_of = invocation_id, None

    def answer(self, request: Request, work_out: Callable[[], Answer]) -> Answer:
        """The answer this request got before, or else `work_out()`'s, kept for the next delivery.
        Raises DuplicateInFlight when another delivery of it has answered, or still can."""
        if self.table_name is None:
            return work_out()
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415 - only when enabled
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        once = self._once or self._build()
        self._config.register_lambda_context(_TimeLeft(self._budget))
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
                try:
                    self._await_first(request.identity)
                except DeadAttempt:
                    logger.warning("This invocation's earlier attempt ended unanswered; answering in its place")
                    self._store.delete_record(request.identity, DeadAttempt())
            except IdempotencyPersistenceLayerError as error:
                # A stack must not fail because DynamoDB did: answer without the guard, once.
                logger.warning("Idempotency store unavailable; answering without it", extra={"error": str(error)})
                return worked_out[0] if worked_out else work_out()

    def keep(self, request: Request, answer: Answer) -> None:
        """Best effort: the answer crhelper's timer sent, kept for the next delivery of the request,
        as Lambda retries the invocation it is about to kill: it is answered the same, and works
        nothing out again after its rollback may have run. Within the Lambda's own last moments."""
        if self._store is None:
            return
        # One attempt, even if Lambda's kill may cut it short: nothing is lost by trying.
        with self._budget.tables_until(lambda: self._budget.lambda_end + DYNAMODB.attempt_s):
            try:
                self._store.save_success(request.identity, answer._asdict())
            except Exception as error:  # noqa: BLE001 - best effort: the answer is sent already
                logger.warning("The timer's answer was not kept", extra={"error": type(error).__name__})

    def _await_first(self, identity: dict[str, str]) -> None:
        """Another delivery of this request is in flight. Wait while it can still answer before its
        deadline: raise DuplicateInFlight once it has answered, or if it will outlast this one, or
        if the store can't say. Return when its deadline has passed unanswered (it crashed): then
        this one answers. Raise DeadAttempt when it is this invocation's own earlier attempt."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyItemNotFoundError,
        )

        logger.info("Another delivery of this request is in flight; waiting while it can still answer")
        while True:
            try:
                record = self._store.get_record(identity)
            except IdempotencyItemNotFoundError:
                return  # it failed and let go
            except Exception as error:
                logger.warning(
                    "Could not read the delivery in flight; leaving the answer to it",
                    extra={"error": type(error).__name__},
                )
                raise DuplicateInFlight from error
            if record is None or record.status == "COMPLETED":
                raise DuplicateInFlight
            if self._in_progress_of == self._invocation:
                raise DeadAttempt
            first_deadline = float(record.in_progress_expiry_timestamp or 0) / 1000  # a Decimal, from DynamoDB
            now = CLOCK.time()
            if first_deadline <= now:
                logger.warning("The delivery in flight passed its deadline without answering; this one answers")
                return
            if first_deadline > self._budget.epoch(self._budget.calls_end()):
                raise DuplicateInFlight  # it can still answer after this one could
            CLOCK.sleep(min(POLL_S, first_deadline - now))

    def _name_invocation(self, params: dict[str, Any], **_: Any) -> None:
        """Flaw: Powertools' record in progress does not say which invocation wrote it. It does now."""
        item = params.get("Item")
        if not isinstance(item, dict) or params.get("TableName") != self.table_name:
            return
        if item.get("status", {}).get("S") == "INPROGRESS":
            item[INVOCATION] = {"S": self._invocation}

    def _note_invocation(self, parsed: Any = None, **_: Any) -> None:
        item = parsed.get("Item") if isinstance(parsed, dict) else None
        if isinstance(item, dict) and "status" in item:  # an answers store record, not a ledger one
            self._in_progress_of = item.get(INVOCATION, {}).get("S")

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

        events = self._tables.client.meta.events
        events.register("before-parameter-build.dynamodb.PutItem", self._name_invocation)
        events.register("after-call.dynamodb.GetItem", self._note_invocation)
        self._once = idempotent_function(
            once, data_keyword_argument="request", persistence_store=self._store, config=self._config
        )
        return self._once
