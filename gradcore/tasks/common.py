"""What the tasks share: their published description, the fixed eval set and the scoring helpers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import Tensor

from gradcore.tasks.base import Batch, TaskData

# Synthetic eval data is drawn from this seed. It lies above the largest spec seed (2^31 - 1),
# so no training run can draw the same stream as the held-out set.
EVAL_SEED = 2**40 + 1
# Synthetic eval batches hold EVAL_BATCH_SIZE sequences, fewer for long ones so a batch stays
# within EVAL_STEP_BUDGET sequence steps (B * T), but never fewer than EVAL_BATCH_SIZE_MIN.
EVAL_BATCH_SIZE = 1000
EVAL_BATCH_SIZE_MIN = 100
EVAL_STEP_BUDGET = 2**21


@dataclass(frozen=True)
class TaskInfo:
    """A task's published description: what the API's meta lists, and the task's attributes."""

    name: str
    description: str
    input_size: int
    output_size: int
    every_step: bool
    metric_name: str
    solved_criterion: str
    baseline_formula: str  # in terms of T = seq_len where it depends on it
    baseline_loss: float | None  # None where it depends on T
    fixed_seq_len: int | None  # pixel tasks: the number of pixels
    needs_dataset: bool = False  # reads spec.dataset from the server's data sets

    def as_meta(self) -> dict[str, object]:
        """The description as plain JSON-ready data, keyed by field name (without the name)."""
        meta = dataclasses.asdict(self)
        del meta["name"]
        return meta


class DescribedTask(TaskData):
    """A task whose public attributes come from its TaskInfo, so meta and task cannot disagree."""

    def __init__(self, info: TaskInfo, sequence_length: int) -> None:
        self.info = info
        self.name = info.name
        self.input_size = info.input_size
        self.output_size = info.output_size
        self.every_step = info.every_step
        self.metric_name = info.metric_name
        self.solved_criterion = info.solved_criterion
        self.sequence_length = sequence_length  # steps fed to the network (copy: T + 20)


class SyntheticTask(DescribedTask):
    """A task that generates its data; its eval set is one batch drawn from EVAL_SEED."""

    def eval_batch(self) -> Batch:
        return self._eval_data

    @cached_property
    def _eval_data(self) -> Batch:
        generator = torch.Generator().manual_seed(EVAL_SEED)
        return self.train_batch(eval_batch_size(self.sequence_length), generator)


def eval_batch_size(sequence_length: int) -> int:
    """How many sequences of this length a synthetic eval batch holds."""
    fitting = EVAL_STEP_BUDGET // sequence_length
    return max(EVAL_BATCH_SIZE_MIN, min(EVAL_BATCH_SIZE, fitting))


def cross_entropy(outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits (..., C) against class indices (...), any leading shape.

    reduction "none" keeps the targets' shape; "mean" averages over every position.
    """
    losses = F.cross_entropy(outputs.flatten(0, -2), targets.flatten(), reduction=reduction)
    return losses.view(targets.shape) if reduction == "none" else losses


def accuracy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Fraction (0-d float tensor) of positions whose largest logit is the target class."""
    return (outputs.argmax(dim=-1) == targets).float().mean()
