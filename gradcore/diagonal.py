"""Diagonal complex linear recurrences: the LRU (Orvieto et al. 2023) and an S4D-style state
space layer (Gu et al. 2022). Both are

    h_t = lam * h_{t-1} + g * (B x_t)          (H,) complex lam and g, B (H, in) complex
    y_t = gelu(Re(C h_t) + D x_t)              C (H, H) complex, D (H, in) real

and differ only in how lam and g are parametrised:

- lru: lam = exp(-exp(nu) + i exp(theta)), (nu, theta) drawn so |lam| is uniform on the ring
  [r_min, r_max] by area and arg(lam) uniform in [0, max_phase]; g = exp(gamma) with gamma
  learned from log sqrt(1 - |lam|^2), the normalisation that keeps E|h_t|^2 = E|Bx|^2 for
  white input.
- s4d: A = -exp(log_a_real) + i a_imag (S4D-Lin: a_real = 1/2, a_imag = pi n), discretised by
  zero-order hold with a learned step dt = exp(log_dt): lam = exp(dt A), g = (lam - 1) / A.
  One state of H complex units reads all input features (a MIMO layer, as S5), rather than
  S4D's H independent single-input channels.

The state h is complex; the layer's output y is real, so the layer stacks and feeds the
readout like any cell. Its state for truncated BPTT is the pair (y_t, h_t): y_t is what a
last-step readout reads (gradcore.cells.hidden_of), h_t what the recurrence carries. Plain
steps on the GPU solve the recurrence with the parallel scan (gradcore.scan); probe steps
(unrolled), and plain steps on the CPU, step it, so a recorder sees every h_t.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gradcore.probes import Recorder
from gradcore.scan import linear_loop, linear_scan
from gradcore.spec import LRUSpec, S4DSpec

# On the CPU the step loop is the faster (forward and backward of the recurrence alone, B = 64,
# H = 128, 2 threads: T = 1000 188 ms against the scan's 1123; T = 5000 1103 against 6071):
# each of its steps is one small fused multiply-add that stays in cache, while every level of
# the scan writes whole (T, B, H) complex tensors. On the GPU the loop pays a kernel launch per
# step and the scan log2(T) levels. Tests set this to compare both paths on the CPU.
SCAN_ON_CPU = False


def _complex_normal(rows: int, cols: int, std: float) -> tuple[nn.Parameter, nn.Parameter]:
    """Real and imaginary parts of a (rows, cols) matrix, each N(0, std^2 / 2)."""
    part = std / math.sqrt(2)
    return (
        nn.Parameter(torch.randn(rows, cols) * part),
        nn.Parameter(torch.randn(rows, cols) * part),
    )


class DiagonalLayer(nn.Module):
    """The shared layer; subclasses define `coefficients` -> (lam, g), each (H,) complex."""

    gates = 1
    recurrent_name = "lambda"

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        # Glorot-like scales: B x_t and Re(C h_t) start with about unit variance per unit.
        self.b_re, self.b_im = _complex_normal(hidden_size, input_size, 1 / math.sqrt(input_size))
        self.c_re, self.c_im = _complex_normal(hidden_size, hidden_size, 1 / math.sqrt(hidden_size))
        self.d = nn.Parameter(torch.randn(hidden_size, input_size) / math.sqrt(input_size))

    def coefficients(self) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(
        self,
        x: Tensor,
        state: tuple[Tensor, Tensor] | None,
        recorder: Recorder | None = None,
        layer: int = 0,
        t_offset: int = 0,
        keep_sequence: bool = True,
        *,
        unrolled: bool = False,
    ) -> tuple[Tensor | None, tuple[Tensor, Tensor]]:
        """x (T, B, in) -> y (T, B, H) (None without keep_sequence) and the state (y_T, h_T)."""
        if recorder is not None and not unrolled:
            raise ValueError("a recorder watches every h_t, which only the unrolled path has")
        lam, gain = self.coefficients()
        b = torch.complex(self.b_re, self.b_im)
        u = gain * (x.to(b.dtype) @ b.T)  # (T, B, H) complex
        start = u.new_zeros(u.shape[1:]) if state is None else state[1]
        if unrolled or (x.is_cpu and not SCAN_ON_CPU):
            states = linear_loop(lam, u, start, recorder, layer, t_offset)
        else:
            states = linear_scan(lam, u, start)
        if keep_sequence:
            outputs = self.readout(states, x)
            return outputs, (outputs[-1], states[-1])
        last = self.readout(states[-1], x[-1])
        return None, (last, states[-1])

    def readout(self, h: Tensor, x: Tensor) -> Tensor:
        """(..., H) complex states and (..., in) inputs -> y (..., H) real."""
        mixed = h.real @ self.c_re.T - h.imag @ self.c_im.T  # Re(C h)
        return torch.nn.functional.gelu(mixed + x @ self.d.T)

    def eigenvalues(self) -> Tensor:
        """(H,) complex: lam, the recurrence's eigenvalues (it is diagonal)."""
        return self.coefficients()[0].detach().to(torch.complex128).cpu()

    def recurrent_blocks(self) -> list[Tensor]:
        # The spectral radius of a diagonal recurrence is max |lam|.
        return [torch.diag(self.coefficients()[0].detach().abs())]

    def constrain(self) -> None:
        """Nothing to enforce: |lam| < 1 by the parametrisation."""


class LRULayer(DiagonalLayer):
    cell = "lru"

    def __init__(self, input_size: int, hidden_size: int, spec: LRUSpec) -> None:
        super().__init__(input_size, hidden_size)
        # Orvieto et al. 2023, Lemma 3.2: |lam|^2 uniform on [r_min^2, r_max^2].
        u1, u2 = torch.rand(hidden_size), torch.rand(hidden_size)
        radius_sq = u1 * (spec.r_max**2 - spec.r_min**2) + spec.r_min**2
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(radius_sq)))
        self.theta_log = nn.Parameter(torch.log(spec.max_phase * u2))
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - radius_sq))

    def coefficients(self) -> tuple[Tensor, Tensor]:
        lam = torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))
        return lam, torch.exp(self.gamma_log).to(lam.dtype)


class S4DLayer(DiagonalLayer):
    cell = "s4d"

    def __init__(self, input_size: int, hidden_size: int, spec: S4DSpec) -> None:
        super().__init__(input_size, hidden_size)
        self.log_a_real = nn.Parameter(torch.full((hidden_size,), math.log(0.5)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(hidden_size, dtype=torch.float32))
        low, high = math.log(spec.dt_min), math.log(spec.dt_max)
        self.log_dt = nn.Parameter(torch.rand(hidden_size) * (high - low) + low)

    def coefficients(self) -> tuple[Tensor, Tensor]:
        a = torch.complex(-torch.exp(self.log_a_real), self.a_imag)
        dt_a = torch.exp(self.log_dt).to(a.dtype) * a
        lam = torch.exp(dt_a)
        return lam, (lam - 1) / a  # zero-order hold: B_bar = A^-1 (exp(dt A) - 1) B
