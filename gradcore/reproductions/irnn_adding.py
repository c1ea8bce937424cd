"""Le, Jaitly and Hinton 2015: the IRNN learns the adding problem; the tanh RNN does not."""

from __future__ import annotations

from gradcore.reproductions.adding import (
    CPU,
    LEARNED_MAX,
    PAPER,
    STUCK_MIN,
    held_out,
    learned,
    stuck,
)
from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, spread
from gradcore.reproductions.measures import training

CELLS = ["irnn", "tanh"]


def judge(table: Table) -> Verdict:
    """table: the points irnn and tanh, trained."""
    irnn, tanh = table
    measured = (
        f"held-out MSE over the 1/6 baseline: IRNN {spread(held_out(irnn))}, tanh "
        f"{spread(held_out(tanh))}"
    )
    return Verdict(learned(irnn) and stuck(tanh), measured)


IRNN_ADDING = Reproduction(
    name="irnn_adding",
    claim="An IRNN (ReLU, identity recurrent init) learns the adding problem where a tanh RNN "
    "stays at the 1/6 baseline.",
    citation="Le, Jaitly, Hinton 2015",
    expected=f"on every seed the IRNN's held-out MSE is at most {LEARNED_MAX:g} of the baseline "
    f"and the tanh RNN's at least {STUCK_MIN:g} of it (cpu: T = 100, 64 units, 4,000 Adam "
    f"steps)",
    plans={
        "cpu": (Plan(CPU, {"cell": CELLS}),),
        "paper": (Plan(PAPER, {"cell": CELLS}),),
    },
    measure=training,
    judge=judge,
)
