"""Seed 001 of the background: ReLU cures depth in a CNN, not length in an RNN."""

from __future__ import annotations

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import at_init

CNN_EXCURSION_MAX = 1.5  # orders of magnitude the CNN's per-layer norms may stray from the top's
RNN_RATIO_MAX = 1e-10  # the RNN's |dL/dh_1| / |dL/dh_T| over 64 steps, at most

DIGITS = {"task": "pixel_digits", "seq_len": 64, "hidden_size": 16, "steps": 1}
HE = {"input": "kaiming_normal", "recurrent": "kaiming_normal"}
# A CNN: 32 layers, each with its own kernel, He init. A ReLU RNN reading the same digits pixel
# by pixel, its one matrix applied at each of 64 steps, at PyTorch's default init.
CNN = Plan({**DIGITS, "cell": "cnn", "activation": "relu", "init": HE}, {"num_layers": [32]})
RNN = Plan({**DIGITS, "cell": "relu"}, {"num_layers": [1]})


def judge(table: Table) -> Verdict:
    """table: the points CNN and RNN, at init."""
    cnn, rnn = table
    passed = (
        max(column(cnn, "excursion")) <= CNN_EXCURSION_MAX
        and max(column(rnn, "ratio")) <= RNN_RATIO_MAX
    )
    measured = (
        f"CNN first layer over last {spread(column(cnn, 'ratio'))} (largest excursion "
        f"{spread(column(cnn, 'excursion'))} orders); RNN |dL/dh_1| / |dL/dh_T| "
        f"{spread(column(rnn, 'ratio'))}"
    )
    return Verdict(passed, measured)


CNN_VERSUS_RNN = Reproduction(
    name="cnn_versus_rnn",
    claim="Depth alone does not make a ReLU CNN's gradient vanish; the recurrent matrix a ReLU "
    "RNN reuses at every step does.",
    citation="background seed 001; He et al. 2015; Li et al. 2018",
    expected=f"at init on digits, a 32-layer ReLU CNN (He init) keeps every layer's |dL/dh| "
    f"within {CNN_EXCURSION_MAX:g} orders of magnitude of the top layer's, while a ReLU RNN "
    f"(PyTorch's default init) over 64 steps has |dL/dh_1| / |dL/dh_T| at most "
    f"{RNN_RATIO_MAX:g}, on every seed",
    plans={
        "cpu": (CNN, RNN),
        "paper": (
            Plan({**CNN.base, "hidden_size": 64}, {"num_layers": [64]}),
            Plan({**RNN.base, "hidden_size": 128}, RNN.grid),
        ),
    },
    measure=at_init,
    judge=judge,
)
