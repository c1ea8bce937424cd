"""Arjovsky et al. 2016: on the copy task an LSTM sits at the memoryless baseline."""

from __future__ import annotations

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import training

TOLERANCE = 0.05  # the losses stay within 5% of 10 log 8 / (T + 20)

# Arjovsky et al.'s LSTM: 40 units, RMSprop; a larger rate than their 1e-3 reaches the baseline
# in a few hundred steps, so the plateau after it is long within a cpu-sized run.
BASE = {
    "cell": "lstm",
    "task": "copy",
    "seq_len": 100,
    "hidden_size": 40,
    "batch_size": 32,
    "optimizer": {"name": "rmsprop", "lr": 0.01},
    "steps": 600,
    "probe_every": 600,
}


def judge(table: Table) -> Verdict:
    """table: one point, trained."""
    (runs,) = table
    late = [run["late_loss"] / run["baseline"] for run in runs]
    held_out = [run["eval_loss"] / run["baseline"] for run in runs]
    passed = all(abs(ratio - 1) <= TOLERANCE for ratio in late + held_out)
    measured = (
        f"baseline {spread(column(runs, 'baseline'), 4)}; first loss "
        f"{spread(column(runs, 'first_loss'))}; mean loss over the second half "
        f"{spread(late, 4)} x baseline; held-out {spread(held_out, 4)} x baseline"
    )
    return Verdict(passed, measured)


LSTM_COPY = Reproduction(
    name="lstm_copy",
    claim="On the copy task an LSTM sits at the memoryless baseline 10 log 8 / (T + 20) for a "
    "long time.",
    citation="Arjovsky, Shah, Bengio 2016",
    expected=f"at T = 100 on every seed, the mean training loss over the second half of the run "
    f"and the held-out loss are within {TOLERANCE:.0%} of the baseline (the first loss is "
    f"about log 9, far above)",
    plans={
        "cpu": (Plan(BASE, {"seq_len": [100]}),),
        "paper": (
            Plan(
                {**BASE, "batch_size": 20, "optimizer": {"name": "rmsprop", "lr": 0.001}},
                {"seq_len": [1000], "steps": [20000]},
            ),
        ),
    },
    measure=training,
    judge=judge,
)
