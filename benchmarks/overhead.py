"""What recording costs: gradcore against the training loop a user would write.

One process runs the same spec (adding task, hidden 128, batch 64, Adam, norm clipping at 1)
three ways and prints per-step times and ratios:

  a  a bare PyTorch loop, nothing recorded: the fused nn.RNN / nn.LSTM / nn.GRU module
     (a_fused) and a hand-written loop over the time steps with the input projection done
     once (a_loop; IndRNN has only this one). The ratios use the faster of the two. The
     long-memory cells (exprnn, urnn, lru, s4d; `--cells` names them, the default leaves them
     out) have no torch module: their bare net is gradcore's own layer and a readout, with no
     recording, so a_fused is LRU's and S4D's parallel scan and a_loop their step loop (expRNN
     and the uRNN have only the loop). gradcore steps LRU and S4D by the loop on the CPU and
     scans on the GPU (gradcore.diagonal.SCAN_ON_CPU).
  b  gradcore.run with no probe steps (every step still records loss, metric, global and
     per-parameter gradient norms and weight changes).
  c  gradcore.run with the spec's probes, probe_every = 50: one probe step (|dL/dh_t| at every
     time step) per 50 steps, so c = (49 b + p) / 50, with p the probe step time measured in a
     run that alternates probe and plain steps.

Step times are medians over a run's steps (its first step, a warm-up, dropped), the best of
--repeats runs; the variants of one cell and length run interleaved, so load from other
processes hits them alike. Everything runs with float32 denormals flushed to zero, gradcore's
own setting, so the bare loops are not slowed by denormals that gradcore avoids.

Peak memory: each step is measured in a fresh subprocess as the rise of the resident set's
high-water mark (VmHWM, reset through /proc/self/clear_refs) over the resident set before the
step; `job` the same for a whole two-step gradcore.run, held-out evaluation included. Beside
them, gradcore.estimate's estimates: of the probe step's activations and of the job's peak.
PyTorch's CPU allocator keeps no statistics, and RSS counts every byte the step touches.
The subprocess runs with MALLOC_MMAP_THRESHOLD_=16384: every allocation of 16 KiB or more
(any (B, H) float32 tensor) is its own mapping, returned to the OS when freed, so the
high-water mark follows the live bytes rather than how glibc's heap fragments.

    python benchmarks/overhead.py                 # the full table (T = 100, 1000, 5000)
    python benchmarks/overhead.py --quick         # T = 100 and 1000, fewer steps
    python benchmarks/overhead.py --cells lstm --lengths 1000 --steps 10 --no-memory
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

import gradcore
from gradcore import diagonal
from gradcore.cells import hidden_of, indrnn_step
from gradcore.denormals import flush_denormals
from gradcore.estimate import estimate_memory
from gradcore.layers import ATEN_CELLS
from gradcore.recurrent import build_layer
from gradcore.spec import LONG_MEMORY_CELLS, ExperimentSpec, indrnn_cap
from gradcore.step import forward_backward
from gradcore.tasks import build_task
from gradcore.train import seeded_network

CELLS = ("tanh", "lstm", "gru", "indrnn")
# Cells whose bare net has only the loop (no fused module, no scan).
LOOP_ONLY = ("indrnn", "exprnn", "urnn")
HIDDEN, BATCH, MAX_NORM, PROBE_EVERY = 128, 64, 1.0, 50
JOB_STEPS = 2
# Steps per run by length (plus one warm-up step): T = 5000 steps take seconds each on a CPU.
DEFAULT_STEPS = {100: 20, 1000: 6, 5000: 2}
QUICK_STEPS = {100: 8, 1000: 3}
CHILD_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "16384", "MALLOC_TRIM_THRESHOLD_": "0"}


def make_spec(
    cell: str, seq_len: int, steps: int, checkpoint: bool = False, hidden: int = HIDDEN
) -> ExperimentSpec:
    return ExperimentSpec(
        cell=cell,
        task="adding",
        seq_len=seq_len,
        hidden_size=hidden,
        batch_size=BATCH,
        steps=steps,
        probe_every=PROBE_EVERY,
        clipping={"mode": "norm", "max_norm": MAX_NORM},
        training={"checkpoint": checkpoint} if checkpoint else {},
    )


class BareNet(nn.Module):
    """What a user writes: one recurrent layer and a linear readout of the last hidden state."""

    def __init__(self, cell: str, input_size: int, seq_len: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.cell, self.hidden = cell, hidden
        if cell in LONG_MEMORY_CELLS:
            self.layer = build_layer(make_spec(cell, seq_len, 1, hidden=hidden), input_size)
        elif cell == "indrnn":
            self.proj = nn.Linear(input_size, hidden)
            self.u = nn.Parameter(torch.empty(hidden).uniform_(0.0, 1.0))
            self.cap = indrnn_cap(seq_len)
        else:
            module = {"lstm": nn.LSTM, "gru": nn.GRU, "tanh": nn.RNN}[cell]
            self.rnn = module(input_size, hidden)
        self.readout = nn.Linear(hidden, 1)

    def fused(self, x: Tensor) -> Tensor:
        if self.cell in LONG_MEMORY_CELLS:  # LRU and S4D: the parallel scan, on any device
            diagonal.SCAN_ON_CPU = True
            try:
                _, state = self.layer(x, None, keep_sequence=False)
            finally:
                diagonal.SCAN_ON_CPU = False
            return self.readout(hidden_of(state))
        out, _ = self.rnn(x)  # (T, B, H)
        return self.readout(out[-1])

    def loop(self, x: Tensor) -> Tensor:
        """The fastest plain loop on the CPU: nn.*Cell's functions stepped over x, or for IndRNN
        every input projected at once and then one Hadamard step per t."""
        if self.cell in LONG_MEMORY_CELLS:
            _, state = self.layer(x, None, keep_sequence=False, unrolled=True)
            return self.readout(hidden_of(state))
        h = x.new_zeros(x.shape[1], self.hidden)
        if self.cell == "indrnn":
            for x_t in self.proj(x).unbind(0):  # (B, H) each
                h = indrnn_step(x_t, h, self.u)
            return self.readout(h)
        rnn = self.rnn
        weights = (rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
        state: Tensor | tuple[Tensor, Tensor] = (h, h) if self.cell == "lstm" else h
        for x_t in x.unbind(0):
            state = ATEN_CELLS[self.cell](x_t, state, *weights)
        return self.readout(state[0] if isinstance(state, tuple) else state)


def bare_steps(cell: str, seq_len: int, steps: int, fused: bool) -> list[float]:
    """Per-step seconds of the bare loop: draw a batch, forward, backward, clip, update."""
    spec = make_spec(cell, seq_len, steps)
    task = build_task(spec)
    torch.manual_seed(0)
    net = BareNet(cell, task.input_size, seq_len)
    optimizer = torch.optim.Adam(net.parameters(), lr=spec.optimizer.lr)
    rng = torch.Generator().manual_seed(0)
    forward = net.fused if fused else net.loop
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        batch = task.train_batch(BATCH, rng)
        optimizer.zero_grad()
        task.loss(forward(batch.inputs), batch.targets).backward()
        nn.utils.clip_grad_norm_(net.parameters(), MAX_NORM)
        optimizer.step()
        if cell == "indrnn":
            with torch.no_grad():
                net.u.clamp_(-net.cap, net.cap)
        times.append(time.perf_counter() - started)
    return times


def gradcore_steps(cell: str, seq_len: int, steps: int, probe_steps: set[int]) -> list[float]:
    """Per-step seconds of gradcore.run: should_stop is polled before every step, and once more
    when the loop ends is measured by running one extra step."""
    polls: list[float] = []

    def clock() -> bool:
        polls.append(time.perf_counter())
        return False

    gradcore.run(make_spec(cell, seq_len, steps + 1), should_stop=clock, probe_steps=probe_steps)
    return [after - before for before, after in itertools.pairwise(polls)]


def median_after_warmup(times: list[float]) -> float:
    return statistics.median(times[1:] if len(times) > 1 else times)


def measure(cell: str, seq_len: int, steps: int, repeats: int) -> dict[str, float]:
    """Best-of-repeats median step seconds: a_fused, a_loop, b and p (probe steps)."""
    # Probe every odd step: step 0 (the warm-up) is a plain step, and the probe steps follow
    # plain ones as they do in a run.
    probe_odd = set(range(1, steps, 2))
    best: dict[str, float] = {}
    for _ in range(repeats):
        runs: dict[str, float] = {}
        if cell not in LOOP_ONLY:
            runs["a_fused"] = median_after_warmup(bare_steps(cell, seq_len, steps, fused=True))
        runs["a_loop"] = median_after_warmup(bare_steps(cell, seq_len, steps, fused=False))
        runs["b"] = median_after_warmup(gradcore_steps(cell, seq_len, steps, set()))
        alternating = gradcore_steps(cell, seq_len, steps, probe_odd)
        runs["p"] = statistics.median(t for i, t in enumerate(alternating) if i % 2 == 1)
        for name, value in runs.items():
            best[name] = min(best.get(name, value), value)
    return best


def overhead_table(cells: list[str], lengths: list[int], steps: dict[int, int], repeats: int):
    header = (
        f"{'cell':7}{'T':>6}{'a_fused':>10}{'a_loop':>10}{'b':>10}{'probe':>10}"
        f"{'c@50':>10}{'b/a':>7}{'c/a':>7}{'p/bare':>8}"
    )
    print("step times in ms; a = the faster bare loop; p/bare = probe step / bare step")
    print(header)
    for seq_len in lengths:
        for cell in cells:
            # Two runs minimum: the warm-up and one alternating pair.
            t = measure(cell, seq_len, max(steps[seq_len], 2) + 1, repeats)
            bare = min(t.get("a_fused", float("inf")), t["a_loop"])
            amortised = ((PROBE_EVERY - 1) * t["b"] + t["p"]) / PROBE_EVERY
            fused = f"{t['a_fused'] * 1e3:10.1f}" if "a_fused" in t else f"{'-':>10}"
            print(
                f"{cell:7}{seq_len:>6}{fused}{t['a_loop'] * 1e3:10.1f}{t['b'] * 1e3:10.1f}"
                f"{t['p'] * 1e3:10.1f}{amortised * 1e3:10.1f}{t['b'] / bare:7.2f}"
                f"{amortised / bare:7.2f}{t['p'] / bare:8.2f}",
                flush=True,
            )


def _resident_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def step_peak_mib(variant: str, cell: str, seq_len: int, hidden: int) -> tuple[float, float]:
    """Run in a fresh process: one training step's (variant job: a whole run's) peak resident
    memory above the resident set it starts from, in MiB, and its seconds (a first step, so
    with the process's warm-up)."""
    spec = make_spec(cell, seq_len, 1, variant == "checkpoint", hidden)
    task = build_task(spec)
    batch = task.train_batch(BATCH, torch.Generator().manual_seed(0))
    step: Callable[[], None]
    if variant in ("bare_fused", "bare_loop"):
        net = BareNet(cell, task.input_size, seq_len, hidden)
        forward = net.fused if variant == "bare_fused" else net.loop

        def step() -> None:
            task.loss(forward(batch.inputs), batch.targets).backward()
    elif variant == "job":

        def step() -> None:
            gradcore.run(make_spec(cell, seq_len, JOB_STEPS, hidden=hidden))
    else:
        network = seeded_network(spec, task.input_size, task.output_size)

        def step() -> None:
            forward_backward(network, task, batch, spec.training, probe=variant != "plain")

    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    before = _resident_kib("VmRSS")
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    return (_resident_kib("VmHWM") - before) / 1024, seconds


def memory_table(cells: list[str], seq_len: int, hidden: int) -> None:
    variants = ["bare_fused", "bare_loop", "plain", "probe", "checkpoint", "job"]
    print(f"\npeak memory of one step at T = {seq_len}, hidden {hidden}, MiB above the start")
    print("plain/probe/checkpoint: gradcore's non-probe step, probe step, probe step with")
    print(f"training.checkpoint; job: a whole {JOB_STEPS}-step gradcore.run with its evaluation;")
    print("est probe / est job: gradcore.estimate's probe-step activations and job peak;")
    print("probe/bare = probe step / the smaller bare step; ckpt/probe for memory and for time")
    print("(the step's seconds in its fresh process)")
    names = [*variants, "est probe", "est job", "probe/bare", "ckpt/probe", "ckpt time"]
    print(f"{'cell':7}" + "".join(f"{name:>12}" for name in names))
    for cell in cells:
        peaks: dict[str, float] = {}
        seconds: dict[str, float] = {}
        for variant in variants:
            if variant == "bare_fused" and cell in LOOP_ONLY:
                continue
            child = [variant, cell, str(seq_len), str(hidden)]
            command = [sys.executable, __file__, "--memory-child", *child]
            output = subprocess.run(
                command, capture_output=True, text=True, check=True, env=CHILD_ENV
            ).stdout
            peaks[variant], seconds[variant] = (float(n) for n in output.split())
        bare = min(v for k, v in peaks.items() if k.startswith("bare"))
        cells_text = "".join(f"{peaks[v]:12.1f}" if v in peaks else f"{'-':>12}" for v in variants)
        probe_estimate = estimate_memory(make_spec(cell, seq_len, 1, hidden=hidden)).step
        job_estimate = estimate_memory(make_spec(cell, seq_len, JOB_STEPS, hidden=hidden)).peak
        cells_text += f"{probe_estimate / 2**20:12.1f}{job_estimate / 2**20:12.1f}"
        ratios = (
            f"{peaks['probe'] / bare:12.2f}{peaks['checkpoint'] / peaks['probe']:12.2f}"
            f"{seconds['checkpoint'] / seconds['probe']:12.2f}"
        )
        print(f"{cell:7}{cells_text}{ratios}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated")
    parser.add_argument("--lengths", help="comma-separated sequence lengths T")
    parser.add_argument("--steps", type=int, help="timed steps per run, at every length")
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant; best kept")
    parser.add_argument("--quick", action="store_true", help="T = 100, 1000; few steps")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    parser.add_argument("--memory-length", type=int, default=5000)
    parser.add_argument("--memory-hidden", type=int, default=HIDDEN)
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        variant, cell, seq_len, hidden = args.memory_child
        with flush_denormals():
            print(*step_peak_mib(variant, cell, int(seq_len), int(hidden)))
        return

    steps = QUICK_STEPS if args.quick else DEFAULT_STEPS
    lengths = [int(n) for n in args.lengths.split(",")] if args.lengths else list(steps)
    steps = {n: args.steps or steps.get(n, 2) for n in lengths}
    cells = args.cells.split(",")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, hidden {HIDDEN}, "
        f"batch {BATCH}, adding task, Adam, clip norm {MAX_NORM}"
    )
    with flush_denormals():
        overhead_table(cells, lengths, steps, args.repeats)
    if not args.no_memory:
        memory_table(cells, args.memory_length, args.memory_hidden)


if __name__ == "__main__":
    main()
