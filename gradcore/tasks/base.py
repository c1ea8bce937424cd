"""The interface every task implements: batches in, losses and metrics out.

Tensors are time-major, like nn.RNN's default: inputs (T, B, input_size).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Batch:
    inputs: Tensor  # (T, B, input_size) float32
    targets: Tensor  # every_step tasks: (T, B) int64; others: (B,) float32 or int64

    def to(self, device: torch.device) -> Batch:
        return Batch(self.inputs.to(device), self.targets.to(device))


class TaskData(ABC):
    """A task: how to draw data, and how to score the network's outputs.

    `every_step` tasks read the readout at every time step (outputs (T, B, output_size));
    the others only at the last (outputs (B, output_size)).
    """

    name: str
    input_size: int
    output_size: int
    every_step: bool = False
    # every_step tasks whose memory is tested in a final recall phase: how many of the last time
    # steps it holds (copy: the recalled symbols). 0: no recall phase.
    recall_steps: int = 0
    metric_name: str
    solved_criterion: str  # the success criterion in words, e.g. "eval MSE < 0.01"

    @property
    @abstractmethod
    def baseline_loss(self) -> float:
        """The loss of the best memoryless predictor: the bar a model must beat."""

    @abstractmethod
    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A fresh training batch drawn (on the CPU) from `generator`: deterministic per seed."""

    @abstractmethod
    def eval_batch(self) -> Batch:
        """Held-out data for the final evaluation: the same every call."""

    @abstractmethod
    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        """Loss of outputs against targets; `reduction` as in torch.nn.functional.

        every_step tasks get a slice of time steps (T_chunk, B, C) with targets (T_chunk, B)
        so truncated BPTT can score chunk by chunk.
        """

    @abstractmethod
    def metric(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """The task metric (0-d tensor) over a whole batch of full-length outputs."""

    @abstractmethod
    def is_solved(self, eval_loss: float, eval_metric: float) -> bool:
        """Whether held-out results meet `solved_criterion`."""
