"""The training loop: `run(spec) -> ExperimentResult`.

A run is set up (task, seeded network, optimizer and recorders, or a checkpoint's state),
trained one step at a time (gradcore.train_step), and finished (held-out evaluation, summary).
Every step records loss, metric, gradient norms and weight changes; probe steps
(spec.probe_steps) also record |dL/dh_t| through the unrolled path, the others take the faster
path. Both paths compute the same function. On the CPU every plain step but the LSTM's runs the
same loop as a probe step, so there a probe changes nothing, bit for bit; the fused LSTM (CPU)
and the fused kernels (GPU) round differently, so there a probe step's update may differ from an
unprobed one's in the last bits of float32, and the trajectory with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping

import torch
from torch import nn

from gradcore.checkpoint import restore
from gradcore.denormals import flush_denormals
from gradcore.dynamics import MapProbe
from gradcore.estimate import eval_chunk_size
from gradcore.hessian_free import HessianFree
from gradcore.hooks import Resume, RunFacts, RunHooks
from gradcore.model import Network, build_network
from gradcore.optim import build_optimizer
from gradcore.outbox import Outbox
from gradcore.probes import spectral_radius
from gradcore.result import ExperimentResult, Progress
from gradcore.slices import refill
from gradcore.spec import ExperimentSpec
from gradcore.stack import call_with_stack, graph_depth
from gradcore.step import records_recall
from gradcore.summary import build_summary, device_name, evaluate
from gradcore.tasks import ImageSet, build_task
from gradcore.trace import TraceBuilder
from gradcore.train_step import Ending, Run, train_step

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
    # Setup: everything the steps share, from the spec or from the checkpoint resumed.
    run = _setup(spec, datasets, resume)
    if hooks.on_start is not None:
        hooks.on_start(run.facts)
    outbox = Outbox(run, hooks, on_progress, resumed=resume is not None)
    probe_at = set(spec.probe_steps if probe_steps is None else probe_steps)

    # Training: one step at a time; checkpoints and stop requests are taken between steps.
    ending = Ending("completed")
    for step in range(run.first_step, spec.steps):
        if step > run.first_step:
            outbox.checkpoint_if_due(step)
        if should_stop is not None and should_stop():
            ending = Ending("stopped")
            break
        record = train_step(run, step, probe=step in probe_at)
        if isinstance(record, Ending):
            ending = record
            break
        run.trace.add_step(record)
        outbox.after_step(record)

    # Finish: the last traces, the held-out evaluation and the summary.
    outbox.send_traces(final=True)
    return _finish(run, ending, outbox.started)


def _setup(
    spec: ExperimentSpec, datasets: Mapping[str, ImageSet] | None, resume: Resume | None
) -> Run:
    """The task, the seeded network on its device, the optimizer and the recorders; for a
    resumed run, loaded from its checkpoint and its traces stored before it."""
    device = resolve_device(spec.device)
    task = build_task(spec, datasets)
    net = seeded_network(spec, task.input_size, task.output_size).to(device)
    named = net.named_weights()
    # Weight change is tracked for matrices and conv kernels (and IndRNN's recurrent vector),
    # not biases.
    tracked = [(n, p) for n, p in named if p.dim() >= 2 or n.endswith(".u")]
    optimizer = _optimizer(spec, net, [p for _, p in named])
    hessian_free = optimizer if isinstance(optimizer, HessianFree) else None
    trace = TraceBuilder(
        [n for n, _ in named],
        [n for n, _ in tracked],
        net.probe_layers,
        net.time_steps(spec.sequence_length),
        spec.horizon_fraction,
        recall=records_recall(spec.training, task),
    )
    map_probe = MapProbe(spec.probes, net.probe_layers, spec.seed) if spec.probes.enabled else None
    generators = _generators(spec, map_probe)
    first_step, elapsed_before = 0, 0.0
    if resume is None:
        radius_start = spectral_radii(net)
    else:
        saved = resume.checkpoint
        restore(saved, net, optimizer, generators)
        radius_start, first_step, elapsed_before = saved.radius_start, saved.step, saved.elapsed_s
        refill(resume.traces, trace, map_probe, hessian_free)
    facts = RunFacts(
        parameters=sum(p.numel() for _, p in named),
        radius_start=radius_start,
        device=device_name(device),
        metric_name=task.metric_name,
        baseline_loss=task.baseline_loss,
        solved_criterion=task.solved_criterion,
    )
    return Run(
        spec=spec,
        device=device,
        task=task,
        net=net,
        params=[p for _, p in named],
        tracked=[p for _, p in tracked],
        optimizer=optimizer,
        hessian_free=hessian_free,
        generators=generators,
        trace=trace,
        map_probe=map_probe,
        facts=facts,
        first_step=first_step,
        elapsed_before=elapsed_before,
    )


def _optimizer(
    spec: ExperimentSpec, net: Network, params: list[nn.Parameter]
) -> torch.optim.Optimizer | HessianFree:
    if spec.optimizer.name == "hessian_free":
        return HessianFree(spec.optimizer, net)
    return build_optimizer(spec.optimizer, params)


def _generators(spec: ExperimentSpec, map_probe: MapProbe | None) -> dict[str, torch.Generator]:
    generators = {
        "data": torch.Generator().manual_seed(spec.seed),
        # UORO's random signs must be independent of the data: the same seed would replay
        # the data stream's random numbers as signs.
        "uoro": torch.Generator().manual_seed(spec.seed + UORO_SEED_OFFSET),
    }
    if map_probe is not None:
        generators["map_probe"] = map_probe.generator
    return generators


def _finish(run: Run, ending: Ending, started: float) -> ExperimentResult:
    """The result: a completed run is evaluated on held-out data (a stopped one is not);
    `started` is when training started (perf_counter), less a resumed run's earlier time."""
    evaluation = None
    if ending.outcome == "completed" and run.trace.steps:
        evaluation = evaluate(run.net, run.task, run.device, eval_chunk_size(run.spec))
    summary = build_summary(
        facts=run.facts,
        trace=run.trace,
        outcome=ending.outcome,
        diverged_at=ending.diverged_at,
        diverged_reason=ending.diverged_reason,
        evaluation=evaluation,
        solved=evaluation is not None and run.task.is_solved(evaluation.loss, evaluation.metric),
        radius_end=spectral_radii(run.net),
        wall_time_s=time.perf_counter() - started,
    )
    trace, map_probe, hessian_free = run.trace, run.map_probe, run.hessian_free
    return ExperimentResult(
        loss=trace.loss_trace(),
        grad_norm=trace.grad_norm_trace(),
        hidden_grad=trace.hidden_grad_trace(),
        weight_change=trace.weight_change_trace(),
        dynamics=None if map_probe is None else map_probe.trace(),
        hessian_free=None if hessian_free is None else hessian_free.history,
        summary=summary,
    )
