"""Accumulates the per-step and per-probe measurements into the columnar result traces."""

from __future__ import annotations

from gradcore.probes import gradient_horizon
from gradcore.result import GradNormTrace, HiddenGradTrace, LossTrace, WeightChangeTrace


class TraceBuilder:
    """One list per quantity; `add_step` takes the step's numbers in `step_layout` order."""

    def __init__(
        self,
        param_names: list[str],
        weight_names: list[str],
        probe_layers: list[str],
        time_steps: int,
        horizon_fraction: float,
    ) -> None:
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

    def add_step(
        self,
        step: int,
        scalars: list[float],
        per_param: list[float],
        weight_change: list[float],
    ) -> None:
        """scalars: [loss, metric, total, clipped_total, clipped]."""
        loss, metric, total, clipped_total, clipped = scalars
        self.steps.append(step)
        self.loss.append(loss)
        self.metric.append(metric)
        self.total.append(total)
        self.clipped_total.append(clipped_total)
        self.clipped.append(bool(clipped))
        for name, value in zip(self.param_names, per_param, strict=True):
            self.per_param[name].append(value)
        for name, value in zip(self.weight_names, weight_change, strict=True):
            self.weight_change[name].append(value)

    def add_probe(self, step: int, norms: list[list[float]]) -> None:
        """norms[l][t] = |dL/dh_t| of layer l."""
        self.probe_steps.append(step)
        self.hidden_norms.append(norms)
        self.horizons.append([gradient_horizon(curve, self.horizon_fraction) for curve in norms])

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
        )

    def weight_change_trace(self) -> WeightChangeTrace:
        return WeightChangeTrace(step=self.steps, per_layer=self.weight_change)
