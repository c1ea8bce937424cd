"""The gallery: classic results as named, runnable claims with predicates that decide them.

Each reproduction states its claim and citation, the sweeps that test it at the `cpu` scale
(minutes on two cores) and the `paper` scale (the papers' sizes), and judges the measured
numbers: every seed must agree with the claim.
"""

from __future__ import annotations

from gradcore.reproductions.base import SCALES, SEEDS, Plan, Reproduction, Scale, Verdict
from gradcore.reproductions.check import check, specs
from gradcore.reproductions.cnn_versus_rnn import CNN_VERSUS_RNN
from gradcore.reproductions.forget_bias import FORGET_BIAS
from gradcore.reproductions.indrnn_adding import INDRNN_ADDING
from gradcore.reproductions.indrnn_long import INDRNN_LONG
from gradcore.reproductions.irnn_adding import IRNN_ADDING
from gradcore.reproductions.lru_ratio import LRU_RATIO
from gradcore.reproductions.lstm_copy import LSTM_COPY
from gradcore.reproductions.relu_clipping import RELU_CLIPPING
from gradcore.reproductions.sigmoid_mlp import SIGMOID_MLP
from gradcore.reproductions.tanh_vanishing import TANH_VANISHING

__all__ = [
    "REPRODUCTIONS",
    "SCALES",
    "SEEDS",
    "Plan",
    "Reproduction",
    "Scale",
    "Verdict",
    "check",
    "specs",
]

REPRODUCTIONS: dict[str, Reproduction] = {
    reproduction.name: reproduction
    for reproduction in (
        TANH_VANISHING,
        RELU_CLIPPING,
        IRNN_ADDING,
        INDRNN_ADDING,
        INDRNN_LONG,
        LSTM_COPY,
        FORGET_BIAS,
        SIGMOID_MLP,
        CNN_VERSUS_RNN,
        LRU_RATIO,
    )
}
