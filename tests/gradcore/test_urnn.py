"""uRNN: W = D3 R2 F^-1 D2 P R1 F D1 against the product of its factors written out as
matrices, unitary through training, and dL/dh_t over the complex state against retain_grad."""

from __future__ import annotations

import math

import pytest
import torch

from gradcore.probes import spectral_radius
from gradcore.step import forward_backward
from tests.gradcore.helpers import setup, small_spec


def explicit_w(layer) -> torch.Tensor:
    """The product of the seven factors as (N, N) complex128 matrices."""
    n = layer.units
    index = torch.arange(n, dtype=torch.float64)
    dft = torch.exp(-2j * math.pi * index[:, None] * index[None, :] / n) / math.sqrt(n)
    d1, d2, d3 = (torch.diag(torch.exp(1j * p)) for p in layer.phases.to(torch.complex128))

    def reflection(k: int) -> torch.Tensor:
        v = torch.complex(layer.reflections[k, 0], layer.reflections[k, 1])[:, None]
        return torch.eye(n, dtype=torch.complex128) - 2 * (v @ v.conj().T) / (v.abs() ** 2).sum()

    permutation = torch.eye(n, dtype=torch.complex128)[layer.permutation]  # (P h)_i = h_perm[i]
    return d3 @ reflection(1) @ dft.conj().T @ d2 @ permutation @ reflection(0) @ dft @ d1


def reference_hidden_grads(net, task, batch) -> torch.Tensor:
    x = batch.inputs
    hiddens = []
    for layer in net.layers:
        w = explicit_w(layer)
        v = torch.complex(layer.weight_ih[0], layer.weight_ih[1])
        h = torch.zeros(x.shape[1], layer.units, dtype=torch.complex128)
        steps, outputs = [], []
        for t in range(x.shape[0]):
            z = h @ w.T + x[t].to(torch.complex128) @ v.T
            h = torch.relu(z.abs() + layer.bias) * z / z.abs()
            h.retain_grad()
            steps.append(h)
            outputs.append(torch.stack([h.real, h.imag], dim=-1).flatten(-2))
        hiddens.append(steps)
        x = torch.stack(outputs)
    logits = net.readout(x) if task.every_step else net.readout(x[-1])
    task.loss(logits, batch.targets).backward()
    norms = [[float(h.grad.abs().norm()) for h in steps] for steps in hiddens]
    return torch.tensor(norms, dtype=torch.float64)


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_hidden_grad_norms_match_retain_grad(task: str) -> None:
    spec = small_spec(cell="urnn", task=task, seq_len=6, num_layers=2)
    net, task_data, batch = setup(spec)
    out = forward_backward(net, task_data, batch, spec.training, probe=True)
    net.zero_grad()
    expected = reference_hidden_grads(net, task_data, batch)
    torch.testing.assert_close(out.hidden_grad_norms, expected, rtol=1e-9, atol=0)


def test_w_is_the_product_of_its_factors_and_stays_unitary_through_training() -> None:
    spec = small_spec(cell="urnn", hidden_size=10)
    net, task, batch = setup(spec)
    layer = net.layers[0]
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    eye = torch.eye(5, dtype=torch.complex128)
    for _ in range(3):
        optimizer.zero_grad()
        forward_backward(net, task, batch, spec.training, probe=False)
        optimizer.step()
        w = layer.matrix().detach()
        torch.testing.assert_close(w, explicit_w(layer).detach(), rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(w.conj().T @ w, eye, rtol=0, atol=1e-12)
        assert spectral_radius(w) == pytest.approx(1.0, abs=1e-12)


def test_odd_hidden_size_is_refused() -> None:
    with pytest.raises(ValueError, match="hidden_size"):
        small_spec(cell="urnn", hidden_size=7)
