"""Each recurrent layer's map s_t = F(p_t, s_{t-1}) as a pure function, with its trajectory.

p_t is the layer's input projection at step t; it comes from the layer below, which does not
depend on this layer's state, so dh_T/dh_t within a layer is a product of this map's Jacobians.
The state is h, or for the LSTM (h, c) concatenated to (B, 2H): the map that carries memory.
The functions close over detached weights: torch.func differentiates them in the state only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gradcore.cells import gru_step, indrnn_step, lstm_step, rnn_step
from gradcore.esn import ESNLayer
from gradcore.layers import IndRNNLayer
from gradcore.recurrent import RecurrentNet

Step = Callable[[Tensor, Tensor], Tensor]  # (p_t (B, G), s_{t-1} (B, N)) -> s_t (B, N)


@dataclass(frozen=True)
class LayerTrajectory:
    step: Step
    x_proj: Tensor  # (T, B, G): p_t for every t
    states: Tensor  # (T + 1, B, N): states[0] the zero start state, states[t + 1] = s_t


def _projection_and_step(layer: torch.nn.Module) -> tuple[Callable[[Tensor], Tensor], Step]:
    if isinstance(layer, ESNLayer):
        return layer.project, layer.step
    if isinstance(layer, IndRNNLayer):
        w_ih, bias, u = layer.weight_ih.detach(), layer.bias.detach(), layer.u.detach()
        return (lambda x: F.linear(x, w_ih, bias)), (lambda p, h: indrnn_step(p, h, u))
    rnn = layer.rnn
    w_ih, b_ih = rnn.weight_ih_l0.detach(), rnn.bias_ih_l0.detach()
    w_hh, b_hh = rnn.weight_hh_l0.detach(), rnn.bias_hh_l0.detach()

    def step(p: Tensor, s: Tensor) -> Tensor:
        if layer.cell == "lstm":
            h, c = s.chunk(2, dim=-1)
            return torch.cat(lstm_step(p, (h, c), w_hh, b_hh), dim=-1)
        if layer.cell == "gru":
            return gru_step(p, s, w_hh, b_hh)
        return rnn_step(p, s, w_hh, b_hh, relu=layer.cell != "tanh")

    return (lambda x: F.linear(x, w_ih, b_ih)), step


@torch.no_grad()
def layer_trajectories(net: RecurrentNet, inputs: Tensor) -> list[LayerTrajectory]:
    """Run `inputs` (T, B, input_size) through every layer from zero states."""
    trajectories = []
    x = inputs
    for layer in net.layers:
        project, step = _projection_and_step(layer)
        x_proj = project(x)
        state_size = layer.hidden_size * (2 if layer.cell == "lstm" else 1)
        states = [x.new_zeros(x.shape[1], state_size)]
        for p_t in x_proj.unbind(0):
            states.append(step(p_t, states[-1]))
        stacked = torch.stack(states)
        trajectories.append(LayerTrajectory(step, x_proj, stacked))
        x = stacked[1:, :, : layer.hidden_size]  # the next layer reads h (the LSTM's first half)
    return trajectories


def push_forward(path: LayerTrajectory, j: int, tangents: Tensor) -> Tensor:
    """(A, B, N) tangents at s_{j-1} -> the step-j Jacobian applied to each: (A, B, N)."""
    count = tangents.shape[0]

    def fold(t: Tensor) -> Tensor:  # (B, D) -> (A * B, D): each row of a step is independent
        return t.expand(count, *t.shape).reshape(-1, t.shape[-1])

    x_j, s_j = fold(path.x_proj[j]), fold(path.states[j])
    # One jvp over the folded batch: much faster than vmap over the A tangents.
    _, pushed = torch.func.jvp(lambda s: path.step(x_j, s), (s_j,), (tangents.reshape(s_j.shape),))
    return pushed.reshape(tangents.shape)


def pull_back(path: LayerTrajectory, j: int, cotangents: Tensor) -> Tensor:
    """(A, B, N) cotangents at s_j -> each times the step-j Jacobian, at s_{j-1}: (A, B, N)."""
    _, vjp = torch.func.vjp(lambda s: path.step(path.x_proj[j], s), path.states[j])
    return torch.func.vmap(vjp)(cotangents)[0]
