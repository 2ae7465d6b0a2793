"""3.2 Carrying out an Update: in place (Name and Scopes), or a replacement (a new UserPoolId or
Identifier), whose old server CloudFormation's cleanup deletes by its old physical id; and the
removal of a replacement CloudFormation never took.
"""

from __future__ import annotations

import logging

from . import create, delete, outputs, ownership
from .cognito import CreateFailed
from .contract import ResourceServer, ServerId
from .delivery import Answer
from .failure import RequestFailed
from .ledger import Contended
from .ownership import LIVE, Record, State
from .work import Work, as_this_request, claim, look, read, take

logger = logging.getLogger(__name__)


def in_place(server: ResourceServer, work: Work) -> Answer:
    cognito = work.services.cognito
    record, taken = take(server.id, work)
    if record is not None and record.state in LIVE and record.owner != work.owner:
        if ownership.taken_in_this_rollback(record, work.request, work.services.stack):
            # The other resource's rollback Delete, in the cleanup to come, gives it back as it was,
            # and to this resource: writing now would only be undone.
            logger.info("Another resource's failed adoption gives this server back", extra={"server": str(server.id)})
            return outputs.answer(server)
        raise RequestFailed(f"{server.identifier:.60} is held by {record.owner}, not by this resource; not changed")
    ownership.refuse_if_superseded(record, work.request)
    held = cognito.describe(server.id)
    ownership.refuse_if_managed(held, "updated")
    # The stack names this server: it is this resource's, whatever the record said (none, for a
    # server 1.0.0 made). The write that gives the lease back settles an adoption.
    live = record if record is not None and record.state in LIVE else None
    if taken and live is not None:
        claimed = as_this_request(live, work)
    else:
        claimed = claim(
            work,
            server.id,
            record,
            state=live.state if live else State.HELD,
            origin=None if live else ("1.0.0" if record is None else "made"),
        )
    cognito.converge(server, held)
    work.services.ledger.settle(claimed, State.HELD, applied=server)
    return outputs.answer(server)


def replace(server: ResourceServer, current: ServerId, work: Work) -> Answer:
    """Make the new server; the old one stays for CloudFormation's cleanup. A replacement never
    takes over a server: if the new Identifier is held, it must be this resource's own, as when
    CloudFormation rolls a replacement back with an Update onto the server it replaced."""
    held = look(server, work)
    if held is None:
        try:
            # The common case: no record of the new Identifier either. A forward Update that its
            # rollback overtook finds the fence the rollback left there, and reads it below.
            return _make_replacement(server, None, work)
        except Contended:
            pass
    record, _ = read(server.id, work)
    if record is not None and ownership.cancelled(record, work.request):
        raise RequestFailed("Superseded: the rollback of this Update has already run; this one changed nothing")
    if (
        record is not None
        and record.state in LIVE
        and (record.owner == work.owner or ownership.taken_from(record, work.owner))
    ):
        logger.info(
            "The Identifier is, or was, this resource's own server: back onto it", extra={"server": str(server.id)}
        )
        return in_place(server, work)
    if record is not None:
        held = look(server, work)  # a request of this provider acted on it since the first look
    if held is None:
        return _make_replacement(server, record, work)
    current_record, _ = read(current, work)
    ownership.refuse_if_superseded(current_record, work.request)
    if record is None and ownership.rolling_back_a_replacement(
        server.id, current_record, work.request, work.services.stack
    ):
        return in_place(server, work)
    holder = f", held by {record.owner}" if record is not None and record.state in LIVE else ""
    raise RequestFailed(
        f"Identifier already exists in user pool {server.user_pool_id}{holder}; a replacement never takes over "
        "an existing server: delete it, or choose another Identifier"
    )


def _make_replacement(server: ResourceServer, record: Record | None, work: Work) -> Answer:
    try:
        return create.make(server, record, work)
    except CreateFailed as failure:
        if not failure.in_doubt:
            raise
        # A failed Update keeps its old physical id, so no rollback Delete names a new server that
        # landed after all: remove it now, or say where it may be.
        work.progress.names = None
        if _remove_if_landed(server, work):
            raise RequestFailed(f"{failure.reason}; no replacement server was left behind") from failure
        raise RequestFailed(
            f"{failure.reason}; could not confirm that no replacement was left: check {server.identifier:.60}"
        ) from failure


def _remove_if_landed(server: ResourceServer, work: Work) -> bool:
    """After a create in doubt whose lost attempts were waited out: delete the server if it landed
    holding exactly what was sent, and record it gone. True when it is absent at the end."""
    cognito, ledger = work.services.cognito, work.services.ledger
    try:
        record = ledger.read(server.id)
        if record is None or record.owner != work.owner or record.state is not State.CREATING:
            return False
        held = cognito.describe(server.id)
        if held is not None and not held.server.holds_same_state(server):
            return False
        delete.release(record, work, adopted_failed=False)
    except (RequestFailed, Contended):
        return False
    logger.info("Removed what a create in doubt may have made", extra={"server": str(server.id)})
    return True


def remove_orphan(orphan: ServerId, work: Work) -> None:
    """The old properties name a server the physical id does not: one an Update of this resource
    made, whose answer CloudFormation never took (it cancelled it, or it failed in doubt). No
    cleanup Delete will name it, so it goes now."""
    record, _ = read(orphan, work)
    if record is None or record.state is State.GONE:
        delete.fence(orphan, record, work)  # that Update may not have made it yet
        return
    if record.owner != work.owner or record.state not in (State.CREATING, State.MADE):
        return
    logger.info("Removing a replacement CloudFormation never took", extra={"server": str(orphan)})
    delete.release(record, work, adopted_failed=True)
