"""The CNN depth demo: one |dL/dh_l| per conv layer, equal to plain autograd's, and a mean
|delta W| per kernel."""

from __future__ import annotations

import pytest
import torch

import gradcore
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, setup, small_spec


def cnn_spec(**overrides: object) -> gradcore.ExperimentSpec:
    fields: dict[str, object] = {"task": "pixel_digits", "seq_len": 64, "num_layers": 5}
    return small_spec(cell="cnn", **(fields | overrides))


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_layer_norms_match_retain_grad(activation: str) -> None:
    spec = cnn_spec(activation=activation)
    net, task, batch = setup(spec)
    probed = forward_backward(net, task, batch, spec.training, probe=True)
    probed_grads = param_grads(net)
    net.zero_grad()
    h = batch.inputs.squeeze(-1).T.reshape(-1, 1, 8, 8)
    hiddens = []
    for conv in net.layers:
        pre = torch.nn.functional.conv2d(h, conv.weight, conv.bias, padding=1)
        h = torch.sigmoid(pre) if activation == "sigmoid" else torch.relu(pre)
        h.retain_grad()
        hiddens.append(h)
    task.loss(net.readout(h.mean(dim=(2, 3))), batch.targets).backward()
    expected = torch.tensor([[h.grad.norm().item()] for h in hiddens], dtype=torch.float64)
    assert probed.hidden_grad_norms.shape == (5, 1)
    torch.testing.assert_close(probed.hidden_grad_norms, expected, rtol=1e-9, atol=0)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, probed_grads[name], msg=name)
    if activation == "sigmoid":
        # The depth picture: the first layer's gradient is far below the last's.
        assert expected[0, 0] < 0.1 * expected[-1, 0]


def test_run_records_one_norm_and_one_weight_change_per_layer() -> None:
    result = gradcore.run(cnn_spec(num_layers=3, steps=3, probe_every=1))
    assert result.hidden_grad.time_steps == 1
    assert result.hidden_grad.layers == ["layer0", "layer1", "layer2"]
    assert [[len(curve) for curve in probe] for probe in result.hidden_grad.norm] == [[1] * 3] * 3
    kernels = {f"layer{i}.weight" for i in range(3)} | {"readout.weight"}
    assert set(result.weight_change.per_layer) == kernels
    assert all(len(values) == 3 for values in result.weight_change.per_layer.values())
    assert all(values[0] > 0 for values in result.weight_change.per_layer.values())
