"""UORO (Tallec & Ollivier 2017): an unbiased, rank-one, forward-mode estimate of the gradient.

The Jacobian ds_t/dtheta is carried as an outer product s~ theta~^T. With random signs nu:
    s~     <- rho0 (ds_t/ds_{t-1}) s~ + rho1 nu            (a jvp in the state)
    theta~ <- theta~ / rho0 + (nu^T ds_t/dtheta) / rho1    (a vjp in the parameters)
E[nu nu^T] = I makes E[s~ theta~^T] = ds_t/dtheta exactly, and the rho's (chosen to balance the
two factors' norms) are even in nu, so they keep the cross terms' expectation at 0. The loss at
step t adds (dl_t/ds_t . s~) theta~ to the gradient; the readout gets its exact gradient.

The state is the whole stack's, over the whole batch, as one vector: one estimate for the batch's
mean loss. Memory is constant in T: nothing of past steps is kept. The estimate accumulates over
the sequence and is applied once per training step like BPTT's gradient, so the two are
estimates of the same quantity and the recorded gradient norms are those of the estimate.

dL/dh_t under UORO: no backward pass exists, so on probe steps an unrolled BPTT pass is run for
the measurement only (its gradient is discarded); the probes show the true gradient flow of the
network being trained, the training uses the estimate.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, jvp, vjp
from torch.utils._pytree import tree_flatten, tree_map

from gradcore.cells import hidden_of
from gradcore.recurrent import RecurrentNet
from gradcore.spec import TrainingSpec
from gradcore.step import StepOutput, forward_backward
from gradcore.tasks.base import Batch, TaskData

EPS = 1e-7  # keeps the rho's finite while s~ and theta~ are still 0 (the paper's epsilon)


def _norm(tree: Any) -> Tensor:
    return torch.sqrt(sum(leaf.pow(2).sum() for leaf in tree_flatten(tree)[0]))


def _rank_one_update(pushed: Any, nu: Any, theta_tilde: Any, nu_theta: Any) -> tuple[Any, Any]:
    """pushed = (ds_t/ds_{t-1}) s~, nu_theta = nu^T ds_t/dtheta -> the new (s~, theta~)."""
    rho0 = torch.sqrt((_norm(theta_tilde) + EPS) / (_norm(pushed) + EPS))
    rho1 = torch.sqrt((_norm(nu_theta) + EPS) / (_norm(nu) + EPS))
    s_tilde = tree_map(lambda js, n: rho0 * js + rho1 * n, pushed, nu)
    theta_tilde = tree_map(lambda tt, nt: tt / rho0 + nt / rho1, theta_tilde, nu_theta)
    return s_tilde, theta_tilde


def zero_states(net: RecurrentNet, batch_size: int, like: Tensor) -> list[Any]:
    """The zero start state of every layer: (B, H), or (h, c) for the LSTM."""
    states: list[Any] = []
    for layer in net.layers:
        h = like.new_zeros(batch_size, layer.hidden_size)
        states.append((h, h.clone()) if layer.cell == "lstm" else h)
    return states


def draw_signs(net: RecurrentNet, batch: Batch, generator: torch.Generator) -> list[Any]:
    """Random +-1 for every state entry at every step: leaves (T, B, H), drawn on the CPU."""
    steps, size = batch.inputs.shape[0], batch.inputs.shape[1]
    shape = zero_states(net, size, batch.inputs)
    return tree_map(
        lambda leaf: (torch.randint(0, 2, (steps, *leaf.shape), generator=generator) * 2 - 1).to(
            leaf
        ),
        shape,
    )


def uoro_gradient(
    net: RecurrentNet, task: TaskData, batch: Batch, signs: list[Any]
) -> tuple[dict[str, Tensor], Tensor, Tensor]:
    """The UORO estimate of d(mean loss)/d(params) by parameter name (net.named_parameters()),
    the loss and the task metric. signs: draw_signs's tree, one +-1 draw per step."""
    inputs, targets = batch.inputs, batch.targets
    steps, size = inputs.shape[0], inputs.shape[1]
    named = {name: p.detach() for name, p in net.named_parameters()}
    readout = {
        name.removeprefix("readout."): p for name, p in named.items() if name.startswith("readout.")
    }
    theta = {name: p for name, p in named.items() if not name.startswith("readout.")}
    # The unrolled path: forward-mode AD goes through its per-step cells; fused kernels may not.
    unrolled = {"unrolled": True}

    def transition(params: dict[str, Tensor], states: list[Any], t: int) -> list[Any]:
        return functional_call(net, params, (inputs[t : t + 1], states, None, t), unrolled)[1]

    def step_loss(states: list[Any], weights: dict[str, Tensor], t: int) -> tuple[Tensor, Tensor]:
        logits = functional_call(net.readout, weights, (hidden_of(states[-1]),))  # (B, C)
        if task.every_step:
            loss = task.loss(logits[None], targets[t : t + 1], reduction="sum") / (steps * size)
        else:
            loss = task.loss(logits, targets)
        return loss, logits

    states = zero_states(net, size, inputs)
    s_tilde = tree_map(torch.zeros_like, states)
    theta_tilde = tree_map(torch.zeros_like, theta)
    grads = {name: torch.zeros_like(p) for name, p in named.items()}
    total_loss, all_logits = inputs.new_zeros(()), []
    for t in range(steps):
        nu = tree_map(lambda leaf, t=t: leaf[t], signs)
        new_states, pushed = jvp(lambda s, t=t: transition(theta, s, t), (states,), (s_tilde,))
        _, pull = vjp(lambda p, t=t, s=states: transition(p, s, t), theta)
        s_tilde, theta_tilde = _rank_one_update(pushed, nu, theta_tilde, pull(nu)[0])
        states = new_states
        if not task.every_step and t < steps - 1:
            continue
        (d_states, d_readout), (loss, logits) = torch.func.grad_and_value(
            step_loss, argnums=(0, 1), has_aux=True
        )(states, readout, t)
        # (dl_t/ds_t . s~): the scalar that scales theta~ into this step's gradient estimate.
        scale = sum(
            (d * s).sum()
            for d, s in zip(tree_flatten(d_states)[0], tree_flatten(s_tilde)[0], strict=True)
        )
        for name, value in theta_tilde.items():
            grads[name] += scale * value
        for name, value in d_readout.items():
            grads["readout." + name] += value
        total_loss = total_loss + loss
        all_logits.append(logits)
    logits = torch.stack(all_logits) if task.every_step else all_logits[-1]
    return grads, total_loss, task.metric(logits, targets)


def uoro_forward_backward(
    net: RecurrentNet, task: TaskData, batch: Batch, probe: bool, generator: torch.Generator
) -> StepOutput:
    """Like forward_backward: accumulate the UORO estimate into .grad (callers zero them)."""
    norms = None
    if probe:
        measured = forward_backward(net, task, batch, TrainingSpec(mode="bptt"), probe=True)
        norms = measured.hidden_grad_norms
        net.zero_grad(set_to_none=False)  # the BPTT gradient only served the measurement
    with torch.no_grad():
        grads, loss, metric = uoro_gradient(net, task, batch, draw_signs(net, batch, generator))
    for name, p in net.named_parameters():
        if p.grad is None:
            p.grad = grads[name].clone()
        else:
            p.grad += grads[name]
    return StepOutput(loss.detach(), metric.detach(), norms)
