"""3. The plan: what a request means for Cognito, decided from the request alone (`decide`), then
carried out: a Create (create.py), an Update in place or by replacement (update.py), a Delete or
the undoing of a Create that failed or was cancelled (delete.py). Each asks the ledger whose
server it is (ownership.py), and Cognito what it holds, under the server's lease (work.py).
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from . import contract, create, delete, update
from .contract import ResourceServer, ServerId
from .delivery import Answer, Progress
from .event import Request, is_marker
from .failure import RequestFailed
from .ledger import Contended
from .work import Services, Work

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
    work = Work(request, services, progress)
    try:
        for _ in range(CONTENDED_TRIES):
            try:
                return _carry_out(step, work)
            except Contended:
                logger.info("Another request wrote the server's record first; reading it again")
        raise RequestFailed("Other requests kept changing this server's record; retry")
    finally:
        services.ledger.let_go()


def _carry_out(step: Step, work: Work) -> Answer:
    match step:
        case Create(server, adopt):
            return create.carry_out(server, adopt, work)
        case Update(server, current, orphan):
            if orphan is not None:
                update.remove_orphan(orphan, work)
            if server.id == current:
                return update.in_place(server, work)
            return update.replace(server, current, work)
        case Delete(server_id, adopt):
            delete.carry_out(server_id, adopt, work)
            return Answer(str(server_id))
        case Undo(server_id, create_marker):
            if server_id is not None:
                delete.undo(server_id, create_marker, work)
            else:
                logger.info("The properties name no resource server; nothing to undo")
            return Answer(work.request.physical_resource_id)
