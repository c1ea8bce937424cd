"""A run's traces in slices, as they grow, and a run's recorders refilled from stored slices.

A slice has the shape of `ExperimentResult.model_dump(mode="json")` without `summary`, holding
only the entries recorded since the previous slice: concatenating every slice of a run, in
order, gives its result's traces. A resumed run refills its recorders from the slices stored
before its checkpoint, so its summary (gradient horizons, final loss) covers the whole run.
"""

from __future__ import annotations

from typing import Any

from gradcore.dynamics import MapProbe
from gradcore.hessian_free import HessianFree
from gradcore.result import ExperimentResult
from gradcore.trace import StepRecord, TraceBuilder

TraceSlice = dict[str, Any]
# The parts of a result that are traces (everything but the summary), in the result's order.
TRACE_PARTS: tuple[str, ...] = tuple(
    name for name in ExperimentResult.model_fields if name != "summary"
)


class SliceCursor:
    """Where the last slice ended in each recorder; `take` returns what came after."""

    def __init__(
        self, trace: TraceBuilder, map_probe: MapProbe | None, hessian_free: HessianFree | None
    ) -> None:
        self.trace, self.map_probe, self.hessian_free = trace, map_probe, hessian_free
        self.steps = len(trace.steps)
        self.probes = len(trace.probe_steps)
        self.hf_steps = 0 if hessian_free is None else len(hessian_free.history.step)

    @property
    def pending(self) -> bool:
        return len(self.trace.steps) > self.steps or len(self.trace.probe_steps) > self.probes

    def take(self) -> TraceSlice:
        trace, a, p = self.trace, self.steps, self.probes
        part: TraceSlice = {
            "loss": {"step": trace.steps[a:], "loss": trace.loss[a:], "metric": trace.metric[a:]},
            "grad_norm": {
                "step": trace.steps[a:],
                "total": trace.total[a:],
                "clipped_total": trace.clipped_total[a:],
                "clipped": trace.clipped[a:],
                "per_param": {name: values[a:] for name, values in trace.per_param.items()},
            },
            "hidden_grad": {
                "step": trace.probe_steps[p:],
                "time_steps": trace.time_steps,
                "layers": trace.probe_layers,
                "norm": trace.hidden_norms[p:],
                "horizon": trace.horizons[p:],
                "recall_horizon": None
                if trace.recall_horizons is None
                else trace.recall_horizons[p:],
            },
            "weight_change": {
                "step": trace.steps[a:],
                "per_layer": {name: values[a:] for name, values in trace.weight_change.items()},
            },
            "dynamics": None,
            "hessian_free": None,
        }
        # Their fields hold plain numbers already: cut them, without dumping the whole history.
        if self.map_probe is not None:
            part["dynamics"] = _cut_lists(dict(self.map_probe.trace()), p)
        if self.hessian_free is not None:
            part["hessian_free"] = _cut_lists(dict(self.hessian_free.history), self.hf_steps)
            self.hf_steps = len(self.hessian_free.history.step)
        self.steps, self.probes = len(trace.steps), len(trace.probe_steps)
        return part


def _cut_lists(part: dict[str, Any], start: int) -> dict[str, Any]:
    """Every list of a step-aligned part from `start` on; `layers` and nulls stay whole."""
    return {
        key: value[start:] if isinstance(value, list) and key != "layers" else value
        for key, value in part.items()
    }


def refill(
    stored: TraceSlice,
    trace: TraceBuilder,
    map_probe: MapProbe | None,
    hessian_free: HessianFree | None,
) -> None:
    """Load a resumed run's recorders with the traces stored before its checkpoint."""
    loss, grad, change = stored["loss"], stored["grad_norm"], stored["weight_change"]
    for i, step in enumerate(loss["step"]):
        record = StepRecord(
            step=step,
            loss=loss["loss"][i],
            metric=loss["metric"][i],
            grad_norm=grad["total"][i],
            clipped_grad_norm=grad["clipped_total"][i],
            clipped=bool(grad["clipped"][i]),
            per_param=[grad["per_param"][name][i] for name in trace.param_names],
            weight_change=[change["per_layer"][name][i] for name in trace.weight_names],
        )
        trace.add_step(record)
    hidden = stored["hidden_grad"]
    recall = hidden.get("recall_horizon") or [None] * len(hidden["step"])
    for step, norms, recall_horizon in zip(hidden["step"], hidden["norm"], recall, strict=True):
        trace.add_probe(step, norms, recall_horizon)
    dynamics = stored.get("dynamics")
    if map_probe is not None and dynamics is not None:
        map_probe.steps.extend(dynamics["step"])
        map_probe.jacobian_norm.extend(dynamics.get("jacobian_norm") or [])
        map_probe.lyapunov.extend(dynamics.get("lyapunov") or [])
        map_probe.eigenvalues.extend(dynamics.get("eigenvalues") or [])
    history = stored.get("hessian_free")
    if hessian_free is not None and history is not None:
        for key in ("step", "cg_iterations", "damping", "reduction_ratio", "accepted"):
            getattr(hessian_free.history, key).extend(history[key])
