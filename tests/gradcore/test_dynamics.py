"""Recurrent-map probes: Jacobian spectral norms against explicit Jacobians of the layers' own
(fused) forward, Lyapunov exponents against the closed form of a linear recurrence."""

from __future__ import annotations

import math

import pytest
import torch
from pydantic import ValidationError

import gradcore
from gradcore.jacobian import jacobian_spectral_norms
from gradcore.lyapunov import lyapunov_exponents
from gradcore.statemap import layer_trajectories
from tests.gradcore.helpers import setup, small_spec


def explicit_norms(layer, x: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """(T,) mean over the batch of ||ds_{T-1}/ds_t||_2, each Jacobian built by
    torch.autograd.functional.jacobian through the layer's fused forward from s_t."""
    steps, batch = x.shape[0], x.shape[1]
    size = layer.hidden_size
    norms = torch.zeros(steps, dtype=torch.float64)
    for b in range(batch):
        for t in range(steps - 1):

            def rest(s: torch.Tensor, t: int = t, b: int = b) -> torch.Tensor:
                state = (s[None, :size], s[None, size:]) if layer.cell == "lstm" else s[None]
                _, final = layer(x[t + 1 :, b : b + 1], state)
                return torch.cat([final[0][0], final[1][0]]) if layer.cell == "lstm" else final[0]

            jacobian = torch.autograd.functional.jacobian(rest, states[t + 1, b])
            norms[t] += torch.linalg.matrix_norm(jacobian, ord=2) / batch
    norms[-1] = 1.0  # ds_{T-1}/ds_{T-1} = I
    return norms


@pytest.mark.parametrize("cell", ["tanh", "lstm", "gru", "indrnn", "esn"])
def test_jacobian_norms_match_explicit_jacobians(cell: str) -> None:
    spec = small_spec(cell=cell, seq_len=5, hidden_size=3, num_layers=2, batch_size=2)
    net, _, batch = setup(spec)
    paths = layer_trajectories(net, batch.inputs)
    x = batch.inputs
    for layer, path in zip(net.layers, paths, strict=True):
        expected = explicit_norms(layer, x, path.states)
        got = jacobian_spectral_norms(path, 30, torch.Generator().manual_seed(0))
        # Power iteration gives |J v| for a unit v: never above the norm, converging to it.
        assert torch.all(got <= expected * (1 + 1e-9))
        torch.testing.assert_close(got, expected, rtol=1e-3, atol=0)
        x = layer(x, None)[0]


@pytest.mark.parametrize("a", [0.5, 0.9, 1.2])
def test_linear_recurrence_has_lyapunov_exponent_log_a(a: float) -> None:
    """IRNN with W_hh = a*I and positive inputs stays in ReLU's linear region: every step's
    Jacobian is a*I, so every exponent is log(a) and ||ds_{T-1}/ds_t|| = a^(T-1-t)."""
    spec = small_spec(cell="irnn", seq_len=20, init={"recurrent_scale": a})
    net, _, batch = setup(spec)
    with torch.no_grad():
        net.layers[0].rnn.weight_ih_l0.abs_()
    (path,) = layer_trajectories(net, batch.inputs)
    a_stored = float(torch.tensor(a, dtype=torch.float32))
    exponents = lyapunov_exponents(path, 3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(exponents, torch.full((3,), math.log(a_stored)).double())
    norms = jacobian_spectral_norms(path, 2, torch.Generator().manual_seed(0))
    expected = a_stored ** torch.arange(19, -1, -1, dtype=torch.float64)
    torch.testing.assert_close(norms, expected)


def test_run_reports_the_probes_only_when_asked() -> None:
    probes = {"jacobian_norms": True, "lyapunov_exponents": 2, "power_iters": 3}
    result = gradcore.run(small_spec(cell="gru", num_layers=2, steps=3, probes=probes))
    dynamics = result.dynamics
    assert dynamics.step == result.hidden_grad.step == [0, 2]
    assert dynamics.layers == ["layer0", "layer1"]
    assert [[len(curve) for curve in probe] for probe in dynamics.jacobian_norm] == [[12, 12]] * 2
    assert all(
        probe[layer][-1] == pytest.approx(1.0)
        for probe in dynamics.jacobian_norm
        for layer in (0, 1)
    )
    assert [[len(k) for k in probe] for probe in dynamics.lyapunov] == [[2, 2]] * 2
    assert gradcore.run(small_spec(steps=2)).dynamics is None
    only_lyapunov = gradcore.run(small_spec(steps=2, probes={"lyapunov_exponents": 1}))
    assert only_lyapunov.dynamics.jacobian_norm is None


def test_probes_need_a_recurrent_cell() -> None:
    with pytest.raises(ValidationError, match="recurrent cell"):
        small_spec(cell="mlp", task="pixel_digits", seq_len=64, probes={"jacobian_norms": True})
    with pytest.raises(ValidationError, match="state size"):
        small_spec(cell="tanh", hidden_size=4, probes={"lyapunov_exponents": 5})
