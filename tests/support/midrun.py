"""Catching a resumable run mid-run, whatever the machine's load.

A poll can come late on a busy machine: by the time it sees a checkpoint the run may have
reported its result, and a kill then tests nothing. So the run is frozen (SIGSTOP) as soon as a
checkpoint is seen, and judged while frozen: inside the window it stays frozen for the caller's
kill; past it, it is thawed and the caller tries a fresh job.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass

from tests.support.waits import wait_until

TRIES = 3


@dataclass(frozen=True)
class RunState:
    running: bool
    checkpoint_step: int | None
    progress_step: int


def past_a_checkpoint(state: RunState) -> bool:
    return state.checkpoint_step is not None and state.progress_step > state.checkpoint_step + 5


def freeze_mid_run(
    state: Callable[[], RunState], send: Callable[[int], None], steps: int, timeout: float
) -> bool:
    """Wait until a run of `steps` steps has trained past a checkpoint, freeze it with
    `send(SIGSTOP)`, and say whether it is still well short of its end: the stored progress lags
    the run by up to a flush, so the window closes at half the steps. Past it, the run is thawed
    again (`send(SIGCONT)`)."""
    wait_until(
        lambda: past_a_checkpoint(now := state()) or not now.running,
        timeout,
        "a checkpoint of the running job, and steps after it",
    )
    send(signal.SIGSTOP)
    frozen = state()
    if frozen.running and past_a_checkpoint(frozen) and frozen.progress_step < steps // 2:
        return True
    send(signal.SIGCONT)
    return False
