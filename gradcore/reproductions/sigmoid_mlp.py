"""Seed 003 of the background: in a deep sigmoid MLP the earlier layers learn slower."""

from __future__ import annotations

from gradcore.reproductions.base import Numbers, Plan, Reproduction, Table, Verdict, spread
from gradcore.result import ExperimentResult

# The first layer's mean |dW| of the first SGD step over the last hidden layer's, at most:
# for PyTorch's default init and for N(0, 1/sqrt(fan_in)) (measured: about 4e-7 and 3e-5).
FACTOR_MAX = {"default": 1e-5, "normal": 1e-3}
BOUNDS = FACTOR_MAX.items()

BASE = {
    "cell": "mlp",
    "task": "pixel_digits",
    "seq_len": 64,
    "hidden_size": 64,
    "num_layers": 8,
    "activation": "sigmoid",
    "optimizer": {"name": "sgd", "lr": 0.5},
    "steps": 1,
}
# Plain SGD, so that a weight's change is the learning rate times its gradient (Adam's would be
# about the learning rate for every layer).
INITS = [{}, {"input": "normal", "recurrent": "normal"}]


def first_over_last(result: ExperimentResult) -> Numbers:
    """Mean |dW| of layer 0 over that of the last hidden layer, in the first update."""
    change = result.weight_change.per_layer
    hidden = sorted(
        (name for name in change if name.startswith("layer") and name.endswith(".weight")),
        key=lambda name: int(name.removeprefix("layer").split(".")[0]),
    )
    return {"ratio": change[hidden[0]][0] / change[hidden[-1]][0]}


def judge(table: Table) -> Verdict:
    """table: the points default init and normal init."""
    ratios = {
        init: [seed["ratio"] for seed in points]
        for init, points in zip(FACTOR_MAX, table, strict=True)
    }
    passed = all(max(ratios[init]) <= FACTOR_MAX[init] for init in FACTOR_MAX)
    measured = ", ".join(f"{init} init {spread(ratios[init])}" for init in FACTOR_MAX)
    return Verdict(passed, f"first layer's mean |dW| over the last's: {measured}")


SIGMOID_MLP = Reproduction(
    name="sigmoid_mlp",
    claim="In a deep sigmoid MLP the earlier layers learn slower: the first layer's weight "
    "change is a small fraction of the last hidden layer's.",
    citation="background seed 003; Glorot and Bengio 2010",
    expected="in the first SGD update of an 8-layer sigmoid MLP on digits, the first layer's "
    "mean |dW| is at most "
    + " and ".join(f"{factor:g} of the last's with the {init} init" for init, factor in BOUNDS),
    plans={
        "cpu": (Plan(BASE, {"init": INITS}),),
        "paper": (Plan({**BASE, "hidden_size": 256}, {"init": INITS}),),
    },
    measure=first_over_last,
    judge=judge,
)
