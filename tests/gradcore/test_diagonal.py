"""LRU and S4D: the parallel scan against the step loop, dL/dh_t over the complex state against
retain_grad on an independent real-arithmetic formula (float64), and their inits."""

from __future__ import annotations

import math

import pytest
import torch

from gradcore import diagonal
from gradcore.scan import linear_loop, linear_scan
from gradcore.spec import ExperimentSpec, TrainingSpec
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, setup, small_spec


@pytest.mark.parametrize("steps", [1, 2, 3, 7, 8, 17])
def test_scan_equals_loop_values_and_gradients(steps: int) -> None:
    gen = torch.Generator().manual_seed(steps)

    def draw(*shape: int) -> torch.Tensor:
        parts = torch.randn(*shape, 2, generator=gen, dtype=torch.float64)
        return torch.view_as_complex(parts).requires_grad_()

    lam = (draw(4) * 0.6).detach().requires_grad_()
    u, start = draw(steps, 3, 4), draw(3, 4)
    weights = draw(steps, 3, 4).detach()
    results = []
    for solve in (linear_scan, lambda a, b, c: linear_loop(a, b, c, None, 0, 0)):
        states = solve(lam, u, start)
        (states * weights).real.sum().backward()
        results.append((states.detach(), lam.grad, u.grad, start.grad))
        lam.grad = u.grad = start.grad = None
    for scanned, looped in zip(*results, strict=True):
        torch.testing.assert_close(scanned, looped, rtol=1e-12, atol=1e-12)


def coefficients(layer) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, ...]]:
    """(Re lam, Im lam) and (Re g, Im g) from the layer's raw parameters, in real arithmetic."""
    if layer.cell == "lru":
        radius = torch.exp(-torch.exp(layer.nu_log))
        angle = torch.exp(layer.theta_log)
        gain = torch.exp(layer.gamma_log)
        return (radius * torch.cos(angle), radius * torch.sin(angle)), (
            gain,
            torch.zeros_like(gain),
        )
    dt = torch.exp(layer.log_dt)
    a_re, a_im = -torch.exp(layer.log_a_real), layer.a_imag
    lam_re = torch.exp(dt * a_re) * torch.cos(dt * a_im)
    lam_im = torch.exp(dt * a_re) * torch.sin(dt * a_im)
    # (lam - 1) / A = (lam - 1) conj(A) / |A|^2
    den = a_re**2 + a_im**2
    g_re = ((lam_re - 1) * a_re + lam_im * a_im) / den
    g_im = (lam_im * a_re - (lam_re - 1) * a_im) / den
    return (lam_re, lam_im), (g_re, g_im)


def reference_hidden_grads(net, task, batch) -> torch.Tensor:
    x = batch.inputs
    hiddens = []
    for layer in net.layers:
        (l_re, l_im), (g_re, g_im) = coefficients(layer)
        bx_re, bx_im = x @ layer.b_re.T, x @ layer.b_im.T
        u_re, u_im = g_re * bx_re - g_im * bx_im, g_re * bx_im + g_im * bx_re
        h_re = h_im = x.new_zeros(x.shape[1], layer.hidden_size)
        steps, outputs = [], []
        for t in range(x.shape[0]):
            h_re, h_im = l_re * h_re - l_im * h_im + u_re[t], l_re * h_im + l_im * h_re + u_im[t]
            h_re.retain_grad()
            h_im.retain_grad()
            steps.append((h_re, h_im))
            mixed = h_re @ layer.c_re.T - h_im @ layer.c_im.T + x[t] @ layer.d.T
            outputs.append(0.5 * mixed * (1 + torch.erf(mixed / math.sqrt(2))))  # GELU
        hiddens.append(steps)
        x = torch.stack(outputs)
    logits = net.readout(x) if task.every_step else net.readout(x[-1])
    task.loss(logits, batch.targets).backward()
    norms = [[math.hypot(re.grad.norm(), im.grad.norm()) for re, im in steps] for steps in hiddens]
    return torch.tensor(norms, dtype=torch.float64)


