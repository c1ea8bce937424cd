"""Echo state network: the reservoir has the requested spectral radius, never changes in
training, and its dL/dh_t probes match plain autograd."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

import gradcore
from gradcore.optim import apply_l1, build_optimizer
from gradcore.step import forward_backward
from tests.gradcore.helpers import setup, small_spec


@pytest.mark.parametrize(
    ("radius", "connectivity", "hidden"), [(0.9, 0.1, 50), (1.5, 0.5, 8), (0.3, 0.01, 3)]
)
def test_reservoir_has_the_requested_spectral_radius(
    radius: float, connectivity: float, hidden: int
) -> None:
    spec = small_spec(
        cell="esn",
        hidden_size=hidden,
        num_layers=2,
        esn={"spectral_radius": radius, "connectivity": connectivity},
    )
    net, _, _ = setup(spec)
    for layer in net.layers:
        eigenvalues = torch.linalg.eigvals(layer.weight_hh.double())
        assert float(eigenvalues.abs().max()) == pytest.approx(radius, rel=1e-6)
    if hidden == 50:
        nonzero = float((net.layers[0].weight_hh != 0).double().mean())
        assert nonzero == pytest.approx(connectivity + 1 / hidden, abs=0.05)


def test_only_the_readout_trains() -> None:
    spec = small_spec(cell="esn", optimizer={"lr": 0.1, "weight_decay": 0.1, "l1": 0.01})
    net, task, batch = setup(spec)
    fixed = {name: buffer.clone() for name, buffer in net.named_buffers()}
    readout = net.readout.weight.detach().clone()
    params = [p for _, p in net.named_weights()]
    assert [name for name, _ in net.named_weights()] == ["readout.weight", "readout.bias"]
    optimizer = build_optimizer(spec.optimizer, params)
    for probe in (True, False, True):
        optimizer.zero_grad()
        forward_backward(net, task, batch, spec.training, probe=probe)
        optimizer.step()
        apply_l1(spec.optimizer, params)
    for name, buffer in net.named_buffers():
        torch.testing.assert_close(buffer, fixed[name], rtol=0, atol=0, msg=name)
    assert not torch.equal(net.readout.weight, readout)


def test_run_reports_an_unchanged_reservoir() -> None:
    result = gradcore.run(small_spec(cell="esn", steps=3, optimizer={"lr": 0.1}))
    summary = result.summary
    assert summary.spectral_radius_start == summary.spectral_radius_end
    assert summary.spectral_radius_start["layer0.weight_hh"] == pytest.approx(0.9, rel=1e-6)
    assert set(result.grad_norm.per_param) == {"readout.weight", "readout.bias"}
    assert all(value > 0 for probe in result.hidden_grad.norm for value in probe[0])


@pytest.mark.parametrize("task", ["adding", "copy"])
def test_hidden_grad_norms_match_retain_grad(task: str) -> None:
    spec = small_spec(cell="esn", task=task, seq_len=6, num_layers=2, esn={"leak_rate": 0.6})
    net, task_data, batch = setup(spec)
    out = forward_backward(net, task_data, batch, spec.training, probe=True)
    # The formula written out, with a start state that requires grad so the states do.
    x, hiddens = batch.inputs, []
    for layer in net.layers:
        h = x.new_zeros(x.shape[1], layer.hidden_size, requires_grad=True)
        steps = []
        for t in range(x.shape[0]):
            pre = x[t] @ layer.weight_ih.T + layer.bias + h @ layer.weight_hh.T
            h = 0.4 * h + 0.6 * torch.tanh(pre)
            h.retain_grad()
            steps.append(h)
        hiddens.append(steps)
        x = torch.stack(steps)
    features = x if task_data.every_step else x[-1]
    task_data.loss(net.readout(features), batch.targets).backward()
    expected = torch.tensor(
        [[h.grad.norm().item() for h in steps] for steps in hiddens], dtype=torch.float64
    )
    torch.testing.assert_close(out.hidden_grad_norms, expected, rtol=1e-9, atol=0)


def test_spec_round_trips_and_esn_fields_need_the_esn_cell() -> None:
    """A stored spec is dumped whole and validated again: defaults must not count as set."""
    for spec in (small_spec(), small_spec(cell="esn", esn={"leak_rate": 0.5})):
        assert type(spec).model_validate(spec.model_dump()) == spec
    with pytest.raises(ValidationError, match="esn cell only"):
        small_spec(esn={"leak_rate": 0.5})
