"""Why a request failed, in words a stack author can act on."""

from __future__ import annotations


class RequestFailed(Exception):
    """A request that must be answered FAILED.

    ``physical_id`` is the id the FAILED answer carries. None keeps the default:
    the event's own id on Update and Delete, a marker that names no server on Create.
    """

    def __init__(self, reason: str, physical_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.physical_id = physical_id
