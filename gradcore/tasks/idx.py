"""The IDX file format of MNIST: a 4-byte magic number, big-endian uint32 sizes, then the data.

Magic: two zero bytes, a type code, the number of dimensions. Data is big-endian, row-major.
"""

from __future__ import annotations

import math

import numpy as np

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAGIC_BYTES = 4
SIZE_BYTES = 4
# MNIST's file names, which an image data set directory holds (each optionally gzipped, ".gz").
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def parse_idx(data: bytes) -> np.ndarray:
    """Decode IDX bytes into an array of native byte order; ValueError on any malformation."""
    if len(data) < MAGIC_BYTES:
        raise ValueError(f"IDX data too short: {len(data)} bytes, the magic number alone takes 4")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"not IDX data: the magic number starts {data[:2].hex()}, not 0000")
    dtype = IDX_TYPES.get(data[2])
    if dtype is None:
        known = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise ValueError(f"IDX type code 0x{data[2]:02X} is unknown (known: {known})")
    dims = data[3]
    if dims == 0:
        raise ValueError("IDX data declares 0 dimensions")
    header = MAGIC_BYTES + SIZE_BYTES * dims
    if len(data) < header:
        raise ValueError(f"IDX header truncated: {dims} sizes need {header} bytes, got {len(data)}")
    shape = tuple(np.frombuffer(data, dtype=">u4", count=dims, offset=MAGIC_BYTES).tolist())
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"IDX size mismatch: shape {shape} of {dtype.name} needs {expected} data bytes, "
            f"got {len(data) - header}"
        )
    values = np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))  # a writable native copy
