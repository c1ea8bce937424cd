"""The result of one experiment: columnar traces (one list per quantity, aligned by `step`).

Norm conventions (all L2, of float32 tensors, computed on the training batch of that step):
- loss is the batch mean; every gradient below is of that mean loss.
- dL/dh_t is the gradient of the loss with respect to layer l's hidden state h_t (shape
  batch x hidden; the LSTM's h, not its cell c), through every path: the total gradient, not
  the direct term. Its norm is the Frobenius norm over batch and units together.
- grad_norm.total is the norm over all parameters together (Pascanu et al.), before clipping;
  clipped_total the same after clipping; per_param the norm of each parameter's gradient,
  before clipping.
- weight_change.per_layer[name][i] is mean |W_after - W_before| over the entries of weight
  `name` in the update of step `step[i]`.
- dynamics (optional, spec.probes): measurements of each layer's recurrent map s_t = F(p_t,
  s_{t-1}) on the probe batch, at the probe steps. The state s is h, or the LSTM's (h, c)
  concatenated. Per sequence, then averaged over the batch. Its `eigenvalues` are of the
  weights alone (no batch).
- hessian_free (optional, optimizer hessian_free): the optimizer's own per-step quantities.
Non-finite values never appear: a NaN or inf stops the run and sets `summary.diverged_at`.
A norm that underflows to 0.0 is reported as 0.0. A run flushes float32 denormals (magnitudes
below 1.2e-38) to exact zeros while it trains, so a gradient entry that small counts as 0; this
keeps CPU steps fast when gradients vanish (see gradcore.denormals).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class LossTrace(BaseModel):
    step: list[int] = Field(description="training step of each entry (0-based)")
    loss: list[float] = Field(description="batch mean training loss")
    metric: list[float] = Field(
        description="the task metric on the batch (see summary.metric_name)"
    )


class GradNormTrace(BaseModel):
    step: list[int]
    total: list[float] = Field(description="global gradient norm before clipping")
    clipped_total: list[float] = Field(description="global gradient norm after clipping")
    clipped: list[bool] = Field(description="whether clipping changed the gradient")
    per_param: dict[str, list[float]] = Field(description="each parameter's gradient norm")


class HiddenGradTrace(BaseModel):
    step: list[int] = Field(description="the probed training steps")
    time_steps: int = Field(description="T: the length of each curve (1 for the mlp)")
    layers: list[str] = Field(description="names of the probed layers, in order")
    norm: list[list[list[float]]] = Field(
        description="norm[i][l][t] = |dL/dh_t| of layer l at the i-th probed step (mlp: t = 0)"
    )
    horizon: list[list[int]] = Field(
        description="horizon[i][l]: the gradient horizon, T minus the earliest t with "
        "|dL/dh_t| >= horizon_fraction * max_t |dL/dh_t| (0 for an all-zero curve). Not a run "
        "of consecutive steps: a curve that dips below the threshold and rises again counts "
        "from its earliest crossing. About T by construction for tasks with a loss at every "
        "step (copy), where `recall_horizon` measures memory; see "
        "gradcore.probes.gradient_horizon"
    )
    recall_horizon: list[list[int]] | None = Field(
        None,
        description="recall_horizon[i][l]: the same horizon of the gradient of the recall "
        "phase's loss terms alone (copy: the last 10 steps, where the memorised symbols are "
        "repeated), which speaks about memory where `horizon` is about T by construction. "
        "Recorded by a second backward pass on probe steps, for tasks with a recall phase "
        "trained by full or chunked BPTT; null otherwise",
    )


class WeightChangeTrace(BaseModel):
    step: list[int]
    per_layer: dict[str, list[float]] = Field(description="mean |delta W| per weight matrix")


class Summary(BaseModel):
    outcome: Literal["completed", "diverged", "stopped"] = Field(
        description="completed all steps, stopped by NaN/inf (see diverged_at), or stopped by "
        "the caller"
    )
    steps_completed: int
    final_loss: float | None = Field(description="training loss of the last recorded step")
    final_metric: float | None
    eval_loss: float | None = Field(description="loss on held-out data after training")
    eval_metric: float | None
    metric_name: str
    baseline_loss: float = Field(description="the loss of the task's memoryless baseline")
    solved: bool = Field(description="held-out result meets the task's success criterion")
    solved_criterion: str
    diverged_at: int | None = Field(description="training step whose loss or gradient was NaN/inf")
    diverged_reason: str | None
    spectral_radius_start: dict[str, float] = Field(
        description="max |eigenvalue| of each recurrent matrix (per gate block; IndRNN: max |u|)"
    )
    spectral_radius_end: dict[str, float]
    gradient_horizon: list[list[int]] = Field(description="= hidden_grad.horizon")
    wall_time_s: float
    steps_per_second: float
    device: str
    torch_version: str
    parameters: int = Field(description="number of trainable parameters")


class DynamicsTrace(BaseModel):
    step: list[int] = Field(description="the probed training steps (= hidden_grad.step)")
    layers: list[str] = Field(description="names of the measured layers, in order")
    jacobian_norm: list[list[list[float]]] | None = Field(
        None,
        description="jacobian_norm[i][l][t] = ||ds_T/ds_t||_2 (largest singular value, by power "
        "iteration: a lower bound that tightens with probes.power_iters) of layer l at the i-th "
        "probed step, for t = 0 .. T-1 (the last is 1); null when probes.jacobian_norms is off",
    )
    lyapunov: list[list[list[float]]] | None = Field(
        None,
        description="lyapunov[i][l][k]: the k-th largest Lyapunov exponent (natural log growth "
        "per time step, QR method over the T steps from the zero state) of layer l at the i-th "
        "probed step; null when probes.lyapunov_exponents is 0",
    )
    eigenvalues: list[list[list[list[float]]]] | None = Field(
        None,
        description="eigenvalues[i][l][k] = [re, im]: the k-th eigenvalue of layer l's "
        "recurrence at the i-th probed step, with the weights its dL/dh_t was taken with (step "
        "0: the init): eig(W_hh) for tanh, relu, irnn, esn and exprnn, eig(W) for urnn (N = "
        "hidden_size / 2 of them), u for indrnn, lambda (lru) or exp(dt A) (s4d) for the "
        "diagonal cells, in unit order; null when probes.eigenvalues is off",
    )


class HessianFreeTrace(BaseModel):
    step: list[int]
    cg_iterations: list[int] = Field(description="CG iterations used (at most cg_max_iters)")
    damping: list[float] = Field(description="the Levenberg-Marquardt lambda the step used")
    reduction_ratio: list[float] = Field(
        description="rho = actual loss reduction / reduction predicted by the Gauss-Newton "
        "quadratic model; it adapts lambda (rho < 1/4: x 3/2; rho > 3/4: x 2/3)"
    )
    accepted: list[bool] = Field(description="the step lowered the batch loss and was applied")


class ExperimentResult(BaseModel):
    loss: LossTrace
    grad_norm: GradNormTrace
    hidden_grad: HiddenGradTrace
    weight_change: WeightChangeTrace
    summary: Summary
    dynamics: DynamicsTrace | None = Field(None, description="null when spec.probes is all off")
    hessian_free: HessianFreeTrace | None = Field(
        None, description="null unless the optimizer is hessian_free"
    )


class Progress(BaseModel):
    """What `on_progress` receives: at least once per second of training."""

    step: int = Field(description="steps completed")
    total: int
    loss: float | None
    elapsed_s: float
