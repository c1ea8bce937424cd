"""What a spec will cost before it runs: its peak memory and its work, from its sizes alone.

Memory is modelled on the CPU paths gradcore runs, as the bytes a run adds to a process that has
imported torch: what lives through the run (parameters, optimizer state, data, traces) plus the
largest of its phases, which run one after another (a training step's saved activations, the
recurrent-map probes, the held-out evaluation). The per-time-step coefficients are the tensors
each cell's step saves for its backward pass, measured (benchmarks/overhead.py: a tanh step
saves about 1 (B, H) tensor per time step, the LSTM's and GRU's cells 8, the fused nn.LSTM 15);
tests/gradcore/test_estimate.py checks the whole model against measured peaks.

Work counts multiply-adds in units of B x H^2 (one example's recurrent matmul at one time step),
the unit of the original cost formula steps x batch_size x length x num_layers x hidden_size^2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradcore.tasks import describe_tasks
from gradcore.tasks.common import eval_batch_size

if TYPE_CHECKING:
    from gradcore.spec import ExperimentSpec

FLOAT_BYTES = 4
# A value stored in a trace: a Python float (24 bytes) and its list slot (8), held twice at the
# end (the trace builder's lists and the result model's).
TRACE_VALUE_BYTES = 64
# (B, H) tensors per time step and layer a training step holds on the unrolled path: what it
# saves for the backward pass (tanh 1, LSTM and GRU 8, IndRNN 2), and for the one-gate cells
# as much again of the heap those many small blocks fragment (measured without a tuned malloc).
SAVED_PER_STEP = {"tanh": 2, "relu": 2, "irnn": 2, "lstm": 8, "gru": 8, "indrnn": 3, "esn": 0}
# The long-memory cells, counted from their formulas rather than measured: expRNN's step saves
# h, its pre-activation, sign and magnitude (gradcore.orthogonal); a diagonal layer's complex
# states count twice, the scan's levels add as much again, and its readout saves Re and Im
# parts, the mixed pre-activation and the GELU's input (gradcore.diagonal); the uRNN's complex
# step saves the state after each of its seven factors and the modReLU's (gradcore.unitary).
SAVED_PER_STEP |= {"exprnn": 5, "lru": 12, "s4d": 12, "urnn": 16}
# Cells whose forward keeps every complex state (T, B, H) even for a last-step task: the scan
# solves them all at once.
DIAGONAL_CELLS = ("lru", "s4d")
# Plain (unprobed) LSTM steps run the fused nn.LSTM on the CPU, which saves more (see layers.py).
FUSED_LSTM_SAVED = 15
GATES = {"lstm": 4, "gru": 3}
# What a run adds even when tiny: autograd's and the BLAS's first-use buffers, the network and
# optimizer objects (measured: a one-step T = 20 hidden 8 run, 86 MiB).
RUN_OVERHEAD_BYTES = 96 * 2**20
# The evaluation runs in chunks of at most this many bytes, or of a training step's activations
# where those are larger: it never needs much more memory than training does.
EVAL_MIN_BUDGET_BYTES = 64 * 2**20
# Pixel tasks evaluate on the dataset's test split: MNIST's 10,000 images at most.
PIXEL_EVAL_SIZE = 10_000
# Optimizer state per parameter, in copies of the parameters (Hessian-free keeps theta, the
# gradient, the CG vectors and the previous direction).
OPTIMIZER_COPIES = {"sgd": 1, "adam": 2, "rmsprop": 2, "hessian_free": 6}
# Work of one UORO time step relative to a forward step: a jvp in the state and a vjp in the
# parameters, each about a forward and a tangent.
UORO_WORK_FACTOR = 4


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes: `resident` lives through the run; the phases run one after another."""

    resident: int  # parameters, gradients, optimizer state, data, traces, fixed overhead
    step: int  # the largest training step's saved activations and temporaries
    map_probe: int  # Jacobian-norm and Lyapunov probes (0 without them)
    evaluation: int  # one chunk of the held-out evaluation

    @property
    def peak(self) -> int:
        return self.resident + max(self.step, self.map_probe, self.evaluation)

    @property
    def largest_phase(self) -> str:
        phases = {"step": self.step, "map_probe": self.map_probe, "evaluation": self.evaluation}
        return max(phases, key=lambda name: phases[name])


def _sizes(spec: ExperimentSpec) -> tuple[int, int]:
    """The task's (input_size, output_size), without building it."""
    info = describe_tasks()[spec.task]
    return int(info["input_size"]), int(info["output_size"])


