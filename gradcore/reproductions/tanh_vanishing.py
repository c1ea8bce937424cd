"""Bengio et al. 1994, Pascanu et al. 2013: the tanh RNN's gradient vanishes exponentially."""

from __future__ import annotations

import math

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import at_init

RATE_MAX = -0.05  # log10 of the ratio per step: at most this (a fall of 10x per 20 steps)
RATE_AGREEMENT = 1.5  # the per-step rates at the different T agree within this factor
HORIZON_GROWTH_MAX = 2  # steps the horizon may gain from the shortest T to the longest

BASE = {"cell": "tanh", "task": "adding", "hidden_size": 128, "batch_size": 64, "steps": 1}


def judge(table: Table) -> Verdict:
    """table: one point per seq_len (increasing), at init."""
    lengths = [points[0]["length"] for points in table]
    rates = [
        [math.log10(r) / (length - 1) if r > 0 else -math.inf for r in column(points, "ratio")]
        for points, length in zip(table, lengths, strict=True)
    ]
    per_seed = list(zip(*rates, strict=True))
    exponential = all(
        max(seed) <= RATE_MAX and min(seed) >= RATE_AGREEMENT * max(seed) for seed in per_seed
    )
    horizons = [column(points, "horizon") for points in table]
    flat = all(
        last - first <= HORIZON_GROWTH_MAX
        for first, last in zip(horizons[0], horizons[-1], strict=True)
    )
    measured = "; ".join(
        f"T={length:.0f}: ratio {spread(column(points, 'ratio'))}, "
        f"log10/step {spread(rate)}, horizon {spread(column(points, 'horizon'))}"
        for points, length, rate in zip(table, lengths, rates, strict=True)
    )
    return Verdict(exponential and flat, measured)


TANH_VANISHING = Reproduction(
    name="tanh_vanishing",
    claim="A tanh RNN's |dL/dh_1| / |dL/dh_T| falls exponentially with T at init, and its "
    "gradient horizon does not grow with T.",
    citation="Bengio, Simard, Frasconi 1994; Pascanu, Mikolov, Bengio 2013",
    expected=f"on every seed, log10 of the ratio per step is at most {RATE_MAX} and the same "
    f"within x{RATE_AGREEMENT} at every T; the horizon at the longest T is at most "
    f"{HORIZON_GROWTH_MAX} steps longer than at the shortest",
    plans={
        "cpu": (Plan(BASE, {"seq_len": [25, 50, 100]}),),
        # Beyond T = 150 the ratio underflows float32 (a 0.0 is read as a rate of -inf).
        "paper": (Plan(BASE, {"seq_len": [25, 50, 100, 150]}),),
    },
    measure=at_init,
    judge=judge,
)
