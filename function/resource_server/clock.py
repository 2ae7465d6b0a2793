"""The provider's one clock: every reading of the time, every wait and every timer goes through
it, so that a test can run the real provider on a virtual clock and choose which request moves
next (tests/support/explorer.py). Standard library only, as the answer to a provider that
could not start uses it too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock:
    def time(self) -> float:
        """Seconds since the epoch: what leases and CloudFormation's signing times are counted in."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds that only go forward: what a request's budget is counted in."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def timer(self, seconds: float, action: Callable[[], None]) -> Timer:
        """`action`, run on a thread of its own after `seconds`, unless cancelled first."""
        started = threading.Timer(seconds, action)
        started.daemon = True
        started.start()
        return started


CLOCK = Clock()
