"""torch's intra-op threads in the processes that train (GRADFLOW_TORCH_THREADS)."""

from __future__ import annotations

import torch


def apply_torch_threads(threads: int) -> None:
    """Bound torch's intra-op threads; 0 leaves torch's default."""
    if threads:
        torch.set_num_threads(threads)
