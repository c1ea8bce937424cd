"""Flushing float32 denormals to zero for the length of a run.

A vanishing gradient passes through the denormal range (below 1.2e-38) on its way to zero, and
x86 CPUs handle denormal operands in microcode, up to 100x slower per operation: an LSTM or GRU
backward pass at T = 1000 can spend most of its time there. Flush-to-zero turns those values
into exact zeros, the value they are reported as anyway once they underflow further.

torch.set_flush_denormal sets the mode of the calling thread only (the CPU's MXCSR register);
the small per-time-step operations of a recurrent network run on that thread. PyTorch has no
getter, so the previous mode is read back from what the CPU does with a denormal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

# Below float32's smallest normal (1.18e-38): zero when flushing, itself otherwise.
_DENORMAL = 1e-39


def flushing_denormals() -> bool:
    """Whether the calling thread currently flushes float32 denormals to zero."""
    return torch.tensor(_DENORMAL, dtype=torch.float32).mul(1.0).item() == 0.0


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush denormals inside the block (where the CPU supports it) and restore the previous
    mode on leaving it, exception or not."""
    previous = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(previous)
