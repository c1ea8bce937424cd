"""Recurrent layers with two paths over the same parameters.

- fused: one call to nn.RNN / nn.LSTM / nn.GRU (cuDNN on GPU); fast, hides dL/dh_t.
- unrolled: a Python loop over ATen's cell functions (the steps nn.RNN / nn.LSTM / nn.GRU run
  on the CPU), which can show every h_t to a recorder.

The caller picks the path: `unrolled=True` runs the loop, as a recorder's hooks on h_t and
forward-mode AD (UORO, Hessian-free) need; `unrolled=False` runs the faster path on the device:
fused on the GPU, and on the CPU the loop but for the cells in FUSED_ON_CPU. IndRNN has only the
loop. Both take x (T, B, input_size) time-major and a state (or None for zeros) and return the
hidden sequence (T, B, H) and the final state, so truncated BPTT can carry it across chunks.
With keep_sequence=False the sequence is not stacked and None is returned in its place: a
last-step task reads only the top layer's final state, and the stacked (T, B, H) copy would
otherwise be allocated every step (156 MiB at T = 5000, B = 64, H = 128).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch
from torch import Tensor, nn

from gradcore.cells import State, hidden_of, indrnn_step
from gradcore.probes import Recorder, eigenvalues

GATES = {"tanh": 1, "relu": 1, "irnn": 1, "lstm": 4, "gru": 3}
# One time step each: (x_t (B, in), state, w_ih, w_hh, b_ih, b_hh) -> the next state. The same
# functions as nn.RNNCell / LSTMCell / GRUCell; they project x_t themselves and save fewer
# intermediates for the backward pass than the formulas written out in Python (GRU, T = 2000,
# B = 64, H = 128: 575 MiB peak against 1136) and run faster on the CPU.
ATEN_CELLS = {
    "tanh": torch.rnn_tanh_cell,
    "relu": torch.rnn_relu_cell,
    "irnn": torch.rnn_relu_cell,
    "lstm": torch.lstm_cell,
    "gru": torch.gru_cell,
}
# On the CPU nn.RNN / LSTM / GRU step these same cells in C++, yet for tanh/relu and the GRU the
# loop below measures faster (B = 64, H = 128, T = 1000, 2 threads: GRU 305 against 424 ms a
# training step; T = 5000: tanh 558 against 810), so their CPU steps run it with or without
# probes. The fused LSTM is the faster with 2 threads (T = 5000: 1583 against 1852 ms). On the
# GPU the fused kernels (cuDNN) are far faster. Tests widen this to compare both paths.
FUSED_ON_CPU: frozenset[str] = frozenset({"lstm"})


def public_name(module_path: str) -> str:
    """'layers.0.rnn.weight_ih_l0' -> 'layer0.weight_ih'; 'readout.weight' unchanged."""
    name = re.sub(r"^layers\.(\d+)\.(?:rnn\.)?", r"layer\1.", module_path)
    # expRNN's orthogonal W_hh is computed from a raw matrix holding its skew generator.
    name = re.sub(r"parametrizations\.(\w+)\.original$", r"\1_skew", name)
    return re.sub(r"_l0$", "", name)


def public_weights(net: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """A network's parameters by public name, in registration order (every network's
    `named_weights`)."""
    return [(public_name(path), p) for path, p in net.named_parameters()]


def unroll(
    inputs: Tensor,
    state: State,
    step: Callable[[Tensor, State], State],
    recorder: Recorder | None,
    layer: int,
    t_offset: int,
    keep_sequence: bool,
) -> tuple[Tensor | None, State]:
    """The loop every unrolled layer runs: step through inputs (T, B, F) from `state`, hook
    each h_t (B, H) when probing, and stack the sequence (T, B, H) unless told not to."""
    hiddens = []
    # unbind, not inputs[t]: each indexing op's backward would write a full (T, B, F)
    # gradient, making the backward pass O(T^2).
    for t, x_t in enumerate(inputs.unbind(0)):
        state = step(x_t, state)
        h = hidden_of(state)
        if recorder is not None:
            recorder.watch(h, layer, t_offset + t)
        if keep_sequence:
            hiddens.append(h)
    return (torch.stack(hiddens) if keep_sequence else None), state


class FusedLayer(nn.Module):
    """tanh / relu / irnn / lstm / gru: one single-layer PyTorch recurrent module."""

    recurrent_name = "weight_hh"

    def __init__(self, cell: str, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.cell = cell
        self.gates = GATES[cell]
        self.hidden_size = hidden_size
        if cell == "lstm":
            self.rnn: nn.RNNBase = nn.LSTM(input_size, hidden_size)
        elif cell == "gru":
            self.rnn = nn.GRU(input_size, hidden_size)
        else:
            self.rnn = nn.RNN(
                input_size, hidden_size, nonlinearity="tanh" if cell == "tanh" else "relu"
            )

    @property
    def weight_ih(self) -> Tensor:
        return self.rnn.weight_ih_l0  # (gates * H, input_size)

    @property
    def weight_hh(self) -> Tensor:
        return self.rnn.weight_hh_l0  # (gates * H, H)

    def forward(
        self,
        x: Tensor,
        state: State | None,
        recorder: Recorder | None = None,
        layer: int = 0,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, State]:
        if recorder is not None and not unrolled:
            raise ValueError("a recorder watches every h_t, which only the unrolled path has")
        if unrolled or (x.is_cpu and self.cell not in FUSED_ON_CPU):
            return self._unrolled(x, state, recorder, layer, t_offset, keep_sequence)
        out, final = self._fused(x, state)
        # The fused kernel writes the sequence anyway; dropping it keeps one contract.
        return (out if keep_sequence else None), final

    def _fused(self, x: Tensor, state: State | None) -> tuple[Tensor, State]:
        # nn.RNN wants states as (num_layers=1, B, H).
        if state is not None:
            state = (state[0][None], state[1][None]) if isinstance(state, tuple) else state[None]
        out, final = self.rnn(x, state)
        if isinstance(final, tuple):
            return out, (final[0][0], final[1][0])
        return out, final[0]

    def _unrolled(
        self,
        x: Tensor,
        state: State | None,
        recorder: Recorder | None,
        layer: int,
        t_offset: int,
        keep_sequence: bool,
    ) -> tuple[Tensor | None, State]:
        rnn = self.rnn
        step = ATEN_CELLS[self.cell]
        weights = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
        if state is None:
            zeros = x.new_zeros(x.shape[1], self.hidden_size)
            state = (zeros, zeros) if self.cell == "lstm" else zeros
        return unroll(
            x,
            state,
            lambda x_t, s: step(x_t, s, *weights),
            recorder,
            layer,
            t_offset,
            keep_sequence,
        )

    def recurrent_blocks(self) -> list[Tensor]:
        """The square (H, H) recurrent block of each gate, in PyTorch's gate order."""
        return list(self.weight_hh.detach().chunk(self.gates, dim=0))

    def eigenvalues(self) -> Tensor:
        """(H,) complex128: the spectrum of W_hh (one-gate cells; the spec refuses the rest)."""
        return eigenvalues(self.weight_hh)

    def constrain(self) -> None:
        """Nothing to enforce: only IndRNN bounds its weights."""


