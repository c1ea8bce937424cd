"""A rate limit for periodic writes: due at most once per interval."""

from __future__ import annotations

import time


class Throttle:
    """True at most once per `interval` seconds (the first call is always due)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = -float("inf")

    def due(self) -> bool:
        now = time.monotonic()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True
