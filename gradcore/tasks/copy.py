"""Copy memory (Arjovsky, Shah, Bengio 2016): recall 10 symbols after a delay of T steps."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gradcore.spec import COPY_RECALL_LENGTH, copy_sequence_length
from gradcore.tasks.base import Batch
from gradcore.tasks.common import SyntheticTask, TaskInfo, accuracy, cross_entropy

BLANK = 0
DATA_SYMBOLS = 8  # symbols 1..8
DELIMITER = DATA_SYMBOLS + 1  # 9
RECALL_LENGTH = COPY_RECALL_LENGTH  # symbols to memorise, and blanks after the delimiter
SOLVED_ACCURACY = 0.99

INFO = TaskInfo(
    name="copy",
    description=f"{RECALL_LENGTH} symbols drawn from {DATA_SYMBOLS}, T-1 blanks, a delimiter, "
    f"{RECALL_LENGTH} blanks (length T+{2 * RECALL_LENGTH}); the target is blank until the "
    f"last {RECALL_LENGTH} steps, which must repeat the symbols. Scored at every step.",
    input_size=DELIMITER + 1,
    output_size=DATA_SYMBOLS + 1,  # the delimiter is never a target
    every_step=True,
    metric_name="accuracy_recalled",
    solved_criterion=f"eval accuracy on the recalled symbols >= {SOLVED_ACCURACY}",
    baseline_formula=f"{RECALL_LENGTH}*log({DATA_SYMBOLS})/(T+{2 * RECALL_LENGTH})",
    baseline_loss=None,
    fixed_seq_len=None,
)


class CopyMemory(SyntheticTask):
    """Inputs (T+20, B, 10) one-hot; targets (T+20, B) int64 classes 0..8. T = delay."""

    recall_steps = RECALL_LENGTH  # the output phase: the last 10 steps repeat the symbols

    def __init__(self, delay: int) -> None:
        if delay < 1:
            raise ValueError(f"copy: the delay must be at least 1, not {delay}")
        super().__init__(INFO, copy_sequence_length(delay))
        self.delay = delay

    @property
    def baseline_loss(self) -> float:
        # The memoryless predictor is certain of the blanks and uniform over the data symbols
        # on the recall steps: RECALL_LENGTH * log(8) nats spread over every step.
        return RECALL_LENGTH * math.log(DATA_SYMBOLS) / self.sequence_length

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        symbols = torch.randint(
            1, DATA_SYMBOLS + 1, (RECALL_LENGTH, batch_size), generator=generator
        )
        inputs = torch.full((self.sequence_length, batch_size), BLANK, dtype=torch.int64)
        inputs[:RECALL_LENGTH] = symbols
        inputs[RECALL_LENGTH + self.delay - 1] = DELIMITER
        targets = torch.full_like(inputs, BLANK)
        targets[-RECALL_LENGTH:] = symbols
        one_hot = F.one_hot(inputs, num_classes=self.input_size).float()  # (T+20, B, 10)
        return Batch(one_hot, targets)

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        return cross_entropy(outputs, targets, reduction)

    def metric(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return accuracy(outputs[-RECALL_LENGTH:], targets[-RECALL_LENGTH:])

    def is_solved(self, eval_loss: float, eval_metric: float) -> bool:
        return eval_metric >= SOLVED_ACCURACY
