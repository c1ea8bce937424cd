"""What a caller may plug into a run beyond progress and stop: traces as they are recorded,
checkpoints, the run's fixed facts at its start, and a checkpoint to resume from.

All callbacks run in the training thread between two steps; they should be quick (a database
write, say), since training waits for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gradcore.checkpoint import Checkpoint
from gradcore.slices import TraceSlice

TRACES_INTERVAL_S = 2.0


@dataclass(frozen=True)
class RunFacts:
    """What a run knows once its network is built, before the first step: enough, with the
    stored traces, to summarise a run that is killed before it can summarise itself."""

    parameters: int
    radius_start: dict[str, float]
    device: str
    metric_name: str
    baseline_loss: float
    solved_criterion: str


@dataclass
class RunHooks:
    on_start: Callable[[RunFacts], None] | None = None
    # A slice after every probe step and at least every `traces_every_s` seconds of training,
    # and one with whatever is left before the run returns (see gradcore.slices).
    on_traces: Callable[[TraceSlice], None] | None = None
    traces_every_s: float = TRACES_INTERVAL_S
    # Polled between steps; when true, pending traces are sent, then `on_checkpoint` gets the
    # state after the steps done so far. A checkpoint is due again only when this says so.
    checkpoint_due: Callable[[], bool] | None = None
    on_checkpoint: Callable[[Checkpoint], None] | None = None


@dataclass(frozen=True)
class Resume:
    """Continue a run from `checkpoint`; `traces` are its traces before checkpoint.step, as one
    slice (the concatenation of what was stored)."""

    checkpoint: Checkpoint
    traces: TraceSlice
