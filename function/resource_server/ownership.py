"""3b. Whose server it is: a record per server this provider made or adopted, and the rules the
plan asks of it before it writes, keeps, deletes or gives back a server.

CloudFormation's signals can't tell ownership: a nested stack's events sit in its parent's list,
a cancelled Create's Delete carries a physical id CloudFormation made up, reads are throttled,
and one provider serves many stacks. So the provider writes down what it makes and takes, in
its ledger (ledger.py), and every decision reads that record first.

A record is keyed by its server, `{pool}|{identifier}`, and names its owner: one stack's one
logical id. Its life ("none" is no record: a server made by hand, or by 1.0.0):

| state    | what it means                                                   | from                         |
|----------|-----------------------------------------------------------------|------------------------------|
| creating | the owner's Create is making it: what lands is the owner's      | none, gone, another's record |
|          |                                                                 | whose server is gone         |
| made     | the owner's Create made it                                      | creating                     |
| adopted  | the owner's Create took it over; `prior` is what it held before,| none, gone, another's record |
|          | `displaced` the record it took the server from                  | no stack still holds         |
| held     | the owner's for good: a later request named it                  | none (1.0.0's), any state    |
| gone     | deleted, or given back by the owner's Delete; kept 30 days as a | any state; none (a fence)    |
|          | fence for a Create that CloudFormation cancelled before it ran  |                              |

Giving back an adoption restores what was there before: the displaced record, if there was one
(a server moved between two logical ids of a stack, whose move failed), else `gone` marked
`returned`, which counts as no record for the Delete of whoever held the server before.
An adoption settles when a later request names the server: an Update records `held`, and a
Delete in a later operation than the one that adopted it knows that operation succeeded.

Requests are ordered by when CloudFormation signed their ResponseURLs: one signed before the
last request that acted on a server was overtaken, as a forward Update is by its rollback.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from .cognito import Held
from .contract import ResourceServer, ServerId
from .event import Request, marker
from .failure import RequestFailed
from .pacing import Lease
from .stack import CONTINUE_ROLLBACK, UPDATE_ROLLBACK, StackReader, StatusUnknown, needed

# X-Amz-Date counts whole seconds: an operation's own requests may be signed before its start event.
CLOCK_SLACK_S = 1.0


class State(enum.StrEnum):
    CREATING = "creating"
    MADE = "made"
    ADOPTED = "adopted"
    HELD = "held"
    GONE = "gone"


LIVE = frozenset({State.CREATING, State.MADE, State.ADOPTED, State.HELD})
UNCONFIRMED = frozenset({State.CREATING, State.MADE, State.ADOPTED})  # no later request named it yet


class Owner(NamedTuple):
    stack_id: str
    logical_id: str

    @property
    def stack_name(self) -> str:
        """The name in the stack's ARN (arn:...:stack/<name>/<id>), or the id as given."""
        return self.stack_id.split("/")[1] if self.stack_id.count("/") >= 2 else self.stack_id

    def __str__(self) -> str:
        return f"{self.logical_id} of stack {self.stack_name}"


def owner_of(request: Request) -> Owner:
    return Owner(request.stack_id, request.logical_resource_id)


class Record(NamedTuple):
    server_id: ServerId
    state: State
    owner: Owner
    origin: str  # "made", "adopted", or "1.0.0" for a server first recorded after an upgrade
    request_id: str  # the request that last moved it
    issued_at: float | None  # when CloudFormation sent that request, on its clock
    version: int
    prior: ResourceServer | None = None  # for an adopted server: what it held before
    operation: str | None = None  # the stack event that began the operation which adopted it
    # The one request working on the server, until the lease ends: any other waits for it, or
    # takes over once it has ended, and reads the record again before it writes.
    lease: Lease | None = None
    cancelled_at: float | None = None  # when a Delete cancelled the owner's Create that had not run
    # For an adoption: the record of the owner it took the server from, restored if it is given back.
    displaced: Record | None = None
    returned: bool = False  # gone by a give-back: as if unrecorded, to whoever held it before
    # What the owner's last request applied to the server: the drift check compares Cognito with it.
    applied: ResourceServer | None = None

    def leased_by_other(self, holder: str, now: float) -> bool:
        return self.lease is not None and self.lease.holder != holder and self.lease.writes_until > now


# The rules the plan asks. Each reads only the record it is given and, where the record can't
# answer, the stack.


def refuse_if_managed(held: Held | None, what: str) -> None:
    """Cognito marks the servers it manages itself: they are no stack's."""
    if held is not None and held.managed_by:
        raise RequestFailed(
            f"{held.server.identifier:.60} is managed by Cognito itself (ManagedBy {held.managed_by:.40}): "
            f"it can't be {what} by a stack"
        )


def cancelled(record: Record, request: Request) -> bool:
    """Whether a Delete for this resource, sent after this Create, has already run."""
    issued = request.issued_at
    return bool(
        record.owner == owner_of(request)
        and record.cancelled_at is not None
        and issued is not None
        and record.cancelled_at >= issued
    )


