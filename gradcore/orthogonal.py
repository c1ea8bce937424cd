"""expRNN (Lezcano-Casado and Martinez-Rubio 2019): an RNN whose recurrent matrix is orthogonal
by construction, h_t = modrelu(W_hh h_{t-1} + W_ih x_t, b) with W_hh = exp(A) (or the Cayley
map of A) and A skew-symmetric. The optimizer updates A's free entries, so W_hh stays exactly
orthogonal after every update, with no projection step.

PyTorch's own `torch.nn.utils.parametrizations.orthogonal` computes the map (without its
dynamic trivialisation, so W_hh is the map of A itself, as in the paper). Its raw parameter X
holds A as X.tril() - X.tril()^T. No fused kernel has this recurrence: both paths run the loop.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import orthogonal

from gradcore.layers import unroll
from gradcore.probes import Recorder, eigenvalues
from gradcore.spec import ExpRNNSpec


def modrelu(z: Tensor, bias: Tensor) -> Tensor:
    """modReLU (Arjovsky et al. 2016) on a real z: sign(z) relu(|z| + b), element-wise. It keeps
    a unit's sign and shrinks its magnitude by the learned threshold b (B, H) -> (B, H)."""
    return torch.sign(z) * torch.relu(z.abs() + bias)


@torch.no_grad()
def henaff_generator(hidden_size: int) -> Tensor:
    """(H, H) lower-triangular X whose skew part A = X - X^T is block-diagonal with 2x2 blocks
    [[0, -s], [s, 0]], s ~ U(-pi, pi) (Henaff et al. 2016, the expRNN paper's init): exp(A) is
    a rotation by s in each plane, eigenvalues spread uniformly on the unit circle."""
    generator = torch.zeros(hidden_size, hidden_size)
    angles = torch.empty(hidden_size // 2).uniform_(-math.pi, math.pi)
    index = torch.arange(hidden_size // 2)
    generator[2 * index + 1, 2 * index] = angles
    return generator


class ExpRNNLayer(nn.Module):
    cell = "exprnn"
    gates = 1
    recurrent_name = "weight_hh"

    def __init__(self, input_size: int, hidden_size: int, spec: ExpRNNSpec) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        # The paper's init: He-normal input weights, modReLU thresholds U(-0.01, 0.01).
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        nn.init.kaiming_normal_(self.weight_ih, nonlinearity="relu")
        self.bias = nn.Parameter(torch.empty(hidden_size).uniform_(-0.01, 0.01))
        self.weight_hh = nn.Parameter(henaff_generator(hidden_size))
        orthogonal(self, "weight_hh", orthogonal_map=spec.orthogonal_map, use_trivialization=False)

    def step(self, x_proj: Tensor, h: Tensor, w_hh: Tensor) -> Tensor:
        """(B, H) input projection and state -> the next state (B, H)."""
        return modrelu(x_proj + h @ w_hh.T, self.bias)

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
    ) -> tuple[Tensor | None, Tensor]:
        """As FusedLayer.forward, unrolled either way: no fused kernel has this recurrence."""
        w_hh = self.weight_hh  # the map is evaluated once per call, not once per step
        x_proj = x @ self.weight_ih.T  # (T, B, H)
        h = x.new_zeros(x.shape[1], self.hidden_size) if state is None else state
        return unroll(
            x_proj,
            h,
            lambda x_t, h_prev: self.step(x_t, h_prev, w_hh),
            recorder,
            layer,
            t_offset,
            keep_sequence,
        )

    def recurrent_blocks(self) -> list[Tensor]:
        return [self.weight_hh.detach()]

    def eigenvalues(self) -> Tensor:
        """(H,) complex: the spectrum of W_hh, on the unit circle."""
        return eigenvalues(self.weight_hh)

    def constrain(self) -> None:
        """Nothing to enforce: W_hh is orthogonal by construction."""
