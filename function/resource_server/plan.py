"""3. The plan: what a request means for Cognito, decided from the request alone, then carried
out after asking the ledger whose server it is (ownership.py) and Cognito what it holds.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from . import contract, outputs, ownership, stack
from .clock import CLOCK
from .cognito import AlreadyExists, Cognito, CreateFailed, Held, NotEnabled
from .contract import ResourceServer, ServerId
from .delivery import Answer, Progress
from .event import Request, is_marker
from .failure import RequestFailed
from .ledger import Contended, Ledger
from .legacy import Legacy
from .ownership import LIVE, Owner, Record, State
from .stack import StackReader, StatusUnknown

logger = logging.getLogger(__name__)

# How often a request reads the record again after another request wrote it first.
CONTENDED_TRIES = 5


class Create(NamedTuple):
    server: ResourceServer
    adopt: bool  # AdoptExisting "true": take over a server that already holds the Identifier


class Update(NamedTuple):
    """Name and Scopes change in place; a new UserPoolId or Identifier is a replacement, whose old
    server CloudFormation's cleanup deletes by its old physical id."""

    server: ResourceServer
    current: ServerId  # the server the event's physical id names
    orphan: ServerId | None  # a server the old properties name but the physical id does not


class Delete(NamedTuple):
    server_id: ServerId
    adopt: bool


class Undo(NamedTuple):
    """A Delete whose physical id names no server: our marker, when the Create answered FAILED, or
    an id CloudFormation made up, when it cancelled the Create. What that Create made or adopted,
    if anything, is found through the properties and the ledger."""

    server_id: ServerId | None
    marker: str | None  # our marker, naming the Create it undoes; None for an id CloudFormation made up


Step = Create | Update | Delete | Undo


class Services(NamedTuple):
    """What a plan is carried out with: the modules that talk to AWS, and the operator's choices."""

    cognito: Cognito
    ledger: Ledger
    legacy: Legacy
    stack: StackReader
    allow_adoption: bool = True


class _Work(NamedTuple):
    request: Request
    services: Services
    progress: Progress

    @property
    def owner(self) -> Owner:
        return ownership.owner_of(self.request)


def decide(request: Request) -> Step:
    if request.request_type == "Delete":
        # Properties are not judged: a stack must stay deletable even if they are now invalid.
        adopt = contract.adopts_existing(request.properties)
        if (server_id := ServerId.parse(request.physical_resource_id)) is not None:
            return Delete(server_id, adopt)
        physical_id = request.physical_resource_id
        return Undo(contract.names(request.properties), physical_id if is_marker(physical_id) else None)
    server = contract.parse(request.properties)
    if request.request_type == "Create":
        return Create(server, contract.adopts_existing(request.properties))
    current = ServerId.parse(request.physical_resource_id)
    if current is None:
        raise RequestFailed(
            "This resource's physical id names no resource server, so there is nothing to update: "
            "its Create failed; remove the resource and add it again"
        )
    orphan = contract.names(request.old_properties)
    return Update(server, current, orphan if orphan not in (None, current, server.id) else None)


def carry_out(step: Step, request: Request, services: Services, progress: Progress) -> Answer:
    work = _Work(request, services, progress)
    try:
        for _ in range(CONTENDED_TRIES):
            try:
                return _carry_out(step, work)
            except Contended:
                logger.info("Another request wrote the server's record first; reading it again")
        raise RequestFailed("Other requests kept changing this server's record; retry")
    finally:
        services.ledger.let_go()


def _carry_out(step: Step, work: _Work) -> Answer:
    match step:
        case Create(server, adopt):
            return _create(server, adopt, work)
        case Update(server, current, orphan):
            if orphan is not None:
                _remove_orphan(orphan, work)
            if server.id == current:
                return _update_in_place(server, work)
            return _replace(server, current, work)
        case Delete(server_id, adopt):
            _delete(server_id, adopt, work)
            return Answer(str(server_id))
        case Undo(server_id, create_marker):
            if server_id is not None:
                _undo(server_id, create_marker, work)
            else:
                logger.info("The properties name no resource server; nothing to undo")
            return Answer(work.request.physical_resource_id)


