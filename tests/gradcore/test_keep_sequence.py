"""Last-step tasks run the network with keep_sequence=False (the top layer stacks no (T, B, H)
sequence): the loss, gradients and |dL/dh_t| are bit for bit those of keeping it."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor

from gradcore import layers
from gradcore.model import RecurrentNet
from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, setup, small_spec


@pytest.mark.parametrize("cell", ["tanh", "relu", "lstm", "gru", "indrnn", "esn"])
@pytest.mark.parametrize(
    ("task", "training"),
    [
        ("adding", TrainingSpec()),
        ("temporal_order", TrainingSpec(mode="tbptt", tbptt_k=7)),
        ("adding", TrainingSpec(checkpoint=True)),
    ],
)
@pytest.mark.parametrize("probe", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_dropping_the_sequence_changes_nothing(
    cell: str,
    task: str,
    training: TrainingSpec,
    probe: bool,
    fused: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if fused:
        monkeypatch.setattr(layers, "FUSED_ON_CPU", frozenset(layers.GATES))
    spec = small_spec(cell=cell, task=task, seq_len=17, num_layers=2)
    net, task_data, batch = setup(spec)
    dropped = forward_backward(net, task_data, batch, training, probe)
    dropped_grads = param_grads(net)
    net.zero_grad()

    forward = RecurrentNet.forward

    def keeping(self: RecurrentNet, *args: Any, **kwargs: Any) -> tuple[Tensor | None, Any]:
        if len(args) == 5:  # (x, states, recorder, t_offset, keep_sequence) positionally
            args = args[:4]
        kwargs.pop("keep_sequence", None)
        return forward(self, *args, keep_sequence=True, **kwargs)

    monkeypatch.setattr(RecurrentNet, "forward", keeping)
    kept = forward_backward(net, task_data, batch, training, probe)
    torch.testing.assert_close(dropped.loss, kept.loss, rtol=0, atol=0)
    torch.testing.assert_close(dropped.metric, kept.metric, rtol=0, atol=0)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, dropped_grads[name], rtol=0, atol=0, msg=name)
    if probe:
        torch.testing.assert_close(
            dropped.hidden_grad_norms, kept.hidden_grad_norms, rtol=0, atol=0
        )
        assert torch.all(dropped.hidden_grad_norms[:, -3:] > 0)  # hooks fired
    else:
        assert dropped.hidden_grad_norms is None


@pytest.mark.parametrize("cell", ["tanh", "lstm", "indrnn", "esn"])
def test_only_the_top_layer_drops_its_sequence(cell: str) -> None:
    spec = small_spec(cell=cell, seq_len=9, num_layers=3)
    net, _, batch = setup(spec)
    assert isinstance(net, RecurrentNet)
    kept, kept_states = net(batch.inputs, None)
    dropped, dropped_states = net(batch.inputs, None, keep_sequence=False)
    assert kept.shape == (9, spec.batch_size, spec.hidden_size)
    assert dropped is None
    # States are tensors or (h, c) tuples; assert_close compares either, element by element.
    torch.testing.assert_close(dropped_states, kept_states, rtol=0, atol=0)
