"""Accumulates the per-step and per-probe measurements into the columnar result traces."""

from __future__ import annotations

from typing import NamedTuple

from gradcore.probes import gradient_horizon
from gradcore.result import GradNormTrace, HiddenGradTrace, LossTrace, WeightChangeTrace


class StepRecord(NamedTuple):
    """The numbers one training step adds to the traces."""

    step: int
    loss: float
    metric: float
    grad_norm: float  # the global gradient norm before clipping
    clipped_grad_norm: float  # and after
    clipped: bool  # whether clipping changed the gradient
    per_param: list[float]  # each parameter's gradient norm, in TraceBuilder.param_names order
    weight_change: list[float]  # mean |delta W| per tracked weight, in weight_names order
    hidden_grad: list[list[float]] | None = None  # a probe step's [l][t] = |dL/dh_t| of layer l
    recall_grad: list[list[float]] | None = None  # and of the recall phase's loss alone (copy)


class TraceBuilder:
    """One list per quantity: `add_step` appends a step's record (and its probe, if any),
    `add_probe` a probe on its own (a resumed run's, from its stored slices)."""

    def __init__(
        self,
        param_names: list[str],
        weight_names: list[str],
        probe_layers: list[str],
        time_steps: int,
        horizon_fraction: float,
        recall: bool = False,
    ) -> None:
        """recall: the task has a recall phase whose gradient probe steps record."""
        self.param_names = param_names
        self.weight_names = weight_names
        self.probe_layers = probe_layers
        self.time_steps = time_steps
        self.horizon_fraction = horizon_fraction
        self.steps: list[int] = []
        self.loss: list[float] = []
        self.metric: list[float] = []
        self.total: list[float] = []
        self.clipped_total: list[float] = []
        self.clipped: list[bool] = []
        self.per_param: dict[str, list[float]] = {name: [] for name in param_names}
        self.weight_change: dict[str, list[float]] = {name: [] for name in weight_names}
        self.probe_steps: list[int] = []
        self.hidden_norms: list[list[list[float]]] = []
        self.horizons: list[list[int]] = []
        self.recall_horizons: list[list[int]] | None = [] if recall else None

    def add_step(self, record: StepRecord) -> None:
        self.steps.append(record.step)
        self.loss.append(record.loss)
        self.metric.append(record.metric)
        self.total.append(record.grad_norm)
        self.clipped_total.append(record.clipped_grad_norm)
        self.clipped.append(record.clipped)
        for name, value in zip(self.param_names, record.per_param, strict=True):
            self.per_param[name].append(value)
        for name, value in zip(self.weight_names, record.weight_change, strict=True):
            self.weight_change[name].append(value)
        if record.hidden_grad is not None:
            recall = None if record.recall_grad is None else self._horizons(record.recall_grad)
            self.add_probe(record.step, record.hidden_grad, recall)

    def add_probe(
        self, step: int, norms: list[list[float]], recall_horizon: list[int] | None = None
    ) -> None:
        """norms[l][t] = |dL/dh_t| of layer l; recall_horizon[l] the horizon of the recall
        phase's gradient, given exactly when the builder records one."""
        if (recall_horizon is None) != (self.recall_horizons is None):
            raise ValueError(f"probe at step {step}: the recall horizon is expected exactly "
                             "for tasks with a recall phase")  # fmt: skip
        self.probe_steps.append(step)
        self.hidden_norms.append(norms)
        self.horizons.append(self._horizons(norms))
        if self.recall_horizons is not None and recall_horizon is not None:
            self.recall_horizons.append(recall_horizon)

    def _horizons(self, norms: list[list[float]]) -> list[int]:
        return [gradient_horizon(curve, self.horizon_fraction) for curve in norms]

    def loss_trace(self) -> LossTrace:
        return LossTrace(step=self.steps, loss=self.loss, metric=self.metric)

    def grad_norm_trace(self) -> GradNormTrace:
        return GradNormTrace(
            step=self.steps,
            total=self.total,
            clipped_total=self.clipped_total,
            clipped=self.clipped,
            per_param=self.per_param,
        )

    def hidden_grad_trace(self) -> HiddenGradTrace:
        return HiddenGradTrace(
            step=self.probe_steps,
            time_steps=self.time_steps,
            layers=self.probe_layers,
            norm=self.hidden_norms,
            horizon=self.horizons,
            recall_horizon=self.recall_horizons,
        )

    def weight_change_trace(self) -> WeightChangeTrace:
        return WeightChangeTrace(step=self.steps, per_layer=self.weight_change)
