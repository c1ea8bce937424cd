"""Shared test helpers: a small spec, a network and batch built the way run() builds them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gradcore.model import Network
from gradcore.spec import ExperimentSpec
from gradcore.tasks import build_task
from gradcore.tasks.base import Batch, TaskData
from gradcore.train import seeded_network


def small_spec(**overrides: Any) -> ExperimentSpec:
    fields: dict[str, Any] = {
        "cell": "tanh",
        "task": "adding",
        "seq_len": 12,
        "hidden_size": 8,
        "batch_size": 5,
        "steps": 4,
        "probe_every": 2,
    }
    fields.update(overrides)
    return ExperimentSpec(**fields)


def setup(spec: ExperimentSpec) -> tuple[Network, TaskData, Batch]:
    """The seeded network (float64 for tight comparisons) and the first training batch."""
    task = build_task(spec)
    net = seeded_network(spec, task.input_size, task.output_size).double()
    batch = task.train_batch(spec.batch_size, torch.Generator().manual_seed(spec.seed))
    return net, task, Batch(batch.inputs.double(), _as_double(batch.targets))


def _as_double(targets: torch.Tensor) -> torch.Tensor:
    return targets.double() if targets.is_floating_point() else targets


def param_grads(net: Network) -> dict[str, torch.Tensor]:
    return {name: p.grad.detach().clone() for name, p in net.named_weights()}


def torch_cell(layer: Any) -> nn.Module:
    """torch.nn's own *Cell (float64) sharing a fused layer's parameters: an independent
    formula of the step the layer takes."""
    rnn = layer.rnn
    cell_type = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}.get(layer.cell, nn.RNNCell)
    kwargs = {} if layer.cell in ("lstm", "gru") else {"nonlinearity": rnn.nonlinearity}
    cell = cell_type(rnn.input_size, rnn.hidden_size, **kwargs).double()
    cell.weight_ih, cell.weight_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    cell.bias_ih, cell.bias_hh = rnn.bias_ih_l0, rnn.bias_hh_l0
    return cell


def retained_states(layer: Any, x: torch.Tensor) -> list[torch.Tensor]:
    """h_t for t = 0..T-1, each with retain_grad, from stepping torch.nn's own cell sharing the
    layer's parameters over x (T, B, in) (the IndRNN formula for IndRNN layers)."""
    steps: list[torch.Tensor] = []
    if layer.cell == "indrnn":
        h = x.new_zeros(x.shape[1], layer.hidden_size)
        for t in range(x.shape[0]):
            h = torch.relu(x[t] @ layer.weight_ih.T + layer.bias + layer.u * h)
            h.retain_grad()
            steps.append(h)
        return steps
    cell, state = torch_cell(layer), None
    for t in range(x.shape[0]):
        state = cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        h.retain_grad()
        steps.append(h)
    return steps
