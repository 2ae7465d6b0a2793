"""3.0 What every step of the plan is carried out with: the request, the services that talk to AWS,
the answer's progress; and the reads and claims of a server's record that each step makes
under its lease.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from . import ownership
from .clock import CLOCK
from .cognito import Cognito, Held
from .contract import ResourceServer, ServerId
from .delivery import Progress
from .event import Request
from .ledger import Ledger
from .legacy import Legacy
from .ownership import Owner, Record
from .stack import StackReader

logger = logging.getLogger(__name__)


class Services(NamedTuple):
    """What a plan is carried out with: the modules that talk to AWS, and the operator's choices."""

    cognito: Cognito
    ledger: Ledger
    legacy: Legacy
    stack: StackReader
    allow_adoption: bool = True


class Work(NamedTuple):
    request: Request
    services: Services
    progress: Progress

    @property
    def owner(self) -> Owner:
        return ownership.owner_of(self.request)


def read(server_id: ServerId, work: Work) -> tuple[Record | None, bool]:
    """The server's record, once no other request holds its lease; and whether it waited for one."""
    ledger = work.services.ledger
    record = ledger.read(server_id)
    if record is None or not record.leased_by_other(ledger.holder, CLOCK.time()):
        return record, False
    return ledger.wait(record), True


def take(server_id: ServerId, work: Work) -> tuple[Record | None, bool]:
    """This resource's live record, its lease taken for this request in one write, and True; or,
    when the record is not that (another's, gone, none, or held by another request), the record
    once no other request holds its lease, and False: write first, read on conflict. A record
    taken keeps the request that last moved it until this one settles it."""
    ledger = work.services.ledger
    record, taken = ledger.take(server_id, work.owner)
    if taken or record is None or not record.leased_by_other(ledger.holder, CLOCK.time()):
        return record, taken
    return ledger.wait(record), False


def as_this_request(record: Record, work: Work) -> Record:
    """A record taken for this request, as it settles it: moved by this request."""
    return record._replace(request_id=work.request.request_id, issued_at=work.request.issued_at)


def claim(work: Work, server_id: ServerId, expected: Record | None, **record: Any) -> Record:
    """Take the server's lease for this request, recording what `record` says (ledger.Ledger.claim)."""
    request = work.request
    record.setdefault("owner", work.owner)
    return work.services.ledger.claim(
        server_id, expected, request_id=request.request_id, issued_at=request.issued_at, **record
    )


def look(server: ResourceServer, work: Work) -> Held | None:
    """What Cognito holds at the server's Identifier, refused if Cognito manages it itself."""
    held = work.services.cognito.describe(server.id)
    ownership.refuse_if_managed(held, "taken over")
    return held
