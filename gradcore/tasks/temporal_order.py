"""Temporal order (Hochreiter & Schmidhuber 1997): classify the order of A/B symbols hidden
among distractors. The 2-bit task has 4 classes (AA, AB, BA, BB); the 3-bit task has 8.

The windows, the 6 symbols and the fixed length are Pascanu, Mikolov and Bengio's (2013; the
tempOrder and tempOrder3bit tasks of their code): in tenths of T, [1, 2) and [5, 6) for 2 bits,
[1, 2), [3, 4) and [6, 7) for 3. Hochreiter and Schmidhuber (1997, section 5.6, tasks 6a and
6b) drew lengths of 100 to 110 steps framed by a start symbol E and a trigger B, with the
relevant symbols at positions 10 to 20 and 50 to 60 (6a), and 10 to 20, 33 to 43 and 66 to 76
(6b): the same windows for 2 bits; for 3 bits their later two sit near [0.33T, 0.43T) and
[0.66T, 0.76T), a little later than these.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gradcore.spec import MIN_SEQ_LEN as SPEC_MIN_SEQ_LEN
from gradcore.tasks.base import Batch
from gradcore.tasks.common import SyntheticTask, TaskInfo, accuracy, cross_entropy

# A and B are symbols 0 and 1, so each relevant symbol is the bit it encodes.
SYMBOLS = 6  # A, B and the distractors 2..5
SOLVED_ACCURACY = 0.99
# Below it the windows collapse onto each other.
MIN_SEQ_LEN = SPEC_MIN_SEQ_LEN["temporal_order"]
# Where each relevant symbol may sit, in tenths of T: position in [lo * T/10, hi * T/10).
WINDOWS_TENTHS: dict[int, tuple[tuple[int, int], ...]] = {
    2: ((1, 2), (5, 6)),
    3: ((1, 2), (3, 4), (6, 7)),
}


def task_info(bits: int) -> TaskInfo:
    classes = 2**bits
    ranges = ", ".join(f"[{lo / 10}T, {hi / 10}T)" for lo, hi in WINDOWS_TENTHS[bits])
    return TaskInfo(
        name="temporal_order" if bits == 2 else f"temporal_order_{bits}bit",
        description=f"One-hot over {SYMBOLS} symbols: distractors everywhere except one A or B "
        f"in each of the windows {ranges}. The {classes} classes (the A/B order, A = 0, "
        "B = 1, first symbol the high bit) are read at the last step.",
        input_size=SYMBOLS,
        output_size=classes,
        every_step=False,
        metric_name="accuracy",
        solved_criterion=f"eval accuracy >= {SOLVED_ACCURACY}",
        baseline_formula=f"log({classes})",
        baseline_loss=math.log(classes),
        fixed_seq_len=None,
    )


def windows(seq_len: int, bits: int) -> list[tuple[int, int]]:
    """The [start, stop) position range of each relevant symbol, each at least 1 wide."""
    bounds = []
    for lo, hi in WINDOWS_TENTHS[bits]:
        start = seq_len * lo // 10
        bounds.append((start, max(seq_len * hi // 10, start + 1)))
    return bounds


class TemporalOrder(SyntheticTask):
    """Inputs (T, B, 6) one-hot; targets (B,) int64 in [0, 2^bits)."""

    def __init__(self, seq_len: int, bits: int = 2) -> None:
        if bits not in WINDOWS_TENTHS:
            raise ValueError(f"temporal order: bits must be one of {sorted(WINDOWS_TENTHS)}")
        if seq_len < MIN_SEQ_LEN:
            raise ValueError(
                f"temporal order: seq_len must be at least {MIN_SEQ_LEN}, not {seq_len}"
            )
        super().__init__(task_info(bits), seq_len)
        self.bits = bits
        self.windows = windows(seq_len, bits)

    @property
    def baseline_loss(self) -> float:
        return math.log(self.output_size)  # uniform over the classes

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        steps = self.sequence_length
        symbols = torch.randint(2, SYMBOLS, (steps, batch_size), generator=generator)  # (T, B)
        bits = torch.randint(0, 2, (self.bits, batch_size), generator=generator)  # (bits, B)
        sample = torch.arange(batch_size)
        for bit, (start, stop) in zip(bits, self.windows, strict=True):
            position = torch.randint(start, stop, (batch_size,), generator=generator)
            symbols[position, sample] = bit
        # The first symbol is the most significant bit: AA=0, AB=1, BA=2, BB=3.
        place_values = 2 ** torch.arange(self.bits - 1, -1, -1)
        targets = (bits * place_values[:, None]).sum(dim=0)  # (B,)
        return Batch(F.one_hot(symbols, num_classes=SYMBOLS).float(), targets)

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        return cross_entropy(outputs, targets, reduction)

    def metric(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return accuracy(outputs, targets)

    def is_solved(self, eval_loss: float, eval_metric: float) -> bool:
        return eval_metric >= SOLVED_ACCURACY