@pytest.mark.parametrize("cell", ["lru", "s4d"])
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_hidden_grad_norms_match_retain_grad(cell: str, task: str) -> None:
    spec = small_spec(cell=cell, task=task, seq_len=6, num_layers=2)
    net, task_data, batch = setup(spec)
    out = forward_backward(net, task_data, batch, spec.training, probe=True)
    net.zero_grad()
    expected = reference_hidden_grads(net, task_data, batch)
    torch.testing.assert_close(out.hidden_grad_norms, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("cell", ["lru", "s4d"])
@pytest.mark.parametrize("training", [{"mode": "bptt"}, {"mode": "tbptt", "tbptt_k": 4}])
def test_scan_and_probe_steps_give_equal_loss_and_gradients(
    cell: str, training: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagonal, "SCAN_ON_CPU", True)  # plain steps scan, as on the GPU
    spec = small_spec(cell=cell, task="copy", seq_len=5, num_layers=2, training=training)
    net, task, batch = setup(spec)
    scanned = forward_backward(net, task, batch, spec.training, probe=False)
    scanned_grads = param_grads(net)
    net.zero_grad()
    looped = forward_backward(net, task, batch, spec.training, probe=True)
    torch.testing.assert_close(scanned.loss, looped.loss, rtol=1e-12, atol=0)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, scanned_grads[name], rtol=1e-10, atol=1e-13, msg=name)


def test_lru_init_draws_the_ring_and_normalises_the_input() -> None:
    spec = small_spec(
        cell="lru", hidden_size=400, lru={"r_min": 0.4, "r_max": 0.9, "max_phase": math.pi / 4}
    )
    layer = setup(spec)[0].layers[0]
    lam, gain = (part.detach() for part in layer.coefficients())
    radius, phase = lam.abs(), lam.angle()
    assert radius.min() >= 0.4 - 1e-12 and radius.max() <= 0.9 + 1e-12
    assert phase.min() >= 0 and phase.max() <= math.pi / 4 + 1e-12
    # Drawn in float32, compared in float64.
    torch.testing.assert_close(gain.real, torch.sqrt(1 - radius**2), rtol=1e-6, atol=0)
    # Uniform on the ring by area: |lam|^2 ~ U(r_min^2, r_max^2), mean (0.16 + 0.81) / 2.
    assert abs(float((radius**2).mean()) - 0.485) < 0.03


def test_s4d_init_is_s4d_lin_with_zoh_steps_in_range() -> None:
    spec = small_spec(cell="s4d", hidden_size=16, s4d={"dt_min": 0.01, "dt_max": 0.2})
    layer = setup(spec)[0].layers[0]
    dt = torch.exp(layer.log_dt.detach())
    assert dt.min() >= 0.01 - 1e-12 and dt.max() <= 0.2 + 1e-12
    a = torch.complex(torch.full((16,), -0.5), math.pi * torch.arange(16.0)).to(torch.complex128)
    lam, gain = layer.coefficients()
    # Drawn in float32 (log 0.5, pi n), compared in float64.
    torch.testing.assert_close(lam.detach(), torch.exp(dt * a), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(gain.detach(), (torch.exp(dt * a) - 1) / a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"cell": "tanh", "lru": {"r_max": 0.5}}, "lru"),
        ({"cell": "lru", "s4d": {"dt_max": 0.5}}, "s4d"),
        ({"cell": "lru", "lru": {"r_min": 0.9, "r_max": 0.5}}, "r_min"),
        ({"cell": "s4d", "s4d": {"dt_min": 0.5, "dt_max": 0.1}}, "dt_min"),
        ({"cell": "exprnn", "init": {"recurrent": "orthogonal"}}, "init"),
        ({"cell": "lru", "probes": {"jacobian_norms": True}}, "probes"),
        ({"cell": "s4d", "training": {"mode": "uoro"}}, "training.mode"),
    ],
)
def test_spec_refuses_what_the_new_cells_do_not_take(fields: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ExperimentSpec(task="adding", seq_len=10, **fields)


@pytest.mark.parametrize("cell", ["lru", "s4d"])
def test_k1k2_windows_sum_the_complex_gradient_as_full_bptt_does(cell: str) -> None:
    # With k2 >= T every loss term's window starts at 0: the summed copies' gradients are full
    # BPTT's, and their complex parts must be added before the norm is taken.
    spec = small_spec(cell=cell, task="copy", seq_len=3, num_layers=2)
    net, task, batch = setup(spec)
    full = forward_backward(net, task, batch, spec.training, probe=True)
    net.zero_grad()
    windows = TrainingSpec(mode="tbptt_k1k2", tbptt_k1=4, tbptt_k2=spec.sequence_length)
    windowed = forward_backward(net, task, batch, windows, probe=True)
    torch.testing.assert_close(
        windowed.hidden_grad_norms, full.hidden_grad_norms, rtol=1e-9, atol=0
    )