class IndRNNLayer(nn.Module):
    """IndRNN (Li et al. 2018): h_t = relu(W x_t + u * h_{t-1} + b) with |u_i| <= cap."""

    cell = "indrnn"
    gates = 1
    recurrent_name = "u"

    def __init__(self, input_size: int, hidden_size: int, cap: float) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.cap = cap
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.u = nn.Parameter(torch.empty(hidden_size))

    def forward(
        self,
        x: Tensor,
        state: State | None,
        recorder: Recorder | None = None,
        layer: int = 0,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, State]:
        """As FusedLayer.forward, unrolled either way: no fused kernel has this recurrence."""
        x_proj = torch.nn.functional.linear(x, self.weight_ih, self.bias)  # (T, B, H)
        h = x.new_zeros(x.shape[1], self.hidden_size) if state is None else state
        return unroll(
            x_proj,
            h,
            lambda x_t, h_prev: indrnn_step(x_t, h_prev, self.u),
            recorder,
            layer,
            t_offset,
            keep_sequence,
        )

    def recurrent_blocks(self) -> list[Tensor]:
        # A diagonal matrix: its spectral radius is max |u_i|.
        return [torch.diag(self.u.detach())]

    def eigenvalues(self) -> Tensor:
        """(H,) complex128: u itself, the diagonal recurrence's eigenvalues."""
        return self.u.detach().cpu().to(torch.complex128)

    @torch.no_grad()
    def constrain(self) -> None:
        self.u.clamp_(-self.cap, self.cap)


RecurrentLayer = FusedLayer | IndRNNLayer
