"""One time step of each cell as a pure function of the projected input and the state.

The formulas are exactly those of torch.nn.RNN / LSTM / GRU (gate order i, f, g, o for the
LSTM and r, z, n for the GRU). `x_proj` is the input projection W_ih x_t + b_ih, computed for
all time steps at once: (B, gates * H). gradcore.statemap builds each layer's recurrent map
s_t = F(p_t, s_{t-1}) from these functions for the map probes (Jacobian norms, Lyapunov
exponents). The training loop's unrolled path steps ATen's cell functions instead
(gradcore.layers.ATEN_CELLS: the same functions, with fewer intermediates saved for the
backward pass), except for IndRNN, which has no ATen cell and steps `indrnn_step`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# A cell's recurrent state: h for RNN/GRU/IndRNN, (h, c) for the LSTM.
State = Tensor | tuple[Tensor, Tensor]


def rnn_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor, relu: bool) -> Tensor:
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return torch.relu(pre) if relu else torch.tanh(pre)


def lstm_step(
    x_proj: Tensor, state: tuple[Tensor, Tensor], w_hh: Tensor, b_hh: Tensor
) -> tuple[Tensor, Tensor]:
    h, c = state
    gates = x_proj + F.linear(h, w_hh, b_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_step(x_proj: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor) -> Tensor:
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)  # each (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales W_hn h + b_hn, as in PyTorch
    return (1 - z) * n + z * h


def indrnn_step(x_proj: Tensor, h: Tensor, u: Tensor) -> Tensor:
    # Hadamard recurrence: each unit sees only its own past, h_t = relu(W x_t + u * h_{t-1} + b).
    return torch.relu(x_proj + u * h)


def hidden_of(state: State) -> Tensor:
    return state[0] if isinstance(state, tuple) else state


def detach_state(state: State) -> State:
    if isinstance(state, tuple):
        return (state[0].detach(), state[1].detach())
    return state.detach()
