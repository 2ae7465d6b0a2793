"""3.1 Carrying out a Create: make the server, or adopt the one that holds its Identifier, or
finish what an earlier delivery of the same Create began; undone if CloudFormation cancelled it.
"""

from __future__ import annotations

import logging

from . import delete, outputs, ownership, stack
from .cognito import AlreadyExists, CreateFailed, Held
from .contract import ResourceServer
from .delivery import Answer
from .event import Request
from .failure import RequestFailed
from .ledger import Contended
from .ownership import LIVE, Record, State
from .stack import StatusUnknown
from .work import Work, claim, look, read

logger = logging.getLogger(__name__)


def carry_out(server: ResourceServer, adopt: bool, work: Work) -> Answer:
    held = look(server, work)
    if held is None:
        try:
            return make(server, None, work)  # the common case: no record either
        except Contended:
            pass  # a record exists: read it, and decide below
    request = work.request
    record, _ = read(server.id, work)
    if record is not None:
        # A request of this provider acted on the server, and may have made, deleted or taken it
        # since the first look: the claim below rests on the record as read, so the look it
        # decides by is taken after that read. With no record, none did.
        held = look(server, work)
    if record is not None and record.request_id == request.request_id and record.owner == work.owner:
        if record.state in (State.MADE, State.ADOPTED, State.HELD):
            logger.info("This request already made or adopted the server; answering as it did")
            return outputs.answer(server)
        if record.state is State.CREATING:
            return _finish_own_create(server, record, work)
    if record is not None and ownership.cancelled(record, request):
        raise RequestFailed(
            "Cancelled: CloudFormation has already undone this Create (a later Delete for this resource "
            "ran first); nothing was made"
        )
    _refuse_if_undone_since(record, request)
    if held is None:
        return make(server, record, work)
    if record is not None and record.state in LIVE and record.owner != work.owner:
        if not adopt:
            raise RequestFailed(
                f"Identifier already exists in user pool {server.user_pool_id}, held by {record.owner}; "
                "choose another Identifier"
            )
        ownership.refuse_if_still_held(record, work.request, work.services.stack)
    elif not adopt:
        raise RequestFailed(
            f'Identifier already exists in user pool {server.user_pool_id}. Set AdoptExisting to "true" '
            "to take it over, or delete it, or choose another Identifier"
        )
    return _adopt(server, held, record, work)


def _refuse_if_undone_since(record: Record | None, request: Request) -> None:
    """A later request of this resource acted since this Create was sent, such as the rollback
    Delete that undid it (Lambda retries a Create that timed out after CloudFormation took the
    timer's answer): the Create changes nothing."""
    ownership.refuse_if_superseded(record, request)


def make(server: ResourceServer, expected: Record | None, work: Work) -> Answer:
    cognito = work.services.cognito
    record = claim(work, server.id, expected, state=State.CREATING, origin="made")
    # From the first attempt on, the server may land: should the answer come from crhelper's timer,
    # it names the server, so that the rollback Delete removes it.
    work.progress.names = str(server.id)
    try:
        cognito.create(server)
    except CreateFailed as failed:
        if not failed.in_doubt:
            work.progress.names = None
            work.services.ledger.settle(record, State.GONE)
            raise
        # What lands is this resource's: its record stays `creating`, and the answer names it,
        # even if the record can't be written now (its lease then ends with this request).
        try:
            work.services.ledger.settle(record, State.CREATING)
        except (RequestFailed, Contended):
            logger.warning("The record of a create in doubt was not updated; the answer names the server")
        raise
    except (AlreadyExists, RequestFailed):
        work.progress.names = None
        work.services.ledger.settle(record, State.GONE)  # made by someone else since the look, or never made
        raise
    _settle_or_undo(record, State.MADE, server, work)
    return outputs.answer(server)


def _finish_own_create(server: ResourceServer, record: Record, work: Work) -> Answer:
    """An earlier delivery of this Create stopped mid-way: what landed is this request's."""
    cognito = work.services.cognito
    record = claim(work, server.id, record, state=State.CREATING)
    work.progress.names = str(server.id)
    cognito.converge(server, cognito.describe(server.id))
    _settle_or_undo(record, State.MADE, server, work)
    return outputs.answer(server)


def _adopt(server: ResourceServer, held: Held, record: Record | None, work: Work) -> Answer:
    services, request = work.services, work.request
    if not services.allow_adoption:
        raise RequestFailed(
            f"Identifier already exists in user pool {server.user_pool_id}, and this provider does not adopt "
            "(its AllowAdoption parameter is false): delete it, or choose another Identifier"
        )
    with stack.needed("Could not adopt: the provider must know which stack operation adopts the server"):
        started = services.stack.operation(request.stack_id)
        if started is None:
            raise StatusUnknown("cloudformation:DescribeStackEvents found no such stack")
    if not started.going_forward:
        # CloudFormation cancelled this Create, and its Delete may already have run and found
        # nothing of this resource's to give back: so it must take nothing now.
        raise RequestFailed(f"Cancelled: the stack is already in {started.status:.40}; nothing was adopted")
    operation = started.event_id
    # A server moved from another logical id: if this adoption is undone, that one holds it again.
    displaced = record if record is not None and record.state in LIVE and record.owner != work.owner else None
    adopted = claim(
        work,
        server.id,
        record,
        state=State.ADOPTED,
        origin="adopted",
        prior=held.server,
        operation=operation,
        displaced=displaced,
    )
    logger.info("Adopting an existing resource server", extra={"server": str(server.id)})
    # From here every answer names it, so that a rollback finds it and gives it back.
    work.progress.names = str(server.id)
    services.cognito.converge(server, held)
    _settle_or_undo(adopted, State.ADOPTED, server, work)
    return outputs.answer(server)


def _settle_or_undo(record: Record, state: State, server: ResourceServer, work: Work) -> None:
    """Record what this Create did; if a Delete cancelled it meanwhile, undo it instead."""
    try:
        work.services.ledger.settle(record, state, applied=server)
        return
    except Contended:
        current = work.services.ledger.read(server.id)
        if current is None or current.cancelled_at is None:
            raise
    logger.warning("CloudFormation cancelled this Create while it ran; undoing it", extra={"server": str(server.id)})
    delete.release(current, work, adopted_failed=True)
    work.progress.names = None
    raise RequestFailed("Cancelled: CloudFormation cancelled this Create while it ran; it was undone")
