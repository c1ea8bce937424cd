"""uRNN (Arjovsky, Shah and Bengio 2016) in its structured form: a complex state h (B, N) and

    h_t = modrelu(W h_{t-1} + V x_t, b),   W = D3 R2 F^-1 D2 P R1 F D1

with D_k = diag(exp(i theta_k)) learned phases, R_k = I - 2 v v^* / |v|^2 learned complex
reflections, P a fixed random permutation and F the unitary DFT (torch.fft, norm "ortho").
Every factor is unitary, so W is, whatever the parameters: |W h| = |h| and every eigenvalue of
W lies on the unit circle. W is never formed: applying it costs O(N log N).

hidden_size counts real numbers: N = hidden_size / 2 complex units, and the layer's output
(what the next layer and the readout read) is the state's real view [Re h_1, Im h_1, Re h_2,
...] (B, hidden_size), as the paper's readout reads both parts. dL/dh_t is over the complex
state, the norm of its real view (gradcore.probes.state_grad_norm). No fused kernel has this
recurrence: both paths run the loop.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gradcore.layers import unroll
from gradcore.probes import Recorder, eigenvalues


def complex_modrelu(z: Tensor, bias: Tensor) -> Tensor:
    """relu(|z| + b) z / |z| element-wise (B, N) complex: the phase is kept, the modulus
    thresholded by the learned b (N,). sgn(0) = 0, so a zero unit stays zero."""
    return torch.relu(z.abs() + bias) * torch.sgn(z)


def reflect(h: Tensor, v: Tensor) -> Tensor:
    """(I - 2 v v^* / |v|^2) applied to each row of h (B, N)."""
    projection = (h * v.conj()).sum(dim=-1, keepdim=True) / (v.abs() ** 2).sum()
    return h - 2 * projection * v


class URNNLayer(nn.Module):
    cell = "urnn"
    gates = 1
    recurrent_name = "weight_hh"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        units = hidden_size // 2
        self.hidden_size, self.units = hidden_size, units
        self.phases = nn.Parameter(torch.empty(3, units).uniform_(-math.pi, math.pi))
        bound = math.sqrt(
            3 / units
        )  # unit-variance entries on average, as |v| only sets a direction
        self.reflections = nn.Parameter(torch.empty(2, 2, units).uniform_(-bound, bound))
        self.register_buffer("permutation", torch.randperm(units))
        # Glorot-uniform V over (in, 2N) real numbers, the paper's input init.
        limit = math.sqrt(6 / (input_size + hidden_size))
        self.weight_ih = nn.Parameter(torch.empty(2, units, input_size).uniform_(-limit, limit))
        self.bias = nn.Parameter(torch.empty(units).uniform_(-0.01, 0.01))

    def recur(self, h: Tensor) -> Tensor:
        """W h for each row of h (B, N) complex, factor by factor from the right."""
        d1, d2, d3 = torch.polar(torch.ones_like(self.phases), self.phases).unbind(0)
        v1, v2 = torch.complex(self.reflections[:, 0], self.reflections[:, 1]).unbind(0)
        h = torch.fft.fft(h * d1, norm="ortho")
        h = reflect(h, v1)[..., self.permutation] * d2
        return reflect(torch.fft.ifft(h, norm="ortho"), v2) * d3

    def forward(
        self,
        x: Tensor,
        state: Tensor | None,
        recorder: Recorder | None = None,
        layer: int = 0,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, tuple[Tensor, Tensor]]:
        """x (T, B, in) -> the real view of the states (T, B, 2N) (None without keep_sequence)
        and the state (real view of h_T, h_T): the first is what a last-step readout reads
        (gradcore.cells.hidden_of), the second what the recurrence carries."""
        weight = torch.complex(self.weight_ih[0], self.weight_ih[1])
        x_proj = x.to(weight.dtype) @ weight.T  # (T, B, N) complex
        h = x_proj.new_zeros(x.shape[1], self.units) if state is None else state[1]
        states, final = unroll(
            x_proj,
            h,
            lambda x_t, h_prev: complex_modrelu(self.recur(h_prev) + x_t, self.bias),
            recorder,
            layer,
            t_offset,
            keep_sequence,
        )
        assert isinstance(final, Tensor)
        return (None if states is None else self.features(states)), (self.features(final), final)

    def features(self, h: Tensor) -> Tensor:
        """(..., N) complex -> (..., 2N) real: [Re h_1, Im h_1, Re h_2, ...]."""
        return torch.view_as_real(h).flatten(-2)

    def matrix(self) -> Tensor:
        """W as an (N, N) complex matrix: the map applied to the identity's columns."""
        eye = torch.eye(self.units, dtype=self.phases.dtype, device=self.phases.device)
        return self.recur(eye * (1 + 0j)).T  # row i of recur(I) is W e_i, column i of W

    def recurrent_blocks(self) -> list[Tensor]:
        return [self.matrix().detach()]

    def eigenvalues(self) -> Tensor:
        """(N,) complex: the spectrum of W, on the unit circle."""
        return eigenvalues(self.matrix())

    def constrain(self) -> None:
        """Nothing to enforce: W is unitary by construction."""
