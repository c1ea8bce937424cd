"""The adding problem as the IRNN and IndRNN papers train it, at the two scales.

One cpu base for both adding reproductions, so that their shared runs are the same specs.
"""

from __future__ import annotations

from gradcore.reproductions.base import Numbers

LEARNED_MAX = 0.5  # held-out MSE over the 1/6 baseline: learned at or below this
STUCK_MIN = 0.8  # stuck at the baseline at or above this

# T = 100, the paper's shortest, with half its units: at T = 50 a tanh RNN trained with Adam
# leaves the baseline on some seeds within 4,000 steps.
CPU = {
    "task": "adding",
    "seq_len": 100,
    "hidden_size": 64,
    "clipping": {"mode": "norm", "max_norm": 1.0},
    "optimizer": {"name": "adam", "lr": 0.001},
    "steps": 4000,
    "probe_every": 4000,
}
# The papers' size: T = 100, 128 units, and the steps to converge.
PAPER = {**CPU, "hidden_size": 128, "steps": 10000, "probe_every": 500}


def held_out(runs: list[Numbers]) -> list[float]:
    """Each seed's held-out loss as a fraction of the baseline."""
    return [run["eval_loss"] / run["baseline"] for run in runs]


def learned(runs: list[Numbers]) -> bool:
    return all(ratio <= LEARNED_MAX for ratio in held_out(runs))


def stuck(runs: list[Numbers]) -> bool:
    return all(ratio >= STUCK_MIN for ratio in held_out(runs))