def _every_step(spec: ExperimentSpec) -> bool:
    return bool(describe_tasks()[spec.task]["every_step"])


def state_size(spec: ExperimentSpec) -> int:
    return spec.hidden_size * (2 if spec.cell == "lstm" else 1)


def probe_count(spec: ExperimentSpec) -> int:
    """len(spec.probe_steps), without listing them."""
    every = math.ceil(spec.steps / spec.probe_every)
    return every + (0 if (spec.steps - 1) % spec.probe_every == 0 else 1)


def parameter_count(spec: ExperimentSpec) -> int:
    inputs, outputs = _sizes(spec)
    h, layers = spec.hidden_size, spec.num_layers
    readout = h * outputs + outputs
    if spec.cell == "mlp":
        return spec.sequence_length * inputs * h + (layers - 1) * h * h + layers * h + readout
    if spec.cell == "cnn":
        return 9 * (h + (layers - 1) * h * h) + layers * h + readout
    if spec.cell in DIAGONAL_CELLS:
        # B (complex) and D read the input, C (complex) mixes the state; three (H,) vectors.
        per_layer = [3 * h * (inputs if i == 0 else h) + 2 * h * h + 3 * h for i in range(layers)]
        return sum(per_layer) + readout
    if spec.cell == "urnn":
        # N = H / 2 complex units: V (2 N x in), 3 phase vectors, 2 complex reflections, b.
        per_layer = [h * (inputs if i == 0 else h) + 4 * h for i in range(layers)]
        return sum(per_layer) + readout
    if spec.cell == "exprnn":
        per_layer = [h * (inputs if i == 0 else h) + h * h + h for i in range(layers)]
        return sum(per_layer) + readout
    if spec.cell in ("indrnn", "esn"):
        per_layer = [h * (inputs if i == 0 else h) + 2 * h for i in range(layers)]
        if spec.cell == "esn":
            per_layer = [p + h * h for p in per_layer]
        return sum(per_layer) + readout
    gates = GATES.get(spec.cell, 1)
    first = gates * h * (inputs + h + 2)
    return first + (layers - 1) * gates * h * (2 * h + 2) + readout


