"""3. The plan: what a request means for Cognito, decided before any call, then carried out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import contract
from .adoption import Adoptions, Key
from .cognito import AlreadyExists, Cognito
from .contract import ResourceServer, ServerId
from .event import Request
from .failure import RequestFailed
from .stack import UPDATE_ROLLBACK, Stack, StatusUnknown

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Create:
    server: ResourceServer
    adoption: Key | None  # with AdoptExisting "true": where an adopted server's prior state is kept
    request_id: str


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
    adoption: Key | None  # with AdoptExisting "true": where a prior state may be kept


@dataclass(frozen=True)
class LeaveAlone:
    """A physical id this provider did not make, such as the marker of a Create that failed."""

    physical_id: str


Step = Create | UpdateInPlace | Replace | Delete | LeaveAlone


@dataclass(frozen=True)
class Services:
    """What a plan is carried out with: the modules that talk to AWS."""

    cognito: Cognito
    stack: Stack
    adoptions: Adoptions


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    server: ResourceServer | None  # what Cognito now holds, when the resource still exists


def decide(request: Request) -> Step:
    if request.request_type == "Delete":
        # Properties are not judged: a stack must stay deletable even if they are now invalid.
        server_id = ServerId.parse(request.physical_resource_id)
        if server_id is None:
            return LeaveAlone(request.physical_resource_id)
        return Delete(server_id, _adoption_key(request, server_id))
    server = contract.parse(request.properties)
    if request.request_type == "Create":
        return Create(server, _adoption_key(request, server.id), request.request_id)
    # The physical id changes exactly when a replacement is needed.
    if str(server.id) == request.physical_resource_id:
        return UpdateInPlace(server)
    return Replace(server, request.physical_resource_id, request.stack_id)


def _adoption_key(request: Request, server_id: ServerId) -> Key | None:
    if not contract.adopts_existing(request.properties):
        return None
    return Key(request.stack_id, request.logical_resource_id, server_id)


def carry_out(step: Step, services: Services) -> Outcome:
    cognito, stack, adoptions = services.cognito, services.stack, services.adoptions
    match step:
        case Create(server, key, request_id):
            if key is None:
                _create(server, cognito)
            else:
                _create_or_adopt(server, key, request_id, services)
            return Outcome(str(server.id), server)
        case Replace(server, _, stack_id):
            try:
                _create_replacement(server, cognito)
            except AlreadyExists as taken:
                # A replacement never adopts: the Identifier is someone else's, or this resource's own.
                _restore_if_rolling_back(taken, stack, stack_id)
                _update_in_place(server, cognito)
            return Outcome(str(server.id), server)
        case UpdateInPlace(server):
            _update_in_place(server, cognito)
            return Outcome(str(server.id), server)
        case Delete(server_id, key):
            if key is not None and _give_back_if_adoption_failed(key, services):
                return Outcome(str(server_id), None)
            if not cognito.delete(server_id):
                logger.info("Resource server or its user pool was already gone", extra={"server": str(server_id)})
            if key is not None:
                _forget(key, adoptions)
            return Outcome(str(server_id), None)
        case LeaveAlone(physical_id):
            logger.info("Physical id names no resource server of ours; nothing to delete")
            return Outcome(physical_id, None)


def _create(server: ResourceServer, cognito: Cognito) -> None:
    try:
        cognito.create(server)
    except AlreadyExists as taken:
        raise RequestFailed(
            f'{taken.reason}. Set AdoptExisting to "true" to take it over, or delete it, or choose another Identifier'
        ) from taken


def _create_or_adopt(server: ResourceServer, key: Key, request_id: str, services: Services) -> None:
    """AdoptExisting "true": create the server, or take over the one that holds its Identifier,
    after recording what it held, so that a rollback can give it back as it was."""
    cognito, stack, adoptions = services.cognito, services.stack, services.adoptions
    if not adoptions.available:
        raise RequestFailed(
            "AdoptExisting needs the provider's table, to keep what an adopted server held; this "
            "function has none (IDEMPOTENCY_TABLE is empty, as under sam local invoke)"
        )
    held = cognito.describe(server.id)
    if held is None:
        # Nothing to adopt. A record left by an earlier adoption of this resource must go first,
        # or a rollback would give back that old state rather than delete what this Create makes.
        adoptions.forget(key)
        cognito.create(server)
        return
    try:
        operation = stack.operation_start(key.stack_id)
    except StatusUnknown as unknown:
        raise RequestFailed(
            f"Could not adopt: the provider must know which stack operation adopts the server ({unknown.why}); "
            "allow that, then retry. The server was left as it was"
        ) from unknown
    adoptions.record(key, held, operation, request_id)
    logger.info("Adopting an existing resource server", extra={"server": str(server.id)})
    cognito.adopt(server, held)


def _give_back_if_adoption_failed(key: Key, services: Services) -> bool:
    """A Delete of an adopted server gives it back as it was when the operation that adopted it
    failed: a rollback, or a delete-stack after a failed rollback. Once that operation succeeded,
    the stack owns the server, and the Delete deletes it. True when it was given back."""
    cognito, stack, adoptions = services.cognito, services.stack, services.adoptions
    adopted = adoptions.find(key)
    if adopted is None:
        return False
    try:
        succeeded = stack.operation_succeeded(key.stack_id, adopted.operation)
    except StatusUnknown as unknown:
        raise RequestFailed(
            f"Could not tell whether the operation that adopted {key.server_id.identifier:.60} succeeded "
            f"({unknown.why}); allow that, then retry. The server was left as it was"
        ) from unknown
    if succeeded:
        return False
    cognito.give_back(adopted.prior)
    logger.info("Gave the adopted server back as it was", extra={"server": str(key.server_id)})
    _forget(key, adoptions)
    return True


def _forget(key: Key, adoptions: Adoptions) -> None:
    # A record left behind is harmless: a later adoption of the same resource replaces it, and a
    # later Create with AdoptExisting forgets it before it makes anything.
    try:
        adoptions.forget(key)
    except RequestFailed as failure:
        logger.warning("Adoption record not forgotten", extra={"reason": failure.reason})


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
        raise RequestFailed(
            f"{taken.reason}; a replacement never takes over an existing server: "
            "delete it, or choose another Identifier"
        ) from taken
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
