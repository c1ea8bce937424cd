"""The numbers the predicates read from a result, taken at the first probe (step 0: at init)."""

from __future__ import annotations

import math

from gradcore.reproductions.base import Numbers
from gradcore.result import ExperimentResult


def init_curve(result: ExperimentResult) -> list[float]:
    """|dL/dh| at init from the input end to the loss end: over time steps t = 1..T for layer 0
    of a recurrent net, over layers for a feed-forward one (whose curves have one time step)."""
    norms = result.hidden_grad.norm[0]  # [layer][t]
    if result.hidden_grad.time_steps == 1:
        return [curve[0] for curve in norms]
    return norms[0]


def at_init(result: ExperimentResult) -> Numbers:
    """ratio: |dL/dh| at the input end over the loss end; excursion: the largest |log10| of any
    point's norm over the loss end's (how far the curve strays from flat); horizon: layer 0's."""
    curve = init_curve(result)
    end = curve[-1]
    return {
        "ratio": curve[0] / end,
        "excursion": max(abs(math.log10(norm / end)) if norm > 0 else math.inf for norm in curve),
        "horizon": float(result.hidden_grad.horizon[0][0]),
        "length": float(len(curve)),
    }


def training(result: ExperimentResult) -> Numbers:
    """How the run ended: diverged (1 or 0), the first loss, the mean training loss over the
    second half of the steps, the held-out loss and the task's memoryless baseline."""
    summary = result.summary
    losses = result.loss.loss
    late = losses[len(losses) // 2 :]
    return {
        "diverged": float(summary.outcome == "diverged"),
        "first_loss": losses[0],
        "late_loss": sum(late) / len(late),
        "eval_loss": math.inf if summary.eval_loss is None else summary.eval_loss,
        "baseline": summary.baseline_loss,
    }
