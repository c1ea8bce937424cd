"""gradcore: measure how gradients flow through recurrent networks. Pure PyTorch, no I/O."""

from gradcore.result import ExperimentResult, Progress
from gradcore.spec import ExperimentSpec

__all__ = ["ExperimentResult", "ExperimentSpec", "Progress"]