# Create


def _create(server: ResourceServer, adopt: bool, work: _Work) -> Answer:
    cognito = work.services.cognito
    held = cognito.describe(server.id)
    ownership.refuse_if_managed(held, "taken over")
    contended = False
    if held is None:
        try:
            return _make(server, None, work)  # the common case: no record either
        except Contended:
            contended = True  # a record exists: read it, and decide below
    request = work.request
    record, waited = _read(server.id, work)
    if contended or waited:
        # Another request wrote first, or held the record meanwhile: what Cognito holds may have
        # changed with it. Decide only from what was read after the wait.
        held = cognito.describe(server.id)
        ownership.refuse_if_managed(held, "taken over")
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
    # A later request of this resource acted since this one was sent (a Delete that undid it, as
    # when Lambda retries a Create that timed out after its rollback): it changes nothing.
    ownership.refuse_if_superseded(record, request)
    if held is None:
        return _make(server, record, work)
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


def _make(server: ResourceServer, expected: Record | None, work: _Work) -> Answer:
    cognito = work.services.cognito
    record = _claim(work, server.id, expected, state=State.CREATING, origin="made")
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


def _finish_own_create(server: ResourceServer, record: Record, work: _Work) -> Answer:
    """An earlier delivery of this Create stopped mid-way: what landed is this request's."""
    cognito = work.services.cognito
    record = _claim(work, server.id, record, state=State.CREATING)
    work.progress.names = str(server.id)
    cognito.converge(server, cognito.describe(server.id))
    _settle_or_undo(record, State.MADE, server, work)
    return outputs.answer(server)


