"""Hessian-free optimisation with structural damping (Martens 2010; Martens & Sutskever 2011).

Each step solves (G + lambda I + mu lambda S) d = -g by conjugate gradient, at most cg_max_iters
iterations, where on the step's batch
- G = J_z^T H_L J_z is the Gauss-Newton matrix: J_z the Jacobian of the outputs z in the
  parameters, H_L the loss's Hessian in z (positive semi-definite for MSE and cross-entropy);
- S = J_h^T J_h / B is structural damping: the Gauss-Newton matrix of half the mean squared
  change of every hidden state, so a step that would swing the hidden dynamics is penalised
  even where the loss barely sees it.
Products are matrix-free: one jvp (J v for z and h together) and one vjp per CG iteration.
lambda follows Levenberg-Marquardt on rho = actual / predicted reduction (G's quadratic model).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp, vjp

from gradcore.model import Network
from gradcore.result import HessianFreeTrace
from gradcore.spec import LIMITS, OptimizerSpec
from gradcore.tasks.base import Batch, TaskData

CG_TOLERANCE = 1e-6  # CG stops early once |residual| <= this * |g|
WARM_START = 0.95  # CG starts from this fraction of the previous step's solution (Martens)


class _HiddenStates:
    """A recorder (gradcore.probes.Recorder) that keeps every hidden state the forward pass
    shows it, for the structural damping term."""

    def __init__(self) -> None:
        self.hiddens: list[Tensor] = []

    def watch(self, hidden: Tensor, layer: int, t: int) -> None:
        self.hiddens.append(hidden)


class _Outputs(nn.Module):
    """inputs -> (readout outputs z, every hidden state flattened): the function HF linearises."""

    def __init__(self, net: Network, every_step: bool) -> None:
        super().__init__()
        self.net = net
        self.every_step = every_step

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor]:
        states = _HiddenStates()
        # The unrolled path: forward-mode AD goes through its per-step cells.
        features, _ = self.net(inputs, None, states, unrolled=True)
        outputs = self.net.readout(features if self.every_step else features[-1])
        return outputs, torch.cat([h.flatten() for h in states.hiddens])


class HessianFree:
    """The optimizer: zero_grad() as torch's, then step(step, task, batch, loss) once the
    gradient of `loss` on `batch` is in .grad; `step` is the training step, for the history."""

    def __init__(self, spec: OptimizerSpec, net: Network) -> None:
        self.spec = spec
        self.params = {name: p for name, p in net.named_parameters() if p.requires_grad}
        self.model = _Outputs(net, every_step=False)
        self.damping = spec.damping
        self.previous: Tensor | None = None
        self.history = HessianFreeTrace(
            step=[], cg_iterations=[], damping=[], reduction_ratio=[], accepted=[]
        )

    def zero_grad(self, set_to_none: bool = False) -> None:
        for p in self.params.values():
            p.grad = None if set_to_none else torch.zeros_like(p)

    def _split(self, flat: Tensor) -> list[Tensor]:
        """One flat vector over all parameters -> one tensor per parameter, shaped like it."""
        pieces = flat.split([p.numel() for p in self.params.values()])
        return [piece.view_as(p) for p, piece in zip(self.params.values(), pieces, strict=True)]

    def _as_params(self, flat: Tensor) -> dict[str, Tensor]:
        pieces = zip(self.params, self._split(flat), strict=True)
        return {"net." + name: piece for name, piece in pieces}

    @torch.no_grad()
    def step(self, step: int, task: TaskData, batch: Batch, loss: float) -> None:
        self.model.every_step = task.every_step
        theta = torch.cat([p.detach().flatten() for p in self.params.values()])
        grad = torch.cat([p.grad.flatten() for p in self.params.values()])

        def outputs(flat: Tensor) -> tuple[Tensor, Tensor]:
            return functional_call(self.model, self._as_params(flat), (batch.inputs,))

        (z, hiddens), pull = vjp(outputs, theta)
        # H_L is symmetric, so H_L u is the vjp of the loss's gradient in z (reverse over reverse).
        _, loss_hvp = vjp(torch.func.grad(lambda out: task.loss(out, batch.targets)), z)
        hidden_scale = self.spec.structural_damping * self.damping / batch.inputs.shape[1]

        def curvature(v: Tensor, damped: bool) -> Tensor:
            _, (jz, jh) = jvp(outputs, (theta,), (v,))
            (hz,) = loss_hvp(jz)
            if not damped:
                return pull((hz, torch.zeros_like(hiddens)))[0]
            return pull((hz, hidden_scale * jh))[0] + self.damping * v

        direction, iterations = self._conjugate_gradient(lambda v: curvature(v, True), -grad)
        self.previous = direction
        d = self.spec.lr * direction
        predicted = float(grad @ d + 0.5 * d @ curvature(d, False))
        new_loss = float(task.loss(outputs(theta + d)[0], batch.targets))
        # No predicted decrease, or a trial loss that overflowed: the model failed, rho = 0.
        useful = predicted < 0 and math.isfinite(new_loss)
        rho = (new_loss - loss) / predicted if useful else 0.0
        accepted = new_loss < loss
        if accepted:
            torch._foreach_add_(list(self.params.values()), self._split(d))
        self._record(step, iterations, rho, accepted)

    def _record(self, step: int, iterations: int, rho: float, accepted: bool) -> None:
        trace = self.history
        trace.step.append(step)
        trace.cg_iterations.append(iterations)
        trace.damping.append(self.damping)
        trace.reduction_ratio.append(rho)
        trace.accepted.append(accepted)
        # Levenberg-Marquardt: trust the quadratic model more when it predicted well.
        if rho < 0.25:
            self.damping = min(self.damping * 1.5, LIMITS["damping_max"])
        elif rho > 0.75:
            self.damping *= 2 / 3

    def _conjugate_gradient(
        self, matvec: Callable[[Tensor], Tensor], b: Tensor
    ) -> tuple[Tensor, int]:
        """Solve A x = b from the warm start; at most cg_max_iters products. Returns x and the
        iterations used."""
        x = torch.zeros_like(b) if self.previous is None else WARM_START * self.previous
        residual = b - matvec(x)
        search = residual.clone()
        squared = residual @ residual
        stop = (CG_TOLERANCE * torch.linalg.vector_norm(b)) ** 2
        iterations = 0
        while iterations < self.spec.cg_max_iters and squared > stop:
            product = matvec(search)
            alpha = squared / (search @ product)
            x += alpha * search
            residual -= alpha * product
            new_squared = residual @ residual
            search = residual + (new_squared / squared) * search
            squared = new_squared
            iterations += 1
        return x, iterations
