import numpy as np
import pytest

from gradcore.tasks.idx import parse_idx
from tests.support.idx import encode_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_every_type(dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    parsed = parse_idx(encode_idx(array))
    assert parsed.dtype == np.dtype(dtype)
    assert parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)


def test_multi_byte_values_are_big_endian() -> None:
    data = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xFF, 0xFE])
    np.testing.assert_array_equal(parse_idx(data), np.array([258, -2], dtype=np.int16))


def test_result_is_writable_and_owns_its_memory() -> None:
    parsed = parse_idx(encode_idx(np.zeros((3, 2), dtype=np.uint8)))
    parsed[0, 0] = 7
    assert parsed[0, 0] == 7


def test_labels_file_layout() -> None:
    labels = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
    data = encode_idx(labels)
    assert data[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 5])
    np.testing.assert_array_equal(parse_idx(data), labels)


def test_empty_dimension_is_valid() -> None:
    assert parse_idx(encode_idx(np.zeros((0, 28, 28), dtype=np.uint8))).shape == (0, 28, 28)


VALID = encode_idx(np.arange(6, dtype=np.uint8).reshape(2, 3))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00\x08", "too short"),
        (b"\x01" + VALID[1:], "magic number"),
        (b"\x00\x01" + VALID[2:], "magic number"),
        (VALID[:2] + b"\x0a" + VALID[3:], "type code 0x0A"),
        (VALID[:3] + b"\x00", "0 dimensions"),
        (VALID[:6], "header truncated"),
        (VALID[:-1], "size mismatch"),
        (VALID + b"\x00", "size mismatch"),
        (VALID[:3] + b"\x03" + VALID[4:], "size mismatch"),
    ],
    ids=[
        "empty",
        "short-magic",
        "first-magic-byte",
        "second-magic-byte",
        "unknown-type",
        "no-dimensions",
        "short-sizes",
        "truncated-data",
        "trailing-bytes",
        "more-dimensions-than-sizes",
    ],
)
def test_malformed_data_is_rejected(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_idx(data)
