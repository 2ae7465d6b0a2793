"""3. The plan: what a request means for Cognito, decided before any call, then carried out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import contract
from .cognito import AlreadyExists, Cognito
from .contract import ResourceServer, ServerId
from .event import Request
from .failure import RequestFailed
from .stack import UPDATE_ROLLBACK, Stack, StatusUnknown

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Create:
    server: ResourceServer


@dataclass(frozen=True)
class UpdateInPlace:
    server: ResourceServer


@dataclass(frozen=True)
class Replace:
    """A new UserPoolId or Identifier: make the new server, and leave the old one to
    CloudFormation's cleanup Delete, which names the old physical id."""

    server: ResourceServer
    old_physical_id: str
    stack_id: str  # whose status tells a rollback from a refusal, should the Identifier be taken


@dataclass(frozen=True)
class Delete:
    server_id: ServerId


@dataclass(frozen=True)
class LeaveAlone:
    """A physical id this provider did not make, such as the marker of a Create that failed."""

    physical_id: str


Step = Create | UpdateInPlace | Replace | Delete | LeaveAlone


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    server: ResourceServer | None  # what Cognito now holds, when the resource still exists


def decide(request: Request) -> Step:
    if request.request_type == "Delete":
        # Properties are not read: a stack must stay deletable even if they are now invalid.
        server_id = ServerId.parse(request.physical_resource_id)
        return Delete(server_id) if server_id else LeaveAlone(request.physical_resource_id)
    server = contract.parse(request.properties)
    if request.request_type == "Create":
        return Create(server)
    # The physical id changes exactly when a replacement is needed.
    if str(server.id) == request.physical_resource_id:
        return UpdateInPlace(server)
    return Replace(server, request.physical_resource_id, request.stack_id)


def carry_out(step: Step, cognito: Cognito, stack: Stack) -> Outcome:
    match step:
        case Create(server):
            cognito.create(server)
            return Outcome(str(server.id), server)
        case Replace(server, _, stack_id):
            try:
                _create_replacement(server, cognito)
            except AlreadyExists as taken:
                _restore_if_rolling_back(taken, stack, stack_id)
                _update_in_place(server, cognito)
            return Outcome(str(server.id), server)
        case UpdateInPlace(server):
            _update_in_place(server, cognito)
            return Outcome(str(server.id), server)
        case Delete(server_id):
            if not cognito.delete(server_id):
                logger.info("Resource server or its user pool was already gone", extra={"server": str(server_id)})
            return Outcome(str(server_id), None)
        case LeaveAlone(physical_id):
            logger.info("Physical id names no resource server of ours; nothing to delete")
            return Outcome(physical_id, None)


def _create_replacement(server: ResourceServer, cognito: Cognito) -> None:
    try:
        cognito.create(server)
    except RequestFailed as failure:
        if failure.physical_id != str(server.id):
            raise
        # A failed Update keeps its old physical id, so no rollback would name a new server that
        # landed after all: remove it now, or say where it may be.
        if cognito.remove_if_landed(server):
            raise RequestFailed(f"{failure.reason}; no replacement server was left behind") from failure
        raise RequestFailed(
            f"{failure.reason}; could not confirm that no replacement was left: check {server.identifier:.60}"
        ) from failure


def _restore_if_rolling_back(taken: AlreadyExists, stack: Stack, stack_id: str) -> None:
    """An Update onto a taken Identifier is refused, but for one case. When CloudFormation rolls
    back a replacement, it may send an Update with the new server's physical id and the old
    properties. The old server is then this resource's own: its cleanup Delete only follows a
    successful update. Only the stack's status tells the two apart; unread, nothing is taken."""
    try:
        status = stack.status(stack_id)
    except StatusUnknown as unknown:
        raise RequestFailed(
            f"Identifier already exists in {taken.server.user_pool_id}. If this is a rollback, the provider "
            f"needs the stack's status to restore it ({unknown.why}): allow that, then continue the rollback"
        ) from taken
    if status != UPDATE_ROLLBACK:
        raise taken
    logger.info("Rolling back a replacement: the old server is this resource's own", extra={"stack_status": status})


def _update_in_place(server: ResourceServer, cognito: Cognito) -> None:
    current = cognito.describe(server.id)
    if current is None:
        logger.warning("Resource server was deleted outside the stack; recreating it", extra={"server": str(server.id)})
        cognito.create(server)
    elif current.holds_same_state(server):
        logger.info("Cognito already holds this state; no write")
    else:
        cognito.update(server)
