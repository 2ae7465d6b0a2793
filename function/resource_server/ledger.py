"""3c. The ledger: the DynamoDB table that holds ownership's records (ownership.py), and the only
module that reads or writes it. The table outlives the provider's own stack (template.yaml:
Retain, point-in-time recovery).

- Every write is conditional on the version read, so two requests can't both win; the loser
  reads again and decides again (Contended). A retry of a write whose first attempt landed finds
  its own token.
- A record may carry a lease: the one request working on the server, until the lease ends. A
  Create takes its lease in the write that records `creating`, and gives it back in the write
  that records `made`: the two writes a Create adds.
- The leases are also the queue in which throttled writers wait their turn (pacing.py): a sparse
  index of the records that hold one, in the order they began. The write that gives a lease back
  after Cognito took the request's write leaves in it, for a while, when Cognito took it: when
  the pool's next slot opens.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import typing
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .aws import OutOfTime, Tables
from .budget import Budget
from .clock import CLOCK
from .contract import ResourceServer, ServerId
from .failure import RequestFailed
from .ownership import LIVE, Owner, Record, State
from .pacing import RECENT_WRITE_S, Ahead, Lease, Line

logger = logging.getLogger(__name__)

TABLE_VARIABLE = "LEDGER_TABLE"
# A sparse index of the records that hold a lease, in the order they began, and of those whose
# last write gave one back after Cognito took a write: that moment, until the record's next write.
QUEUE_INDEX = "queue"
# No lease outlives the Lambda's longest Timeout, 900 s: the queue is read no further back, so a
# moment left in the index is passed over once it is older.
QUEUE_HORIZON_S = 960.0
# A lease marked as one whose request died: its pool, so marked, is counted in no line.
STALE = "stale:"
# The most leases one writer marks: as many as the pool's rate serves while a line stalls.
STALE_AT_MOST = 15
KEEP_GONE_S = 30 * 24 * 3600
LEASE_POLL_S = 0.5
# The drift check's Scan, a page at most this many records (each under 2 KB): a page of 1 MB,
# DynamoDB's own limit, could outlast the shared client's read timeout (aws.DYNAMODB).
SCAN_PAGE = 100
# What a record keeps of the one it displaced: whose it was, and how it came to be theirs.
DISPLACED_KEYS = frozenset(
    {
        "server",
        "pool",
        "state",
        "stack",
        "logical",
        "origin",
        "request",
        "version",
        "issued",
        "prior",
        "operation",
        "applied",
    }
)


class Contended(Exception):
    """Another request wrote the record first: read it again and decide again."""


class Ledger:
    def __init__(
        self,
        table_name: str,
        budget: Budget,
        shared: Tables,
        write_attempt_s: float = 0.0,
    ) -> None:
        self.table_name = table_name
        self._budget = budget
        self._write_attempt_s = write_attempt_s  # the longest a Cognito write attempt takes
        self._client = shared.client
        self.holder = ""  # this delivery: RequestId and the Lambda invocation's id
        self._held: Record | None = None  # the record whose lease this delivery holds, as written
        # A write of this delivery's lease that failed after an attempt whose answer may have been
        # lost, and the write's token: if that attempt landed, the lease stands until let_go.
        self._in_doubt: tuple[Record, str] | None = None
        self._took_at: float | None = None  # when Cognito took this request's last write, by pacing

    @property
    def lease(self) -> Lease | None:
        """The lease this delivery holds now, if any: its place in the queue of writers."""
        return self._held.lease if self._held is not None else None

    def start(self, request_id: str, invocation_id: str) -> None:
        self.holder, self._held = f"{request_id}/{invocation_id}", None
        self._in_doubt = self._took_at = None

    def took(self, at: float) -> None:
        """Cognito took this request's write at `at`: the write that gives the lease back keeps it."""
        self._took_at = at

    def let_go(self) -> None:
        """Give back a lease that a request which failed midway still holds, its record unchanged:
        also one whose write failed but landed, found by its token, lest it stand ahead of every
        writer in the pool's line until its time ends."""
        if self._held is None and self._in_doubt is not None:
            record, token = self._in_doubt
            try:
                landed = self._item(record.server_id)
            except RequestFailed:
                landed = None
            if landed is not None and landed.get("write", {}).get("S") == token:
                self._held = _record(landed)
        self._in_doubt = None
        if (held := self._held) is None:
            return
        try:
            self.settle(held, held.state)
        except (Contended, RequestFailed) as error:
            # It ends with the request's time anyway; the next request waits until then.
            logger.warning("Could not give back the server's lease", extra={"error": type(error).__name__})
            self._held = None

    # Reading

    def read(self, server_id: ServerId) -> Record | None:
        item = self._item(server_id)
        return _record(item) if item else None

    def live_records(self) -> list[Record]:
        """Every record of a server some stack still holds, for the drift check: a Scan of the
        table, a page a call, read strongly so that a settle just made is seen."""
        values = {f":{state.value}": {"S": state.value} for state in LIVE}
        scan: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": f"#state IN ({', '.join(sorted(values))})",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
            "Limit": SCAN_PAGE,
        }
        records: list[Record] = []
        while True:
            page = self._call("read the live records", lambda c: c.scan(**scan))
            records.extend(_record(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return records
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def wait(self, record: Record) -> Record | None:
        """The record once no other delivery holds a lease on it: released, or ended. Raises
        RequestFailed if that does not happen while this request can still act."""
        current: Record | None = record
        while current is not None and current.leased_by_other(self.holder, CLOCK.time()):
            assert current.lease is not None
            left = self._budget.calls_end() - CLOCK.monotonic()
            wait = min(LEASE_POLL_S, current.lease.writes_until - CLOCK.time())
            if wait > left - 1.0:
                raise RequestFailed(
                    f"Another request for {record.server_id.identifier:.60} ({record.owner}) was still at work "
                    "when this one ran out of time; retry"
                )
            logger.info("Waiting for the request that holds the server's lease", extra={"seconds": round(wait, 2)})
            CLOCK.sleep(max(wait, 0.05))
            current = self.read(record.server_id)
        return current

    def line_ahead(self, mine: Lease, now: float) -> Line | None:
        """How many leases began before `mine` and can still write at `now`, in its pool and in
        all, the first of those in its pool, and when its pool last took a write; None when they
        can't be read. One Query of the queue index gives it all: each entry carries its pool, a
        stale one is marked there, and an entry without a holder is a write taken (`settle`)."""
        values = {
            ":writes": {"S": "writes"},
            ":since": {"N": str(now - QUEUE_HORIZON_S)},
            ":mine": {"N": str(mine.began)},
            ":recent": {"N": str(now - RECENT_WRITE_S)},
        }
        in_pool = in_account = 0
        ahead: list[Ahead] = []
        shows_mine = False
        last_write: float | None = None
        token = None
        try:
            while True:
                page = self._client.query(
                    TableName=self.table_name,
                    IndexName=QUEUE_INDEX,
                    # The writers ahead, and those ahead that have written: in the order they began,
                    # the one that wrote last is the one just ahead. Each entry read is a cost.
                    KeyConditionExpression="#queue = :writes AND began BETWEEN :since AND :mine",
                    FilterExpression="writes_until > :recent",
                    ProjectionExpression="#server, #pool, holder, writes_until",
                    ExpressionAttributeNames={"#queue": "queue", "#pool": "pool", "#server": "server"},
                    ExpressionAttributeValues=values,
                    **({"ExclusiveStartKey": token} if token else {}),
                )
                for item in page.get("Items", []):
                    pool = item.get("pool", {}).get("S", "")
                    until = float(item.get("writes_until", {}).get("N", "0"))
                    holder = item.get("holder", {}).get("S")
                    if holder is None:
                        if pool == mine.pool:
                            last_write = until if last_write is None else max(last_write, until)
                        continue
                    if holder == mine.holder:
                        shows_mine = True  # its own: how far the index lags, it learns from this
                        continue
                    if pool.startswith(STALE) or until <= now:
                        continue
                    in_account += 1
                    if pool == mine.pool:
                        in_pool += 1
                        if len(ahead) < STALE_AT_MOST:
                            ahead.append(Ahead(item["server"]["S"], holder, until))
                if not (token := page.get("LastEvaluatedKey")):
                    return Line(in_pool, in_account, tuple(ahead), shows_mine, last_write)
        except (ClientError, BotoCoreError, OutOfTime):
            return None

    def mark_stale(self, ahead: tuple[Ahead, ...]) -> None:
        """Leave leases that stood still ahead out of the line: their requests died, and a lease
        stands until its time ends. Marked in the queue's own field, and only while the lease is
        the one seen: ownership reads none of it, and the record's next write clears it."""
        for lease in ahead:
            pool = ServerId.parse(lease.server)
            try:
                self._client.update_item(
                    TableName=self.table_name,
                    Key={"server": {"S": lease.server}},
                    UpdateExpression="SET #pool = :stale",
                    ConditionExpression="holder = :holder AND writes_until = :until",
                    ExpressionAttributeNames={"#pool": "pool"},
                    ExpressionAttributeValues={
                        ":stale": {"S": STALE + (pool.user_pool_id if pool else "")},
                        ":holder": {"S": lease.holder},
                        ":until": {"N": repr(lease.writes_until)},
                    },
                )
            except (ClientError, BotoCoreError, OutOfTime) as error:
                logger.info("A stale lease was not marked", extra={"error": aws.code(error) or type(error).__name__})

    # Writing: each write is conditional on the version read, so two requests can't both win.

    def claim(
        self,
        server_id: ServerId,
        expected: Record | None,
        *,
        state: State,
        owner: Owner,
        request_id: str,
        issued_at: float | None,
        origin: str | None = None,
        prior: ResourceServer | None = None,
        operation: str | None = None,
        displaced: Record | None = None,
    ) -> Record:
        """Take the server's lease and record `state` for `owner`. Raises Contended."""
        kept = expected if expected is not None and expected.owner == owner else None
        lease = self._lease(server_id)
        record = Record(
            server_id=server_id,
            state=state,
            owner=owner,
            origin=origin or (kept.origin if kept else state.value),
            request_id=request_id,
            issued_at=issued_at,
            version=(expected.version + 1) if expected else 1,
            prior=prior if prior is not None else (kept.prior if kept else None),
            operation=operation or (kept.operation if kept else None),
            lease=lease,
            cancelled_at=None,
            displaced=displaced if displaced is not None else (kept.displaced if kept else None),
            applied=kept.applied if kept else None,
        )
        self._write(record, expected)
        self._held = record
        return record

    def take(self, server_id: ServerId, owner: Owner) -> tuple[Record | None, bool]:
        """Write first, read on conflict: take the lease of a live record of `owner` that no other
        request holds, in one write that returns the record; True then. Else the record as it is
        (None when there is none), from the same call, and False."""
        lease = self._lease(server_id)
        values = {
            ":stack": {"S": owner.stack_id},
            ":logical": {"S": owner.logical_id},
            ":gone": {"S": State.GONE.value},
            ":holder": {"S": lease.holder},
            ":began": {"N": str(lease.began)},
            ":until": {"N": str(lease.writes_until)},
            ":writes": {"S": "writes"},
            ":one": {"N": "1"},
            ":now": {"N": str(CLOCK.time())},
            ":token": {"S": uuid.uuid4().hex},
        }
        try:
            taken = self._client.update_item(
                TableName=self.table_name,
                Key=_key(server_id),
                UpdateExpression=(
                    "SET holder = :holder, began = :began, writes_until = :until, #queue = :writes, "
                    "#version = #version + :one, #write = :token"
                ),
                ConditionExpression=(
                    "#stack = :stack AND #logical = :logical AND #state <> :gone "
                    "AND (attribute_not_exists(holder) OR writes_until < :now OR holder = :holder)"
                ),
                ExpressionAttributeNames={
                    "#stack": "stack",
                    "#logical": "logical",
                    "#state": "state",
                    "#queue": "queue",
                    "#version": "version",
                    "#write": "write",
                },
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if aws.code(error) != "ConditionalCheckFailedException":
                raise failure("read the server's record", error) from error
            item: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            return (_record(item) if item else None), False
        except (BotoCoreError, OutOfTime) as error:
            # It may have landed: given back when the request ends (let_go), if it holds this token.
            self._in_doubt = (Record(server_id, State.HELD, owner, "", "", None, 0, lease=lease), values[":token"]["S"])
            raise failure("read the server's record", error) from error
        self._held = _record(taken["Attributes"])
        return self._held, True

    def _lease(self, server_id: ServerId) -> Lease:
        return Lease(
            holder=self.holder,
            pool=server_id.user_pool_id,
            began=CLOCK.time(),
            # The last moment it can start a write: writers behind it don't count it after that.
            writes_until=self._budget.epoch(self._budget.calls_end() - self._write_attempt_s),
        )

    def settle(self, record: Record, state: State, **changes: Any) -> Record:
        """Record `state` and give the lease back. Raises Contended."""
        settled = record._replace(state=state, version=record.version + 1, lease=None, **changes)
        took = (record.lease.began, self._took_at) if record.lease and self._took_at is not None else None
        # The write that gives the lease back is the request's last on the record: it may use the
        # store's reserve, so that a server made near the deadline is still recorded.
        with self._budget.last_write():
            self._write(settled, record, took)
        self._held = self._took_at = None
        return settled

    def give_back(self, record: Record) -> Record:
        """After an adoption is undone: the displaced record again, or `gone`, marked returned.
        Gives the lease back. Raises Contended."""
        displaced = record.displaced
        if displaced is None:
            return self.settle(record, State.GONE, returned=True)
        return self.settle(
            record,
            displaced.state,
            owner=displaced.owner,
            origin=displaced.origin,
            prior=displaced.prior,
            operation=displaced.operation,
            displaced=None,
            applied=displaced.applied,
        )

    def cancel(self, record: Record, issued_at: float | None) -> Record:
        """Fence off a Create of the owner that has not run yet: it will find this and do nothing."""
        cancelled = record._replace(version=record.version + 1, cancelled_at=issued_at or CLOCK.time())
        self._write(cancelled, record)
        return cancelled

    def fence(
        self,
        server_id: ServerId,
        owner: Owner,
        request_id: str,
        issued_at: float | None,
        expected: Record | None,
        *,
        returned: bool = False,
    ) -> None:
        """A `gone` record for `owner`, in place of none or of another `gone` one: a Delete that found
        nothing live leaves it for a cancelled Create that has not run, so that it never makes the
        server. `returned`: to any other owner, as if there were no record. Raises Contended if the
        Create wrote first: then read it, and undo what it did."""
        version = expected.version + 1 if expected else 1
        fenced = Record(
            server_id,
            State.GONE,
            owner,
            "made",
            request_id,
            issued_at,
            version,
            cancelled_at=issued_at,
            returned=returned,
        )
        self._write(fenced, expected)

    # The table

    def _write(self, record: Record, expected: Record | None, took: tuple[float, float] | None = None) -> None:
        """`took`: when the lease given back began, and when Cognito took its write."""
        item = _item(record)
        if took is not None:
            # In the queue where its lease stood, without a holder: when Cognito took a write in
            # its pool (line_ahead). Ownership reads none of it; the record's next write clears it.
            began, at = took
            item.update({"queue": {"S": "writes"}, "began": {"N": str(began)}, "writes_until": {"N": str(at)}})
        token = item["write"]["S"]
        condition = "attribute_not_exists(#server)" if expected is None else "#version = :version"
        values = {} if expected is None else {"ExpressionAttributeValues": {":version": {"N": str(expected.version)}}}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#server": "server"} if expected is None else {"#version": "version"},
                # The item that failed the condition comes back with the failure: no read after it.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **values,
            )
        except ClientError as error:
            if aws.code(error) != "ConditionalCheckFailedException":
                self._doubt(record, token)
                raise failure("write the server's record", error) from error
            # A retry of a write whose first attempt landed finds its own token.
            landed: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            if landed is None or landed.get("write", {}).get("S") != token:
                raise Contended from error
        except (BotoCoreError, OutOfTime) as error:
            self._doubt(record, token)
            raise failure("write the server's record", error) from error

    def _doubt(self, record: Record, token: str) -> None:
        if record.lease is not None and record.lease.holder == self.holder:
            self._in_doubt = (record, token)

    def _item(self, server_id: ServerId) -> dict[str, Any] | None:
        table = self.table_name
        found = self._call(
            "read the server's record", lambda c: c.get_item(TableName=table, Key=_key(server_id), ConsistentRead=True)
        )
        item: dict[str, Any] | None = found.get("Item")
        return item

    def _call(self, what: str, call: Callable[[Any], Any]) -> Any:
        try:
            return call(self._client)
        except (ClientError, BotoCoreError, OutOfTime) as error:
            raise failure(what, error) from error


def _key(server_id: ServerId) -> dict[str, Any]:
    return {"server": {"S": str(server_id)}}


def _item(record: Record) -> dict[str, Any]:
    item: dict[str, Any] = {
        **_key(record.server_id),
        "pool": {"S": record.server_id.user_pool_id},
        "state": {"S": record.state.value},
        "stack": {"S": record.owner.stack_id},
        "logical": {"S": record.owner.logical_id},
        "origin": {"S": record.origin},
        "request": {"S": record.request_id},
        "version": {"N": str(record.version)},
        "updated": {"S": datetime.datetime.fromtimestamp(CLOCK.time(), datetime.UTC).isoformat()},
        "write": {"S": uuid.uuid4().hex},
    }
    if record.issued_at is not None:
        item["issued"] = {"N": str(record.issued_at)}
    if record.prior is not None:
        item["prior"] = {"S": _stored_state(record.prior)}
    if record.applied is not None:
        item["applied"] = {"S": _stored_state(record.applied)}
    if record.operation is not None:
        item["operation"] = {"S": record.operation}
    if record.cancelled_at is not None:
        item["cancelled"] = {"N": str(record.cancelled_at)}
    if record.displaced is not None:
        item["displaced"] = {"M": _displaced_item(record.displaced)}
    if record.returned:
        item["returned"] = {"BOOL": True}
    if record.lease is not None:
        item.update(
            {
                "queue": {"S": "writes"},  # in the sparse queue index while leased (and see _write)
                "holder": {"S": record.lease.holder},
                "began": {"N": str(record.lease.began)},
                "writes_until": {"N": str(record.lease.writes_until)},
            }
        )
    if record.state is State.GONE:
        item["expires"] = {"N": str(int(CLOCK.time() + KEEP_GONE_S))}  # the table's TTL attribute
    return item


def _displaced_item(displaced: Record) -> dict[str, Any]:
    """What is restored of a displaced record: one level, with neither lease nor a record it displaced."""
    whole = _item(displaced._replace(lease=None, displaced=None, returned=False))
    return {key: value for key, value in whole.items() if key in DISPLACED_KEYS}


def _record(item: dict[str, Any]) -> Record:
    server_id = ServerId.parse(item["server"]["S"])
    assert server_id is not None
    prior = _server(server_id, item["prior"]["S"]) if "prior" in item else None
    return Record(
        server_id=server_id,
        state=State(item["state"]["S"]),
        owner=Owner(item["stack"]["S"], item["logical"]["S"]),
        origin=item["origin"]["S"],
        request_id=item["request"]["S"],
        issued_at=float(item["issued"]["N"]) if "issued" in item else None,
        version=int(item["version"]["N"]),
        prior=prior,
        operation=item["operation"]["S"] if "operation" in item else None,
        lease=_lease(item),
        cancelled_at=float(item["cancelled"]["N"]) if "cancelled" in item else None,
        displaced=_record(item["displaced"]["M"]) if "displaced" in item else None,
        returned=bool(item.get("returned", {}).get("BOOL", False)),
        applied=_server(server_id, item["applied"]["S"]) if "applied" in item else None,
    )


def _stored_state(server: ResourceServer) -> str:
    """What a server held, as its record keeps it: every field of ResourceServer but where it lives,
    which the record's key says, by name; each Scope by position in its fields, as 2.0.0 kept it."""
    state = server._asdict()
    for where in ServerId._fields:
        del state[where]
    return json.dumps({name: _plain(value) for name, value in state.items()})


def _server(server_id: ServerId, stored: str) -> ResourceServer:
    """The server `_stored_state` kept. A field a record predates takes its default."""
    state = json.loads(stored)
    items = _item_types()
    fields = {name: _typed(items.get(name), state[name]) for name in ResourceServer._fields if name in state}
    return ResourceServer(**{**fields, **server_id._asdict()})


def _plain(value: object) -> object:
    return [list(item) for item in value] if isinstance(value, tuple) else value


def _typed(item_type: Any, value: Any) -> Any:
    return tuple(item_type(*item) for item in value) if item_type is not None else value


@functools.cache
def _item_types() -> dict[str, Any]:
    """For each field of ResourceServer that holds a tuple of NamedTuples (Scopes), their type."""
    hints = typing.get_type_hints(ResourceServer)
    return {name: typing.get_args(hint)[0] for name, hint in hints.items() if typing.get_origin(hint) is tuple}


def _lease(item: dict[str, Any]) -> Lease | None:
    if "holder" not in item:
        return None
    return Lease(
        holder=item["holder"]["S"],
        pool=item["pool"]["S"],
        began=float(item["began"]["N"]),
        writes_until=float(item["writes_until"]["N"]),
    )


def failure(what: str, error: Exception) -> RequestFailed:
    why = aws.code(error) or type(error).__name__
    return RequestFailed(f"Could not {what} in the provider's ledger table ({why}); the server was left as it was")
