"""Why a request failed, in words a stack author can act on."""

from __future__ import annotations

# crhelper keeps only the last ~240 characters of a longer Reason. Reasons here put the
# useful words first, so they are kept within this and cut from the end.
REASON_ROOM = 240


class RequestFailed(Exception):
    """A request that must be answered FAILED.

    ``physical_id`` is the id the FAILED answer carries. None keeps the default:
    the event's own id on Update and Delete; on Create, the server the request made or may
    have made, else a marker that names no server.
    """

    def __init__(self, reason: str, physical_id: str | None = None, details: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id
        self.details = details  # every problem, for the log, when the reason has room for only some


class DuplicateInFlight(Exception):
    """Another delivery of this request is being answered now; this one must stay silent."""
