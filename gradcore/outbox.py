"""What a run sends its caller between steps: trace slices, progress and checkpoints.

Everything here is called in the training thread between two steps (see gradcore.hooks).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gradcore.checkpoint import capture
from gradcore.hooks import RunHooks
from gradcore.result import Progress
from gradcore.slices import SliceCursor
from gradcore.trace import StepRecord
from gradcore.train_step import Run

PROGRESS_INTERVAL_S = 0.5


class Outbox:
    """Sends as often as the caller's hooks ask. Built when training starts: `started` is then,
    less a resumed run's training time before its checkpoint."""

    def __init__(
        self,
        run: Run,
        hooks: RunHooks,
        on_progress: Callable[[Progress], None] | None,
        resumed: bool,
    ) -> None:
        self.run, self.hooks, self.on_progress = run, hooks, on_progress
        self.cursor = SliceCursor(run.trace, run.map_probe, run.hessian_free)
        self.sent_any = resumed  # a resumed run's earlier lives stored its first slices
        self.started = time.perf_counter() - run.elapsed_before
        self.last_report = self.last_flush = time.perf_counter()

    def send_traces(self, final: bool = False) -> None:
        # A run that records nothing (diverged in its first step) still sends one, empty,
        # slice at its end: it carries the traces' layout (parameter and layer names).
        if self.hooks.on_traces is not None and (
            self.cursor.pending or (final and not self.sent_any)
        ):
            self.hooks.on_traces(self.cursor.take())
            self.sent_any = True
        self.last_flush = time.perf_counter()

    def checkpoint_if_due(self, step: int) -> None:
        """Before `step`: when the caller says a checkpoint is due, the pending traces, then the
        state after the steps before `step`."""
        hooks, run = self.hooks, self.run
        if hooks.checkpoint_due is None or not hooks.checkpoint_due():
            return
        self.send_traces()
        if hooks.on_checkpoint is not None:
            elapsed = time.perf_counter() - self.started
            radius_start = run.facts.radius_start
            hooks.on_checkpoint(
                capture(step, elapsed, run.net, run.optimizer, run.generators, radius_start)
            )

    def after_step(self, record: StepRecord) -> None:
        """Traces after a probe step and every traces_every_s; progress every
        PROGRESS_INTERVAL_S and after the last step."""
        now = time.perf_counter()
        if record.hidden_grad is not None or now - self.last_flush >= self.hooks.traces_every_s:
            self.send_traces()
        total = self.run.spec.steps
        due = now - self.last_report >= PROGRESS_INTERVAL_S or record.step == total - 1
        if self.on_progress is not None and due:
            elapsed = now - self.started
            self.on_progress(
                Progress(step=record.step + 1, total=total, loss=record.loss, elapsed_s=elapsed)
            )
            self.last_report = now
