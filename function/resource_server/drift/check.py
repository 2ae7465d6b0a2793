"""Read every live record of the ledger, list each pool's servers once, and compare in memory.

Listing beats describing: ListResourceServers returns 50 servers a call, so a pool of 300 takes
6 calls where describing each would take 300, each against the pool's read rate. The check
writes nothing, to Cognito or to the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from resource_server import aws
from resource_server.clock import CLOCK
from resource_server.cognito import Cognito, Held, PoolGone
from resource_server.contract import ServerId
from resource_server.failure import RequestFailed
from resource_server.ledger import Ledger
from resource_server.ownership import Owner, Record

from .compare import MISSING, differences


class Drifted(NamedTuple):
    owner: Owner
    server_id: ServerId
    differences: tuple[str, ...]


class Unchecked(NamedTuple):
    """A pool whose servers could not be read: not drift, and not known to be in step."""

    user_pool_id: str
    servers: int  # how many of its servers the ledger holds live records of
    why: str


class Report(NamedTuple):
    checked: int
    drifted: tuple[Drifted, ...]
    unchecked: tuple[Unchecked, ...]
    busy: int = 0  # servers a request was changing as the check ran: checked next time


class LedgerUnreadable(Exception):
    """The ledger could not be read: nothing was checked."""


def check(ledger: Ledger, cognito: Cognito) -> Report:
    """Compare every live record with what its pool holds. A pool that can't be read, or can't
    be read before the deadline bounding cognito's calls, is reported unchecked, with why."""
    try:
        records = ledger.live_records()
    except RequestFailed as failure:
        why = aws.code(failure.__cause__) if isinstance(failure.__cause__, Exception) else ""
        raise LedgerUnreadable(
            f"could not read the ledger table {ledger.table_name} ({why or type(failure.__cause__).__name__})"
        ) from failure
    pools: dict[str, list[Record]] = defaultdict(list)
    busy = 0
    now = CLOCK.time()
    for record in records:
        # A request is changing it now, and will record what it applied: checked next time.
        if record.leased_by_other("", now):
            busy += 1
        else:
            pools[record.server_id.user_pool_id].append(record)
    checked, drifted, unchecked = 0, [], []
    for pool, held_records in sorted(pools.items()):
        try:
            listed = cognito.list_servers(pool)
        except PoolGone:
            listed, gone = {}, True
        except RequestFailed as failure:
            unchecked.append(Unchecked(pool, len(held_records), failure.reason))
            continue
        else:
            gone = False
        for record in sorted(held_records, key=lambda r: r.server_id.identifier):
            found = _differences(record, listed.get(record.server_id.identifier), gone)
            if found and _changed_since(record, ledger):
                busy += 1
                continue
            checked += 1
            if found:
                drifted.append(Drifted(record.owner, record.server_id, found))
    return Report(checked, tuple(drifted), tuple(unchecked), busy)


def _changed_since(record: Record, ledger: Ledger) -> bool:
    """Whether a request wrote the record after the Scan, or holds it now. Every write of the
    provider's to a server comes under a lease that moves its record's version: if the version
    still stands, with no lease, the listing read the server as that record left it. A read of
    the drifted only, so a run where nothing drifted makes none."""
    try:
        now = ledger.read(record.server_id)
    except RequestFailed:
        return True  # can't tell: checked next time rather than reported wrongly
    return now is None or now.version != record.version or now.leased_by_other("", CLOCK.time())


def _differences(record: Record, held: Held | None, pool_gone: bool) -> tuple[str, ...]:
    if held is None and pool_gone:
        return (f"{MISSING}: its user pool is gone",)
    return differences(record.applied, held)
