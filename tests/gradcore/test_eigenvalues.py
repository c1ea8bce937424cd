"""The eigenvalue trace: each layer's spectrum at step 0 (the init) against torch.linalg.eigvals,
or the closed form of a diagonal recurrence, on matrices built here from the raw parameters."""

from __future__ import annotations

import pytest
import torch

import gradcore
from gradcore.tasks import build_task
from gradcore.train import seeded_network
from tests.gradcore.helpers import small_spec
from tests.gradcore.test_urnn import explicit_w


def independent_spectrum(layer) -> torch.Tensor:
    """(K,) complex128 from the layer's raw parameters, apart from its own eigenvalues()."""
    cell = layer.cell
    if cell in ("tanh", "irnn"):
        return torch.linalg.eigvals(layer.rnn.weight_hh_l0.detach().double())
    if cell == "esn":
        return torch.linalg.eigvals(layer.weight_hh.double())
    if cell == "indrnn":
        return torch.complex(layer.u.detach().double(), torch.zeros_like(layer.u).double())
    if cell == "exprnn":
        raw = layer.parametrizations.weight_hh.original.detach().double().tril()
        return torch.linalg.eigvals(torch.linalg.matrix_exp(raw - raw.T))
    if cell == "urnn":
        return torch.linalg.eigvals(explicit_w(layer.double()).detach())
    if cell == "lru":
        modulus = torch.exp(-torch.exp(layer.nu_log.detach().double()))
        return torch.polar(modulus, torch.exp(layer.theta_log.detach().double()))
    dt = torch.exp(layer.log_dt.detach().double())  # s4d: exp(dt A), A = -exp(a) + i b
    modulus = torch.exp(-dt * torch.exp(layer.log_a_real.detach().double()))
    return torch.polar(modulus, dt * layer.a_imag.detach().double())


def assert_same_multiset(got: torch.Tensor, expected: torch.Tensor, tolerance: float) -> None:
    """Every eigenvalue matched to a distinct one within `tolerance` (orders differ)."""
    assert got.shape == expected.shape
    left = list(expected)
    for value in got:
        distances = torch.stack([(value - other).abs() for other in left])
        nearest = int(distances.argmin())
        assert float(distances[nearest]) < tolerance, (value, expected)
        left.pop(nearest)


@pytest.mark.parametrize("cell", ["tanh", "irnn", "indrnn", "esn", "exprnn", "lru", "s4d", "urnn"])
def test_step_zero_spectrum_is_the_inits(cell: str) -> None:
    spec = small_spec(cell=cell, hidden_size=6, num_layers=2, steps=3, probes={"eigenvalues": True})
    result = gradcore.run(spec)
    assert result.dynamics is not None and result.dynamics.eigenvalues is not None
    assert result.dynamics.step == result.hidden_grad.step
    task = build_task(spec)
    net = seeded_network(spec, task.input_size, task.output_size)
    for index, layer in enumerate(net.layers):
        got = torch.tensor(result.dynamics.eigenvalues[0][index], dtype=torch.float64)
        expected = independent_spectrum(layer)
        assert_same_multiset(torch.view_as_complex(got), expected, 1e-5)
        if cell in ("exprnn", "urnn"):
            assert torch.allclose(expected.abs(), torch.ones(1, dtype=torch.float64))


def test_gated_cells_refuse_the_eigenvalue_probe() -> None:
    with pytest.raises(ValueError, match=r"probes\.eigenvalues"):
        small_spec(cell="lstm", probes={"eigenvalues": True})


def test_trained_spectrum_moves_and_stays_on_the_circle_for_exprnn() -> None:
    spec = small_spec(
        cell="exprnn",
        steps=5,
        probe_every=4,
        optimizer={"name": "adam", "lr": 0.05},
        probes={"eigenvalues": True},
    )
    spectra = gradcore.run(spec).dynamics.eigenvalues
    first, last = (torch.tensor(spectra[i][0], dtype=torch.float64) for i in (0, -1))
    assert (first - last).abs().max() > 1e-3
    # float32 weights: on the circle to float32's precision.
    ones = torch.ones(last.shape[0], dtype=torch.float64)
    torch.testing.assert_close(last.norm(dim=-1), ones, rtol=0, atol=1e-5)
