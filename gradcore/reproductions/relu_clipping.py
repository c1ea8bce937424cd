"""Pascanu et al. 2013: norm clipping tames an exploding ReLU RNN."""

from __future__ import annotations

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import training

LOSS_FALL_MIN = 10.0  # the clipped run's held-out loss is at least this factor below its first

BASE = {
    "cell": "relu",
    "task": "adding",
    "seq_len": 100,
    "hidden_size": 64,
    "init": {"recurrent": "identity", "recurrent_scale": 1.05},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "steps": 20,
    "probe_every": 20,
}
CLIPPINGS = [{"mode": "none"}, {"mode": "norm", "max_norm": 1.0}]


def judge(table: Table) -> Verdict:
    """table: the points unclipped and clipped."""
    unclipped, clipped = table
    falls = [
        run["first_loss"] / run["eval_loss"] if run["eval_loss"] > 0 else float("inf")
        for run in clipped
    ]
    passed = (
        all(run["diverged"] for run in unclipped)
        and not any(run["diverged"] for run in clipped)
        and min(falls) >= LOSS_FALL_MIN
    )
    measured = (
        f"unclipped diverged on {sum(column(unclipped, 'diverged')):.0f} of {len(unclipped)} "
        f"seeds (first loss {spread(column(unclipped, 'first_loss'))}); clipped diverged on "
        f"{sum(column(clipped, 'diverged')):.0f}, held-out loss "
        f"{spread(column(clipped, 'eval_loss'))} (first {spread(column(clipped, 'first_loss'))})"
    )
    return Verdict(passed, measured)


RELU_CLIPPING = Reproduction(
    name="relu_clipping",
    claim="A ReLU RNN with W_hh = 1.05 I diverges without clipping and trains with gradient "
    "norm clipping.",
    citation="Pascanu, Mikolov, Bengio 2013",
    expected=f"on adding at T = 100 with SGD, every unclipped run diverges (NaN/inf) and every "
    f"run clipped at norm 1 completes with a held-out loss at least {LOSS_FALL_MIN:g}x below "
    f"its first loss",
    plans={
        "cpu": (Plan(BASE, {"clipping": CLIPPINGS}),),
        "paper": (Plan({**BASE, "hidden_size": 128, "steps": 500}, {"clipping": CLIPPINGS}),),
    },
    measure=training,
    judge=judge,
)
