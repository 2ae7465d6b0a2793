"""3.3 Carrying out a Delete: delete the server, or give back one whose adoption failed; or undo
what a Create that answered FAILED, or that CloudFormation cancelled, made or adopted.
"""

from __future__ import annotations

import logging

from . import ownership
from .clock import CLOCK
from .cognito import Held, NotEnabled
from .contract import ServerId
from .failure import RequestFailed
from .ownership import LIVE, Record, State
from .work import Work, as_this_request, claim, take

logger = logging.getLogger(__name__)


def carry_out(server_id: ServerId, adopt: bool, work: Work) -> None:
    record, taken = take(server_id, work)
    if taken and record is not None:  # this resource's, live, and leased to this request
        adoption_failed = record.state is State.ADOPTED and not ownership.adoption_succeeded(
            record, work.services.stack
        )
        release(as_this_request(record, work), work, adopted_failed=adoption_failed, claimed=True)
        return
    returned = record if record is not None and record.returned and record.owner != work.owner else None
    if returned is not None:
        # Another resource adopted it and gave it back: to this one, whose server 1.0.0 made or
        # adopted, the record says nothing.
        record = None
    if record is None:
        # No record: a server 1.0.0 made, which it deleted on Delete; so does this version, unless
        # 1.0.0 adopted it (legacy.py). A server gone, or managed by Cognito, is left: on a look
        # taken before any lease, as leaving is safe; deleting is decided under this resource's.
        if adopt:
            try:
                held = work.services.cognito.describe(server_id)
            except NotEnabled as not_enabled:
                logger.warning("Not deleted: " + not_enabled.reason)  # a multi-Region pool's replica
                return
            if held is None or held.managed_by:
                _log_left(server_id, held)
                return
            record = work.services.legacy.migrate(work.owner, server_id, returned)
        if record is None:
            claimed = claim(work, server_id, returned, state=State.HELD, origin="1.0.0")
            release(claimed, work, adopted_failed=False, claimed=True)
            return
    if record.owner != work.owner:
        if record.state in LIVE:
            logger.info(f"Not deleted: the server is held by {record.owner}", extra={"server": str(server_id)})
        return
    if record.state is State.GONE:
        logger.info("The server was already deleted or given back", extra={"server": str(server_id)})
        return
    adoption_failed = False
    if record.state is State.ADOPTED:
        adoption_failed = not ownership.adoption_succeeded(record, work.services.stack)
    release(record, work, adopted_failed=adoption_failed)


def undo(server_id: ServerId, create_marker: str | None, work: Work) -> None:
    ledger, request = work.services.ledger, work.request
    record = ledger.read(server_id)
    if record is None or record.state is State.GONE:
        # A Create CloudFormation cancelled may not have run yet; one whose invocation crhelper's
        # timer answered for may run again, as Lambda retries it, and find no answer kept if
        # saving it failed. Either must find this fence, and make nothing.
        fence(server_id, record, work)
        logger.info("Nothing of this resource's to undo", extra={"server": str(server_id)})
        return
    if record.owner != work.owner:
        logger.info("The server is not this resource's; nothing to undo", extra={"server": str(server_id)})
        return
    if record.leased_by_other(ledger.holder, CLOCK.time()):
        # The Create is still running: it undoes itself when it sees this; else this waits it out.
        ledger.cancel(record, request.issued_at)
        record = ledger.wait(ledger.read(server_id) or record)
        if record is None or record.state is State.GONE:
            return
    if not ownership.made_by_the_create_undone(record, create_marker, work.request, work.services.stack):
        logger.info("The server predates the Create this Delete undoes; left alone", extra={"server": str(server_id)})
        return
    release(record, work, adopted_failed=True)


def fence(server_id: ServerId, record: Record | None, work: Work) -> None:
    """Nothing of this resource's is live: a `gone` record of it, so that a request of it that
    CloudFormation cancelled, and that has not run yet or is still adopting, never makes or takes
    the server. It must take nothing itself: where Cognito holds a server with no record of this
    resource's (made by hand, by 1.0.0, or given back), it is marked returned, which every other
    resource reads as no record at all."""
    request = work.request
    if record is not None and ownership.cancelled(record, request):
        return  # fenced already
    not_ours = record is None or record.owner != work.owner or record.returned
    someone_elses = not_ours and work.services.cognito.describe(server_id)
    work.services.ledger.fence(
        server_id, work.owner, request.request_id, request.issued_at, record, returned=bool(someone_elses)
    )


def release(record: Record, work: Work, *, adopted_failed: bool, claimed: bool = False) -> None:
    """Delete the server, or give it back as it was if it was adopted by an operation that failed;
    then record it gone. Under the record's lease (`claimed`: this request holds it already),
    looking at Cognito first."""
    cognito = work.services.cognito
    held_by_this = record if claimed else claim(work, record.server_id, record, state=record.state, owner=record.owner)
    try:
        held = cognito.describe(record.server_id)
    except NotEnabled as not_enabled:
        logger.warning("Not deleted: " + not_enabled.reason)
        work.services.ledger.settle(held_by_this, State.GONE)
        return
    if held is not None and held.managed_by:
        _log_left(record.server_id, held)
    elif record.state is State.ADOPTED and adopted_failed and record.prior is not None:
        try:
            cognito.converge(record.prior, held)
            logger.info("Gave the adopted server back as it was", extra={"server": str(record.server_id)})
        except RequestFailed as failure:
            if held is not None or "not found" not in failure.reason:
                raise
            logger.warning("Its user pool is gone too; there is nothing to give it back to")
        # And to whom: the logical id it was moved from holds it again.
        work.services.ledger.give_back(held_by_this)
        return
    elif held is not None:
        cognito.delete(record.server_id)
    work.services.ledger.settle(held_by_this, State.GONE)


def _log_left(server_id: ServerId, held: Held | None) -> None:
    if held is None:
        logger.info("The server or its user pool was already gone", extra={"server": str(server_id)})
    else:
        logger.warning(f"Not deleted: Cognito manages this server itself (ManagedBy {held.managed_by})")
