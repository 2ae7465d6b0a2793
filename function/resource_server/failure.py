"""Why a request failed, in words a stack author can act on. Standard library only."""

from __future__ import annotations

# The console shows a resource's ResourceStatusReason whole only when it is short. Reasons here
# put the useful words first, and are cut from the end to this many characters.
REASON_ROOM = 240


class RequestFailed(Exception):
    """A request that must be answered FAILED. Which physical id the answer carries is decided
    in one place, from what the request may have made (delivery.failed_physical_id)."""

    def __init__(self, reason: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason or "The provider failed without saying why; see its log"
        self.details = details  # every problem, for the log, when the reason has room for only some


class DuplicateInFlight(Exception):
    """Another delivery of this request is running and can still answer: this one stays silent."""


def shortened(reason: str, room: int = REASON_ROOM) -> str:
    return reason if len(reason) <= room else reason[: room - 3] + "..."