def _step_floats_per_example(spec: ExperimentSpec, saved: int) -> float:
    """Floats one example's training step holds for its backward pass, `saved` (B, H) tensors
    per time step and layer on the cell's path."""
    inputs, outputs = _sizes(spec)
    h, layers, length = spec.hidden_size, spec.num_layers, spec.sequence_length
    every_step = _every_step(spec)
    chunk = spec.training.tbptt_k if spec.training.mode == "tbptt" else length
    chunk = min(chunk, length)
    # Per time step of a chunk: every layer's saved tensors, the stacked sequence of each layer
    # a layer above reads (and its gradient in the backward pass), the top's for every-step.
    stacked = (layers - 1) + (1 if every_step else 0)
    per_step = layers * saved * h + 2 * stacked * h
    readout = 3 * outputs * length if every_step else 0  # logits, log-softmax, gradient
    if spec.training.mode == "tbptt_k1k2":
        return _windows_floats_per_example(spec, per_step) + inputs * length
    if spec.training.checkpoint:
        # About sqrt(chunk) segments: the boundary states and the top's outputs (and their
        # concatenation) are kept; one segment's activations are recomputed at a time.
        segment = max(1, math.isqrt(chunk))
        # Measured besides: about 3 states per time step (a checkpointed LSTM run at T = 1000
        # peaked at 3.9x the boundaries and one segment), presumably the heap the many small
        # recomputed blocks fragment.
        boundaries = (chunk // segment + 1 + 3 * chunk) * layers * state_size(spec)
        outputs_kept = 2 * chunk * h if every_step else 0
        return boundaries + segment * per_step + outputs_kept + readout + inputs * length
    return chunk * per_step + readout + inputs * length


def step_bytes(spec: ExperimentSpec) -> int:
    """The largest training step: probe steps run the unrolled cells, plain LSTM steps the
    fused nn.LSTM; Hessian-free adds its curvature products, UORO keeps no past states."""
    if spec.cell in ("mlp", "cnn"):
        pixels = spec.sequence_length if spec.cell == "cnn" else 1
        # Each layer's output and activation, and a gradient in flight: 3 per layer.
        return spec.batch_size * FLOAT_BYTES * 3 * spec.num_layers * spec.hidden_size * pixels
    cell = spec.cell
    h, layers, length = spec.hidden_size, spec.num_layers, spec.sequence_length
    if spec.training.mode == "uoro":
        # The random signs of every state entry at every step, drawn up front, and the input.
        floats = layers * state_size(spec) * length + _sizes(spec)[0] * length
        return spec.batch_size * FLOAT_BYTES * 2 * floats
    saved = SAVED_PER_STEP[cell]
    has_plain_steps = spec.steps > probe_count(spec)
    if cell == "lstm" and has_plain_steps:
        saved = max(saved, FUSED_LSTM_SAVED)
    floats = _step_floats_per_example(spec, saved)
    if spec.optimizer.name == "hessian_free":
        # The kept forward graph, every hidden state, and a jvp's tangents of them.
        floats += 3 * layers * h * length
    return int(spec.batch_size * FLOAT_BYTES * floats)


def _windows_floats_per_example(spec: ExperimentSpec, per_step: int) -> int:
    """TBPTT(k1, k2) (gradcore.truncation): the larger of its two kinds of pass. The pass from
    t = 0 holds k2 steps (every-step tasks: the top's sequence and its logits too); a pass of
    windows holds k1 windows of k2 steps stacked along the batch (each window an example's
    worth per step, without the top's sequence) with their inputs and start states. Probe steps
    add the summed dL/dh_t of at most k1 + k2 positions per layer, in float64."""
    inputs, outputs = _sizes(spec)
    h, layers, length = spec.hidden_size, spec.num_layers, spec.sequence_length
    k2 = min(spec.training.tbptt_k2, length)
    if not _every_step(spec):
        return k2 * per_step + 2 * k2 * layers * h
    from_start = k2 * (per_step + 3 * outputs)
    top_sequence = 2 * h  # the top's stacked sequence (and its gradient) per step
    window = k2 * (per_step - top_sequence + inputs) + layers * state_size(spec) + 3 * outputs
    windows = min(spec.training.tbptt_k1, max(1, length - k2))
    sums = 2 * (spec.training.tbptt_k1 + k2) * layers * h
    return max(from_start, windows * window) + sums


def map_probe_bytes(spec: ExperimentSpec) -> int:
    """Every layer's trajectory (input projections and states, (T, B, G H + N)), plus one
    layer's power iteration on all T start vectors at once ((T, B, N) tangents folded with the
    projections into (T B, G H), copies of both, and the cell's jvp and vjp temporaries:
    measured about 3 G H + 28 N per step and example). The eigenvalues alone need a copy of one
    recurrent matrix and LAPACK's workspace: a few H^2, well within the run's overhead."""
    if not spec.probes.maps:
        return 0
    h, n, length = spec.hidden_size, state_size(spec), spec.sequence_length
    projection = GATES.get(spec.cell, 1) * h
    trajectories = spec.num_layers * length * (projection + n) + length * n
    count = spec.probes.lyapunov_exponents
    working = count * (projection + 4 * n)
    if spec.probes.jacobian_norms:
        working = max(working, length * (3 * projection + 28 * n))
    return spec.batch_size * FLOAT_BYTES * (trajectories + working)


def eval_size(spec: ExperimentSpec) -> int:
    """Examples in the held-out set: synthetic tasks' eval batch, a pixel task's test split."""
    if spec.task.endswith(("digits", "mnist")):
        return PIXEL_EVAL_SIZE
    return eval_batch_size(spec.sequence_length)


def eval_bytes_per_example(spec: ExperimentSpec) -> int:
    """The evaluation's forward (no gradients) per example: a lower layer's sequence while the
    next is built from it (its list of steps and their stack, about 3 H per step); the top's
    only for every-step tasks, and its logits; the fused LSTM writes its sequence anyway (and
    measures 2 H per step)."""
    inputs, outputs = _sizes(spec)
    h, layers, length = spec.hidden_size, spec.num_layers, spec.sequence_length
    if spec.cell in ("mlp", "cnn"):
        pixels = spec.sequence_length if spec.cell == "cnn" else 1
        return FLOAT_BYTES * (2 * h * pixels + inputs * length)
    lower = 3 * h if layers > 1 else 0
    top = 2 * h + 3 * outputs if _every_step(spec) else (2 * h if spec.cell == "lstm" else 0)
    if spec.cell in DIAGONAL_CELLS:
        top += 8 * h  # the scan's complex states, its levels and the readout of them
    return FLOAT_BYTES * length * (inputs + lower + top)


def eval_chunk_size(spec: ExperimentSpec) -> int:
    """Examples per evaluation chunk: as many as fit a training step's activations (at least
    EVAL_MIN_BUDGET_BYTES), so the evaluation never sets the run's peak by much."""
    budget = max(step_bytes(spec), EVAL_MIN_BUDGET_BYTES)
    return max(1, min(eval_size(spec), budget // eval_bytes_per_example(spec)))


def _resident_bytes(spec: ExperimentSpec) -> int:
    inputs, _ = _sizes(spec)
    params = parameter_count(spec)
    # Parameters, their gradients, the weight-change clones, and the optimizer's state.
    copies = 3 + OPTIMIZER_COPIES[spec.optimizer.name] + (1 if spec.optimizer.momentum else 0)
    # The cached eval set's inputs and a training batch (copy: one-hot, so twice).
    data = inputs * spec.sequence_length * (eval_size(spec) + 2 * spec.batch_size) * FLOAT_BYTES
    per_step_values = 5 + 2 * _weight_count(spec)
    probe_values = spec.num_layers * spec.sequence_length * (2 if spec.probes.jacobian_norms else 1)
    if spec.probes.eigenvalues:
        probe_values += spec.num_layers * 2 * spec.hidden_size  # (re, im) per eigenvalue
    traces = spec.steps * per_step_values + probe_count(spec) * probe_values
    return RUN_OVERHEAD_BYTES + FLOAT_BYTES * copies * params + data + TRACE_VALUE_BYTES * traces


def _weight_count(spec: ExperimentSpec) -> int:
    """Named parameter tensors (per-parameter gradient norms and weight changes are traced)."""
    per_layer = 3 if spec.cell in ("indrnn", "esn", "exprnn") else 4
    if spec.cell in DIAGONAL_CELLS:
        per_layer = 8
    if spec.cell in ("mlp", "cnn"):
        per_layer = 2
    return spec.num_layers * per_layer + 2


def estimate_memory(spec: ExperimentSpec) -> MemoryEstimate:
    evaluation = eval_chunk_size(spec) * eval_bytes_per_example(spec)
    return MemoryEstimate(
        resident=_resident_bytes(spec),
        step=step_bytes(spec),
        map_probe=map_probe_bytes(spec),
        evaluation=evaluation,
    )


def estimate_peak_bytes(spec: ExperimentSpec) -> int:
    """The run's peak resident memory above a process that has imported torch, in bytes."""
    return estimate_memory(spec).peak


def estimate_work(spec: ExperimentSpec) -> float:
    """Multiply-adds in units of one example's H x H recurrent product at one time step:

    training  steps x B x L x layers x H^2 (Hessian-free: x (2 cg_max_iters + 2), its CG's jvp
              and vjp per iteration; UORO: x UORO_WORK_FACTOR; TBPTT(k1, k2) on a task with a
              loss at every step: x (min(k2, L) + 1), a window of k2 steps per loss term and
              the forward pass that carries the state)
    jacobian  probes x layers x (2 power_iters + 1) sweeps x L (L - 1) / 2 x B x G H^2: each
              sweep carries every start's vector through the steps after it
    lyapunov  probes x layers x L x B x (k G H^2 + N k^2): k tangents and a QR per step
    eigen     probes x layers x 10 H^3: a dense eigensolver on the recurrent matrix
    with L the sequence length, G the gates (LSTM 4, GRU 3, else 1) and N the state size."""
    b, h, layers, length = spec.batch_size, spec.hidden_size, spec.num_layers, spec.sequence_length
    step = float(b) * length * layers * h**2
    if spec.optimizer.name == "hessian_free":
        step *= 2 * spec.optimizer.cg_max_iters + 2
    elif spec.training.mode == "uoro":
        step *= UORO_WORK_FACTOR
    elif spec.training.mode == "tbptt_k1k2" and _every_step(spec):
        step *= min(spec.training.tbptt_k2, length) + 1
    work = spec.steps * step
    probes = spec.probes
    if not probes.enabled:
        return work
    gated = GATES.get(spec.cell, 1) * float(h) ** 2
    per_layer = 0.0
    if probes.jacobian_norms:
        per_layer += (2 * probes.power_iters + 1) * length * (length - 1) / 2 * b * gated
    k = probes.lyapunov_exponents
    per_layer += length * b * (k * gated + state_size(spec) * k**2)
    if probes.eigenvalues:
        per_layer += 10 * h  # a dense eigensolver: about 10 H^3 multiply-adds, in H^2 units
    return work + probe_count(spec) * layers * per_layer
