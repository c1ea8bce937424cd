"""Waits in tests: a deadline on a condition, scaled for slow or busy machines.

GRADFLOW_TEST_TIMEOUT_SCALE (default 1) multiplies every deadline, so a loaded CI machine can
be given more time without editing a test; a wait ends as soon as its condition holds.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.05


def scaled(seconds: float) -> float:
    return seconds * float(os.environ.get("GRADFLOW_TEST_TIMEOUT_SCALE", "1"))


def wait_until(condition: Callable[[], T], seconds: float, what: str) -> T:
    """The first truthy value of `condition()`, polled until `seconds` (scaled) have passed."""
    deadline = time.monotonic() + scaled(seconds)
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {scaled(seconds):.0f} s")
        time.sleep(POLL_S)
