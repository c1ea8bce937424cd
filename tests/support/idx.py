"""IDX files written independently of gradcore's parser."""

from __future__ import annotations

import struct

import numpy as np

from gradcore.tasks.idx import IDX_TYPES

TYPE_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}


def encode_idx(array: np.ndarray) -> bytes:
    """An IDX file's bytes, written independently of parse_idx (struct header, big-endian data)."""
    code = TYPE_CODES[array.dtype]
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()
