"""Gers et al. 2000, Jozefowicz et al. 2015: a forget-gate bias of 1 keeps an LSTM's memory."""

from __future__ import annotations

import math

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import at_init

ORDERS_MIN = 6  # bias 1's ratio is at least 10^6 times bias 0's, on every seed

BASE = {"cell": "lstm", "task": "adding", "seq_len": 100, "hidden_size": 128, "steps": 1}


def judge(table: Table) -> Verdict:
    """table: the points forget_bias 0 and 1, at init."""
    zero, one = (column(points, "ratio") for points in table)
    gains = [b / a if a > 0 else math.inf for a, b in zip(zero, one, strict=True)]
    passed = all(gain >= 10**ORDERS_MIN for gain in gains)
    horizons = [spread(column(points, "horizon")) for points in table]
    measured = (
        f"|dL/dh_1| / |dL/dh_T|: bias 0 {spread(zero)}, bias 1 {spread(one)} (gain "
        f"{spread(gains)}); horizon {horizons[0]} and {horizons[1]} steps"
    )
    return Verdict(passed, measured)


FORGET_BIAS = Reproduction(
    name="forget_bias",
    claim="An LSTM's forget-gate bias of 1 lengthens its gradient horizon at init by orders of "
    "magnitude over a bias of 0.",
    citation="Gers, Schmidhuber, Cummins 2000; Jozefowicz, Zaremba, Sutskever 2015",
    expected=f"at T = 100, on every seed, |dL/dh_1| / |dL/dh_T| with bias 1 is at least "
    f"1e{ORDERS_MIN} times that with bias 0",
    plans={
        "cpu": (Plan(BASE, {"init.forget_bias": [0.0, 1.0]}),),
        "paper": (Plan({**BASE, "batch_size": 128}, {"init.forget_bias": [0.0, 1.0]}),),
    },
    measure=at_init,
    judge=judge,
)
