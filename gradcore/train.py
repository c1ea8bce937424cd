"""The training loop: `run(spec) -> ExperimentResult`.

Every step records loss, metric, gradient norms and weight changes; probe steps (spec.probe_steps)
run the unrolled network with hooks to record |dL/dh_t|, the others the fused kernels. Both
paths compute the same function, so the probe never changes the training trajectory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping

import torch

from gradcore.checkpoint import capture, restore
from gradcore.clipping import measure_and_clip
from gradcore.denormals import flush_denormals
from gradcore.dynamics import MapProbe
from gradcore.estimate import eval_chunk_size
from gradcore.hessian_free import HessianFree
from gradcore.hooks import Resume, RunFacts, RunHooks
from gradcore.model import Network, build_network
from gradcore.optim import apply_l1, build_optimizer
from gradcore.probes import spectral_radius
from gradcore.result import ExperimentResult, Progress
from gradcore.slices import SliceCursor, refill
from gradcore.spec import ExperimentSpec
from gradcore.stack import call_with_stack, graph_depth
from gradcore.step import forward_backward
from gradcore.summary import build_summary, device_name, evaluate
from gradcore.tasks import ImageSet, build_task
from gradcore.trace import TraceBuilder
from gradcore.uoro import uoro_forward_backward

PROGRESS_INTERVAL_S = 0.5
# Above every spec seed (< 2^31), so the UORO sign stream never equals a data stream.
UORO_SEED_OFFSET = 2**32


def resolve_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: cuda was requested but this worker has no GPU; use auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def seeded_network(spec: ExperimentSpec, input_size: int, output_size: int) -> Network:
    """Build on the CPU from a forked, seeded RNG: the same init on every device."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        return build_network(spec, input_size, output_size)


def spectral_radii(net: Network) -> dict[str, float]:
    """Of every finite recurrent block (an overflowed weight has no spectrum to report)."""
    return {
        name: spectral_radius(block)
        for name, block in net.recurrent_blocks().items()
        if bool(torch.isfinite(block).all())
    }


def _first_non_finite_quantity(scalars: list[float], norms: list[list[float]] | None) -> str | None:
    """scalars: [loss, metric, total, clipped_total]; norms: |dL/dh_t| on probe steps."""
    if not math.isfinite(scalars[0]):
        return "the loss"
    if not math.isfinite(scalars[2]):
        return "the global gradient norm"
    if norms is not None and not all(math.isfinite(v) for curve in norms for v in curve):
        return "dL/dh_t"
    return None


def run(
    spec: ExperimentSpec,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    datasets: Mapping[str, ImageSet] | None = None,
    probe_steps: Collection[int] | None = None,
    *,
    hooks: RunHooks | None = None,
    resume: Resume | None = None,
) -> ExperimentResult:
    """Train `spec` and return its traces. NaN/inf ends the run as `diverged`, not an error;
    `should_stop` is polled between steps (a stopped run skips the held-out evaluation). Raises
    ValueError for a spec this process cannot run (a dataset or device it lacks). `probe_steps`
    replaces spec.probe_steps (the overhead benchmark passes an empty set to train without
    probes). `hooks` streams traces and checkpoints out; `resume` continues from a checkpoint.
    Float32 denormals are flushed to zero for the length of the run (see gradcore.denormals).
    The run executes in a thread of its own, with a stack deep enough for its autograd graph
    (see gradcore.stack); the callbacks are called from that thread while the caller waits."""

    def train() -> ExperimentResult:
        with flush_denormals():  # the floating-point mode is per thread: set it in the run's
            return _train(
                spec, on_progress, should_stop, datasets, probe_steps, hooks or RunHooks(), resume
            )

    return call_with_stack(graph_depth(spec), train)


