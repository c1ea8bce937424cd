"""gradcore: measure how gradients flow through recurrent networks. Pure PyTorch, no I/O.

result = gradcore.run(ExperimentSpec(cell="lstm", task="adding", seq_len=100))
"""

from gradcore.estimate import estimate_peak_bytes, estimate_work
from gradcore.result import ExperimentResult, Progress
from gradcore.spec import ExperimentSpec
from gradcore.train import run

__all__ = [
    "ExperimentResult",
    "ExperimentSpec",
    "Progress",
    "estimate_peak_bytes",
    "estimate_work",
    "run",
]
