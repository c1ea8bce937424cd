"""training.checkpoint recomputes segments in the backward pass: the same loss, gradients and
|dL/dh_t| as without it, for every cell, full and truncated BPTT, probed or not."""

from __future__ import annotations

import pytest
import torch

from gradcore.spec import TrainingSpec
from gradcore.step import forward_backward
from tests.gradcore.helpers import param_grads, setup, small_spec


@pytest.mark.parametrize("cell", ["tanh", "relu", "lstm", "gru", "indrnn"])
@pytest.mark.parametrize(
    ("task", "mode"), [("adding", "bptt"), ("copy", "bptt"), ("temporal_order", "tbptt")]
)
@pytest.mark.parametrize("probe", [False, True])
def test_checkpointing_changes_no_gradient(cell: str, task: str, mode: str, probe: bool) -> None:
    spec = small_spec(cell=cell, task=task, seq_len=17, num_layers=2)
    net, task_data, batch = setup(spec)
    plain = forward_backward(net, task_data, batch, TrainingSpec(mode=mode, tbptt_k=7), probe)
    plain_grads = param_grads(net)
    net.zero_grad()
    training = TrainingSpec(mode=mode, tbptt_k=7, checkpoint=True)
    checkpointed = forward_backward(net, task_data, batch, training, probe)
    torch.testing.assert_close(checkpointed.loss, plain.loss, rtol=0, atol=0)
    for name, grad in param_grads(net).items():
        torch.testing.assert_close(grad, plain_grads[name], rtol=1e-12, atol=1e-15, msg=name)
    if probe:
        torch.testing.assert_close(
            checkpointed.hidden_grad_norms, plain.hidden_grad_norms, rtol=1e-12, atol=0
        )
        assert torch.all(checkpointed.hidden_grad_norms[:, -3:] > 0)  # hooks fired


def test_uoro_rejects_checkpointing() -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        TrainingSpec(mode="uoro", checkpoint=True)