def _train(
    spec: ExperimentSpec,
    on_progress: Callable[[Progress], None] | None,
    should_stop: Callable[[], bool] | None,
    datasets: Mapping[str, ImageSet] | None,
    probe_steps: Collection[int] | None,
    hooks: RunHooks,
    resume: Resume | None,
) -> ExperimentResult:
    device = resolve_device(spec.device)
    task = build_task(spec, datasets)
    net = seeded_network(spec, task.input_size, task.output_size).to(device)
    named = net.named_weights()
    params = [p for _, p in named]
    # Weight change is tracked for matrices and conv kernels (and IndRNN's recurrent vector),
    # not biases.
    tracked = [(n, p) for n, p in named if p.dim() >= 2 or n.endswith(".u")]
    hessian_free = None
    if spec.optimizer.name == "hessian_free":
        optimizer: torch.optim.Optimizer | HessianFree = HessianFree(spec.optimizer, net)
        hessian_free = optimizer
    else:
        optimizer = build_optimizer(spec.optimizer, params)
    trace = TraceBuilder(
        [n for n, _ in named],
        [n for n, _ in tracked],
        net.probe_layers,
        net.time_steps(spec.sequence_length),
        spec.horizon_fraction,
    )
    generators = {
        "data": torch.Generator().manual_seed(spec.seed),
        # UORO's random signs must be independent of the data: the same seed would replay
        # the data stream's random numbers as signs.
        "uoro": torch.Generator().manual_seed(spec.seed + UORO_SEED_OFFSET),
    }
    map_probe = MapProbe(spec.probes, net.probe_layers, spec.seed) if spec.probes.enabled else None
    if map_probe is not None:
        generators["map_probe"] = map_probe.generator
    first_step, elapsed_before = 0, 0.0
    if resume is None:
        radius_start = spectral_radii(net)
    else:
        saved = resume.checkpoint
        restore(saved, net, optimizer, generators)
        radius_start, first_step, elapsed_before = saved.radius_start, saved.step, saved.elapsed_s
        refill(resume.traces, trace, map_probe, hessian_free)
    facts = RunFacts(
        parameters=sum(p.numel() for p in params),
        radius_start=radius_start,
        device=device_name(device),
        metric_name=task.metric_name,
        baseline_loss=task.baseline_loss,
        solved_criterion=task.solved_criterion,
    )
    if hooks.on_start is not None:
        hooks.on_start(facts)
    cursor = SliceCursor(trace, map_probe, hessian_free)
    probe_steps = set(spec.probe_steps if probe_steps is None else probe_steps)
    outcome, diverged_at, diverged_reason = "completed", None, None
    started = time.perf_counter() - elapsed_before
    last_report = last_flush = time.perf_counter()

    sent_any = resume is not None  # a resumed run's earlier lives stored its first slices

    def send_traces(final: bool = False) -> None:
        nonlocal last_flush, sent_any
        # A run that records nothing (diverged in its first step) still sends one, empty,
        # slice at its end: it carries the traces' layout (parameter and layer names).
        if hooks.on_traces is not None and (cursor.pending or (final and not sent_any)):
            hooks.on_traces(cursor.take())
            sent_any = True
        last_flush = time.perf_counter()

    for step in range(first_step, spec.steps):
        if step > first_step and hooks.checkpoint_due is not None and hooks.checkpoint_due():
            send_traces()
            if hooks.on_checkpoint is not None:
                elapsed = time.perf_counter() - started
                hooks.on_checkpoint(
                    capture(step, elapsed, net, optimizer, generators, radius_start)
                )
        if should_stop is not None and should_stop():
            outcome = "stopped"
            break
        batch = task.train_batch(spec.batch_size, generators["data"]).to(device)
        optimizer.zero_grad(set_to_none=False)
        probe = step in probe_steps
        if spec.training.mode == "uoro":
            out = uoro_forward_backward(net, task, batch, probe, generators["uoro"])
        else:
            out = forward_backward(net, task, batch, spec.training, probe=probe)
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        stats = measure_and_clip(grads, spec.clipping)
        scalars = torch.stack(
            [out.loss.double(), out.metric.double(), stats.total, stats.clipped_total]
        ).tolist()
        norms = None if out.hidden_grad_norms is None else out.hidden_grad_norms.tolist()
        not_finite = _first_non_finite_quantity(scalars, norms)
        if not_finite is not None:
            outcome, diverged_at = "diverged", step
            diverged_reason = f"{not_finite} is not finite (NaN or inf) at step {step}"
            break

        if map_probe is not None and norms is not None:
            map_probe.measure(step, net, batch.inputs)  # before the update, as dL/dh_t was
        before = [p.detach().clone() for _, p in tracked]
        if hessian_free is not None:
            hessian_free.step(step, task, batch, scalars[0])  # needs the batch for curvature
        else:
            optimizer.step()
        apply_l1(spec.optimizer, params)
        net.constrain()
        with torch.no_grad():
            deltas = torch._foreach_sub([p.detach() for _, p in tracked], before)
            change = torch.stack([delta.abs().mean() for delta in deltas])
        trace.add_step(
            step,
            [*scalars, float(stats.clipped)],
            stats.per_param.tolist(),
            change.double().tolist(),
        )
        if norms is not None:
            trace.add_probe(step, norms)

        now = time.perf_counter()
        if norms is not None or now - last_flush >= hooks.traces_every_s:
            send_traces()
        if on_progress is not None and (
            now - last_report >= PROGRESS_INTERVAL_S or step == spec.steps - 1
        ):
            on_progress(
                Progress(step=step + 1, total=spec.steps, loss=scalars[0], elapsed_s=now - started)
            )
            last_report = now

    send_traces(final=True)
    evaluation = None
    if outcome == "completed" and trace.steps:
        evaluation = evaluate(net, task, device, eval_chunk_size(spec))
    summary = build_summary(
        facts=facts,
        trace=trace,
        outcome=outcome,
        diverged_at=diverged_at,
        diverged_reason=diverged_reason,
        evaluation=evaluation,
        solved=evaluation is not None and task.is_solved(evaluation.loss, evaluation.metric),
        radius_end=spectral_radii(net),
        wall_time_s=time.perf_counter() - started,
    )
    return ExperimentResult(
        loss=trace.loss_trace(),
        grad_norm=trace.grad_norm_trace(),
        hidden_grad=trace.hidden_grad_trace(),
        weight_change=trace.weight_change_trace(),
        dynamics=None if map_probe is None else map_probe.trace(),
        hessian_free=None if hessian_free is None else hessian_free.history,
        summary=summary,
    )