def refuse_if_superseded(record: Record | None, request: Request) -> None:
    """A request CloudFormation sent before the last one that acted on this resource's server was
    overtaken, as a forward Update is by its rollback: it must not write after it."""
    issued = request.issued_at
    if record is None or record.owner != owner_of(request) or record.issued_at is None or issued is None:
        return
    if record.issued_at > issued and record.request_id != request.request_id:
        raise RequestFailed("Superseded: a later request for this resource has already run; this one changed nothing")


def refuse_if_still_held(record: Record, request: Request, stack: StackReader) -> None:
    """Another stack's resource made or adopted this server: only once that stack no longer lists
    it with this server (a resource removed under DeletionPolicy Retain) may it be taken over.
    Within one stack a server may move between logical ids: the stack's author holds both."""
    if record.owner.stack_id == request.stack_id:
        return
    with needed(
        f"Could not adopt: the server was made or adopted by {record.owner}, and the provider could not "
        "confirm that it no longer holds it"
    ):
        # While that stack's operation runs, the answer that names the server may not have reached
        # CloudFormation yet (its resource shows no physical id until then): it is held.
        owner_stack = record.owner.stack_id
        holds = stack.in_progress(owner_stack) or stack.holds(
            owner_stack, record.owner.logical_id, str(record.server_id)
        )
    if holds:
        raise RequestFailed(
            f"Identifier already exists in user pool {record.server_id.user_pool_id}, held by {record.owner}: "
            "another stack's server can't be adopted. Remove it there under DeletionPolicy Retain first"
        )


def taken_from(record: Record, owner: Owner) -> bool:
    """Whether another resource adopted this server from `owner`, and has not settled it."""
    return record.state is State.ADOPTED and record.displaced is not None and record.displaced.owner == owner


def taken_in_this_rollback(record: Record, request: Request, stack: StackReader) -> bool:
    """Whether another resource of this stack adopted this resource's server in the update now
    rolling back: this resource moved to another Identifier, the other took the old one over."""
    if not taken_from(record, owner_of(request)):
        return False
    with needed(
        f"{request.logical_resource_id} is rolling back onto a server another resource of this stack "
        "adopted; the provider needs the stack's status to tell",
        CONTINUE_ROLLBACK,
    ):
        return stack.status(request.stack_id) == UPDATE_ROLLBACK


def rolling_back_a_replacement(
    server_id: ServerId, current: Record | None, request: Request, stack: StackReader
) -> bool:
    """For a server 1.0.0 made, which has no record: an Update onto it is the rollback of this
    resource's replacement only while the stack rolls its update back, and only if the server the
    event's physical id names was made by this resource in that update. A forward Update that
    CloudFormation cancelled, delivered after the rollback began, is neither; unread, nothing is taken."""
    if current is None or current.owner != owner_of(request) or current.state not in (State.CREATING, State.MADE):
        return False
    with needed(
        f"Identifier already exists in {server_id.user_pool_id}. If this is a rollback, the provider "
        "needs the stack's events to restore it",
        CONTINUE_ROLLBACK,
    ):
        operation = stack.operation(request.stack_id)
    return bool(
        operation is not None
        and operation.status == UPDATE_ROLLBACK
        and current.issued_at is not None
        and current.issued_at >= operation.began - CLOCK_SLACK_S
    )


def made_by_the_create_undone(record: Record, create_marker: str | None, request: Request, stack: StackReader) -> bool:
    """Whether the server is what the Create a Delete undoes made or adopted: named by our marker,
    or, for an id CloudFormation made up, recorded by this resource in the stack's current operation."""
    if record.state not in UNCONFIRMED:
        return False  # a later request named it: it is no failed or cancelled Create's
    if create_marker is not None:
        return marker(record.owner.logical_id, record.request_id) == create_marker
    # CloudFormation's made-up id names no request: the Create it cancelled ran in this operation.
    if record.issued_at is None:
        return False
    with needed(f"Could not tell whether the cancelled Create made {record.server_id.identifier:.60}"):
        started = stack.operation(request.stack_id)
    # No such stack: no operation of it is running, so no Create of it was cancelled.
    return started is not None and record.issued_at >= started.began - CLOCK_SLACK_S


def adoption_succeeded(record: Record, stack: StackReader) -> bool:
    """Whether the operation that adopted the server succeeded: then the stack owns it, and a
    Delete deletes it. Read from one reading of the stack's newest own events."""
    if record.operation is None:
        return False
    with needed(f"Could not tell whether the operation that adopted {record.server_id.identifier:.60} succeeded"):
        current = stack.operation(record.owner.stack_id)
        if current is None:
            raise StatusUnknown("cloudformation:DescribeStackEvents found no such stack")
    if current.event_id != record.operation:
        # A later operation began, and this resource outlived the one that adopted it: that
        # one succeeded, as a failed one's rollback removes what it created. So no Delete,
        # years on, needs the stack's history back to the adoption.
        return True
    # Still running: this Delete is its rollback, which gives the server back.
    return bool(current.succeeded)
