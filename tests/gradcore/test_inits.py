"""Initialisation schemes: exact structure where there is one, variance where it is random."""

from __future__ import annotations

import math

import pytest
import torch

from gradcore.model import SMALL_INPUT_STD
from gradcore.spec import ExperimentSpec, indrnn_cap
from gradcore.train import seeded_network

HIDDEN = 256


def net_for(**fields):
    spec = ExperimentSpec(task="adding", seq_len=100, hidden_size=HIDDEN, **fields)
    return seeded_network(spec, input_size=2, output_size=1)


def test_identity_recurrent_is_the_identity_per_gate() -> None:
    rnn = net_for(cell="lstm", init={"recurrent": "identity"}).layers[0].rnn
    for block in rnn.weight_hh_l0.detach().chunk(4):
        assert torch.equal(block, torch.eye(HIDDEN))


def test_irnn_defaults_follow_le_et_al() -> None:
    """Identity recurrence, zero biases, N(0, 0.001) for the non-recurrent weights: the input's
    and the readout's."""
    net = net_for(cell="irnn")
    rnn = net.layers[0].rnn
    assert torch.equal(rnn.weight_hh_l0.detach(), torch.eye(HIDDEN))
    assert torch.all(rnn.bias_ih_l0 == 0) and torch.all(rnn.bias_hh_l0 == 0)
    assert float(rnn.weight_ih_l0.detach().std()) == pytest.approx(SMALL_INPUT_STD, rel=0.1)
    # 256 draws: the sample std is within 10% of the law's (its own std is about 4.4%).
    assert float(net.readout.weight.detach().std()) == pytest.approx(SMALL_INPUT_STD, rel=0.1)
    assert torch.all(net.readout.bias == 0)


@pytest.mark.parametrize("gain", [1.0, 1.5])
def test_orthogonal_blocks_are_orthogonal(gain: float) -> None:
    rnn = net_for(cell="gru", init={"recurrent": "orthogonal", "recurrent_scale": gain}).layers[0]
    for block in rnn.weight_hh.detach().double().chunk(3):
        identity = gain**2 * torch.eye(HIDDEN, dtype=torch.float64)
        # float32 storage: W^T W = I to float32 precision.
        torch.testing.assert_close(block.T @ block, identity, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("scheme", "expected_var"),
    [
        ("xavier_uniform", 2 / (HIDDEN + HIDDEN)),
        ("xavier_normal", 2 / (HIDDEN + HIDDEN)),
        ("kaiming_uniform", 2 / HIDDEN),
        ("kaiming_normal", 2 / HIDDEN),
        ("normal", 1 / HIDDEN),
    ],
)
def test_random_scheme_variances(scheme: str, expected_var: float) -> None:
    w = net_for(cell="tanh", init={"recurrent": scheme}).layers[0].weight_hh.detach()
    # 65,536 draws: the sample variance is within a few percent of the law's.
    assert float(w.var()) == pytest.approx(expected_var, rel=0.05)
    assert abs(float(w.mean())) < 0.01


def test_normal_scale_is_the_std() -> None:
    w = net_for(cell="relu", init={"recurrent": "normal", "recurrent_scale": 0.3}).layers[0]
    assert float(w.weight_hh.detach().std()) == pytest.approx(0.3, rel=0.05)


def test_uniform_xavier_is_bounded() -> None:
    w = net_for(cell="tanh", init={"recurrent": "xavier_uniform"}).layers[0].weight_hh
    assert float(w.detach().abs().max()) <= math.sqrt(6 / (2 * HIDDEN))


def test_lstm_forget_bias() -> None:
    rnn = net_for(cell="lstm", init={"forget_bias": 1.0}).layers[0].rnn
    assert torch.all(rnn.bias_ih_l0[HIDDEN : 2 * HIDDEN] == 1.0)
    assert torch.all(rnn.bias_hh_l0[HIDDEN : 2 * HIDDEN] == 0.0)


def test_indrnn_paper_init() -> None:
    net = net_for(cell="indrnn", num_layers=3)
    cap = indrnn_cap(100)
    first, last = net.layers[0].u.detach(), net.layers[-1].u.detach()
    assert float(first.min()) >= 0 and float(first.max()) <= cap
    assert float(last.min()) >= 1 / cap and float(last.max()) <= cap
    assert float(net.layers[0].weight_ih.detach().std()) == pytest.approx(SMALL_INPUT_STD, rel=0.2)


def test_default_is_pytorch_default_and_seeded() -> None:
    a = net_for(cell="tanh", seed=1).layers[0].weight_hh
    b = net_for(cell="tanh", seed=1).layers[0].weight_hh
    c = net_for(cell="tanh", seed=2).layers[0].weight_hh
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.detach().abs().max()) <= 1 / math.sqrt(HIDDEN)
