"""Li et al. 2018 (IndRNN), the adding table at T = 100: every cell but the tanh RNN converges."""

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

NAMES = ["tanh", "irnn", "lstm", "indrnn"]


def plans(base: dict[str, object]) -> tuple[Plan, Plan, Plan]:
    # The paper's IndRNN has two layers; the other cells one. The LSTM starts with a forget-gate
    # bias of 1, the standard practice: at a bias of 0 its gates halve the memory at each step and
    # at T = 100 one cpu seed of three has not left the baseline after 4,000 steps.
    return (
        Plan(base, {"cell": ["tanh", "irnn"]}),
        Plan({**base, "cell": "lstm"}, {"init.forget_bias": [1.0]}),
        Plan({**base, "cell": "indrnn"}, {"num_layers": [2]}),
    )


def judge(table: Table) -> Verdict:
    """table: the points tanh, irnn, lstm (one layer) and indrnn (two layers), trained."""
    tanh, *learners = table
    passed = stuck(tanh) and all(learned(runs) for runs in learners)
    measured = "held-out MSE over the 1/6 baseline: " + ", ".join(
        f"{name} {spread(held_out(runs))}" for name, runs in zip(NAMES, table, strict=True)
    )
    return Verdict(passed, measured)


INDRNN_ADDING = Reproduction(
    name="indrnn_adding",
    claim="On the adding problem at T = 100 every cell but the tanh RNN converges.",
    citation="Li, Li, Cook, Zhu, Gao 2018 (IndRNN), adding table",
    expected=f"on every seed the IRNN's, LSTM's and two-layer IndRNN's held-out MSE is at most "
    f"{LEARNED_MAX:g} of the baseline and the tanh RNN's at least {STUCK_MIN:g} of it; the LSTM "
    f"starts with a forget-gate bias of 1, the standard practice of Gers et al. 2000 and "
    f"Jozefowicz et al. 2015 (cpu: T = 100, 64 units, 4,000 Adam steps)",
    plans={"cpu": plans(CPU), "paper": plans(PAPER)},
    measure=training,
    judge=judge,
)
