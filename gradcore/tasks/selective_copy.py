"""Selective copying (Gu and Dao 2023, the Mamba paper's section 3.1): the symbols to recall sit
at random positions among noise, so a fixed time-invariant delay cannot find them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gradcore.spec import COPY_RECALL_LENGTH, selective_copy_sequence_length
from gradcore.tasks.base import Batch
from gradcore.tasks.common import SyntheticTask, TaskInfo, accuracy, cross_entropy
from gradcore.tasks.copy import BLANK, DATA_SYMBOLS, DELIMITER, SOLVED_ACCURACY

RECALL_LENGTH = COPY_RECALL_LENGTH  # symbols placed among the noise, recalled in order

INFO = TaskInfo(
    name="selective_copy",
    description=f"T steps of noise (blank) holding {RECALL_LENGTH} symbols drawn from "
    f"{DATA_SYMBOLS} at random distinct positions, then {RECALL_LENGTH} go markers (length "
    f"T+{RECALL_LENGTH}); the target is blank until the markers, which must repeat the symbols "
    "in the order they appeared. Scored at every step.",
    input_size=DELIMITER + 1,
    output_size=DATA_SYMBOLS + 1,  # the marker is never a target
    every_step=True,
    metric_name="accuracy_recalled",
    solved_criterion=f"eval accuracy on the recalled symbols >= {SOLVED_ACCURACY}",
    baseline_formula=f"{RECALL_LENGTH}*log({DATA_SYMBOLS})/(T+{RECALL_LENGTH})",
    baseline_loss=None,
    fixed_seq_len=None,
)


class SelectiveCopy(SyntheticTask):
    """Inputs (T+10, B, 10) one-hot; targets (T+10, B) int64 classes 0..8. T >= 10 steps of
    noise; blank is the noise token and the delimiter the go marker, as in the copy task."""

    def __init__(self, noise_length: int) -> None:
        if noise_length < RECALL_LENGTH:
            raise ValueError(
                f"selective_copy: T must hold the {RECALL_LENGTH} symbols, not {noise_length}"
            )
        super().__init__(INFO, selective_copy_sequence_length(noise_length))
        self.noise_length = noise_length

    @property
    def baseline_loss(self) -> float:
        # Without memory the blanks are certain and each recalled symbol is uniform over the 8.
        return RECALL_LENGTH * math.log(DATA_SYMBOLS) / self.sequence_length

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        symbols = torch.randint(
            1, DATA_SYMBOLS + 1, (RECALL_LENGTH, batch_size), generator=generator
        )
        # Each sequence's positions: the first RECALL_LENGTH of a random permutation, in order.
        scores = torch.rand(self.noise_length, batch_size, generator=generator)
        positions = scores.argsort(dim=0)[:RECALL_LENGTH].sort(dim=0).values  # (10, B)
        inputs = torch.full((self.sequence_length, batch_size), BLANK, dtype=torch.int64)
        inputs.scatter_(0, positions, symbols)
        inputs[self.noise_length :] = DELIMITER
        targets = torch.full_like(inputs, BLANK)
        targets[self.noise_length :] = symbols
        one_hot = F.one_hot(inputs, num_classes=self.input_size).float()  # (T+10, B, 10)
        return Batch(one_hot, targets)

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        return cross_entropy(outputs, targets, reduction)

    def metric(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return accuracy(outputs[-RECALL_LENGTH:], targets[-RECALL_LENGTH:])

    def is_solved(self, eval_loss: float, eval_metric: float) -> bool:
        return eval_metric >= SOLVED_ACCURACY