def _adopt(server: ResourceServer, held: Held, record: Record | None, work: _Work) -> Answer:
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
    adopted = _claim(
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


def _settle_or_undo(record: Record, state: State, server: ResourceServer, work: _Work) -> None:
    """Record what this Create did; if a Delete cancelled it meanwhile, undo it instead."""
    try:
        work.services.ledger.settle(record, state)
        return
    except Contended:
        current = work.services.ledger.read(server.id)
        if current is None or current.cancelled_at is None:
            raise
    logger.warning("CloudFormation cancelled this Create while it ran; undoing it", extra={"server": str(server.id)})
    _release(current, work, adopted_failed=True)
    work.progress.names = None
    raise RequestFailed("Cancelled: CloudFormation cancelled this Create while it ran; it was undone")


# Update


def _update_in_place(server: ResourceServer, work: _Work) -> Answer:
    cognito = work.services.cognito
    record, _ = _read(server.id, work)
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
    claimed = _claim(
        work,
        server.id,
        record,
        state=live.state if live else State.HELD,
        origin=None if live else ("1.0.0" if record is None else "made"),
    )
    cognito.converge(server, held)
    work.services.ledger.settle(claimed, State.HELD)
    return outputs.answer(server)


def _replace(server: ResourceServer, current: ServerId, work: _Work) -> Answer:
    """Make the new server; the old one stays for CloudFormation's cleanup. A replacement never
    takes over a server: if the new Identifier is held, it must be this resource's own, as when
    CloudFormation rolls a replacement back with an Update onto the server it replaced."""
    cognito = work.services.cognito
    current_record, _ = _read(current, work)
    ownership.refuse_if_superseded(current_record, work.request)
    record, _ = _read(server.id, work)
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
        return _update_in_place(server, work)
    held = cognito.describe(server.id)
    ownership.refuse_if_managed(held, "taken over")
    if held is None:
        return _make_replacement(server, record, work)
    if record is None and ownership.rolling_back_a_replacement(
        server.id, current_record, work.request, work.services.stack
    ):
        return _update_in_place(server, work)
    holder = f", held by {record.owner}" if record is not None and record.state in LIVE else ""
    raise RequestFailed(
        f"Identifier already exists in user pool {server.user_pool_id}{holder}; a replacement never takes over "
        "an existing server: delete it, or choose another Identifier"
    )


def _make_replacement(server: ResourceServer, record: Record | None, work: _Work) -> Answer:
    try:
        return _make(server, record, work)
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


def _remove_if_landed(server: ResourceServer, work: _Work) -> bool:
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
        _release(record, work, adopted_failed=False)
    except (RequestFailed, Contended):
        return False
    logger.info("Removed what a create in doubt may have made", extra={"server": str(server.id)})
    return True


def _remove_orphan(orphan: ServerId, work: _Work) -> None:
    """The old properties name a server the physical id does not: one an Update of this resource
    made, whose answer CloudFormation never took (it cancelled it, or it failed in doubt). No
    cleanup Delete will name it, so it goes now."""
    record, _ = _read(orphan, work)
    if record is None or record.state is State.GONE:
        _fence(orphan, record, work)  # that Update may not have made it yet
        return
    if record.owner != work.owner or record.state not in (State.CREATING, State.MADE):
        return
    logger.info("Removing a replacement CloudFormation never took", extra={"server": str(orphan)})
    _release(record, work, adopted_failed=True)


# Delete


def _delete(server_id: ServerId, adopt: bool, work: _Work) -> None:
    record, _ = _read(server_id, work)
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
            claimed = _claim(work, server_id, returned, state=State.HELD, origin="1.0.0")
            _release(claimed, work, adopted_failed=False, claimed=True)
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
    _release(record, work, adopted_failed=adoption_failed)


def _undo(server_id: ServerId, create_marker: str | None, work: _Work) -> None:
    ledger, request = work.services.ledger, work.request
    record = ledger.read(server_id)
    if record is None or record.state is State.GONE:
        if create_marker is None:
            _fence(server_id, record, work)  # a cancelled Create may not have run yet
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
    _release(record, work, adopted_failed=True)


def _fence(server_id: ServerId, record: Record | None, work: _Work) -> None:
    """Nothing of this resource's is live: a `gone` record of it, so that a request of it that
    CloudFormation cancelled, and that has not run yet, never makes the server. Only where it can
    take nothing: over this resource's own record, or where Cognito holds no such server. One that
    exists with no record of this resource's is another's (made by hand, by 1.0.0, or returned),
    and a cancelled request refuses it anyway."""
    request = work.request
    if record is not None and ownership.cancelled(record, request):
        return  # fenced already
    if (record is None or record.owner != work.owner) and work.services.cognito.describe(server_id) is not None:
        logger.info(
            "Not fenced: the server exists, and is no record of this resource's", extra={"server": str(server_id)}
        )
        return
    work.services.ledger.fence(server_id, work.owner, request.request_id, request.issued_at, record)


def _release(record: Record, work: _Work, *, adopted_failed: bool, claimed: bool = False) -> None:
    """Delete the server, or give it back as it was if it was adopted by an operation that failed;
    then record it gone. Under the record's lease (`claimed`: this request holds it already),
    looking at Cognito first."""
    cognito = work.services.cognito
    held_by_this = record if claimed else _claim(work, record.server_id, record, state=record.state, owner=record.owner)
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


# Shared


def _read(server_id: ServerId, work: _Work) -> tuple[Record | None, bool]:
    """The server's record, once no other request holds its lease; and whether it waited for one."""
    ledger = work.services.ledger
    record = ledger.read(server_id)
    if record is None or not record.leased_by_other(ledger.holder, CLOCK.time()):
        return record, False
    return ledger.wait(record), True


def _claim(work: _Work, server_id: ServerId, expected: Record | None, **record: Any) -> Record:
    """Take the server's lease for this request, recording what `record` says (ledger.Ledger.claim)."""
    request = work.request
    record.setdefault("owner", work.owner)
    return work.services.ledger.claim(
        server_id, expected, request_id=request.request_id, issued_at=request.issued_at, **record
    )
