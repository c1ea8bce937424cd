"""The fused kernels and the hooked unrolled loop compute the same loss and gradients."""

from __future__ import annotations

import pytest
import torch

from gradcore import layers
from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, setup, small_spec


@pytest.mark.parametrize("cell", ["tanh", "relu", "irnn", "lstm", "gru", "indrnn"])
@pytest.mark.parametrize(
    ("task", "training"),
    [
        ("adding", TrainingSpec()),
        ("copy", TrainingSpec()),
        ("temporal_order", TrainingSpec(mode="tbptt", tbptt_k=4)),
        ("copy", TrainingSpec(mode="tbptt", tbptt_k=7)),
    ],
)
def test_fused_and_unrolled_agree(
    cell: str, task: str, training: TrainingSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layers, "FUSED_ON_CPU", frozenset(layers.GATES))  # CPU: every cell fused
    spec = small_spec(cell=cell, task=task, seq_len=10, num_layers=2)
    net, task_data, batch = setup(spec)
    fused = forward_backward(net, task_data, batch, training, probe=False)
    fused_grads = param_grads(net)
    net.zero_grad()
    unrolled = forward_backward(net, task_data, batch, training, probe=True)
    assert fused.hidden_grad_norms is None
    torch.testing.assert_close(unrolled.loss, fused.loss, rtol=1e-12, atol=0)
    torch.testing.assert_close(unrolled.metric, fused.metric)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, fused_grads[name], rtol=1e-9, atol=1e-12, msg=name)


def test_mlp_probe_does_not_change_gradients() -> None:
    spec = small_spec(cell="mlp", task="pixel_digits", seq_len=64, num_layers=4)
    net, task, batch = setup(spec)
    plain = forward_backward(net, task, batch, spec.training, probe=False)
    plain_grads = param_grads(net)
    net.zero_grad()
    probed = forward_backward(net, task, batch, spec.training, probe=True)
    assert probed.hidden_grad_norms.shape == (4, 1)
    torch.testing.assert_close(probed.loss, plain.loss)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, plain_grads[name], msg=name)


def test_mlp_layer_norms_match_retain_grad() -> None:
    spec = small_spec(cell="mlp", task="pixel_digits", seq_len=64, num_layers=5)
    net, task, batch = setup(spec)
    probed = forward_backward(net, task, batch, spec.training, probe=True)
    h = batch.inputs.squeeze(-1).T
    hiddens = []
    for linear in net.layers:
        h = torch.sigmoid(h @ linear.weight.T + linear.bias)
        h.retain_grad()
        hiddens.append(h)
    task.loss(net.readout(h), batch.targets).backward()
    expected = torch.tensor([[h.grad.norm().item()] for h in hiddens], dtype=torch.float64)
    torch.testing.assert_close(probed.hidden_grad_norms, expected, rtol=1e-9, atol=0)
    # The depth picture: the first layer's gradient is smaller than the last's.
    assert expected[0, 0] < expected[-1, 0]


@pytest.mark.parametrize("cell", sorted(set(layers.GATES) - layers.FUSED_ON_CPU))
def test_cpu_steps_without_probes_run_the_same_loop(cell: str) -> None:
    """On the CPU a probe changes nothing, bit for bit: both steps run the same cells."""
    spec = small_spec(cell=cell, seq_len=10, num_layers=2)
    net, task, batch = setup(spec)
    plain = forward_backward(net, task, batch, spec.training, probe=False)
    plain_grads = param_grads(net)
    net.zero_grad()
    probed = forward_backward(net, task, batch, spec.training, probe=True)
    assert torch.equal(probed.loss, plain.loss)
    for name, grad in param_grads(net).items():
        assert torch.equal(grad, plain_grads[name]), name
