"""`cli datasets add | list`: IDX files checked, then copied in where jobs look them up."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from cli.__main__ import main
from gradcore.tasks.idx import TEST_IMAGES, TRAIN_IMAGES, TRAIN_LABELS
from jobs.datasets import available_datasets, load_image_set
from tests.support.idx import encode_idx

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(6, 4, 5), dtype=np.uint8)
LABELS = np.array([0, 1, 2, 3, 4, 9], dtype=np.uint8)


def write(path: Path, array: np.ndarray, gzipped: bool = False) -> Path:
    data = encode_idx(array)
    path.write_bytes(gzip.compress(data) if gzipped else data)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    source = tmp_path / "source"
    source.mkdir()
    return {
        "images": write(source / "images.idx", IMAGES),
        "labels": write(source / "labels.idx.gz", LABELS, gzipped=True),
        "test_images": write(source / "test-images", IMAGES[:2]),
        "test_labels": write(source / "test-labels", LABELS[:2]),
    }


def add(data_dir: Path, name: str, files: dict[str, Path], *extra: str) -> int:
    options = [
        part for key, path in files.items() for part in (f"--{key.replace('_', '-')}", str(path))
    ]
    return main(["datasets", "add", name, *options, "--data-dir", str(data_dir), *extra])


def test_add_copies_the_files_under_the_names_jobs_read(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    assert add(data_dir, "digits", files) == 0
    assert (
        "added digits: 6 training and 2 test images of 4x5, labels 0..9" in capsys.readouterr().out
    )
    directory = data_dir / "datasets" / "digits"
    # A gzipped source keeps its compression and gets the loader's .gz name.
    assert (directory / f"{TRAIN_LABELS}.gz").read_bytes() == files["labels"].read_bytes()
    assert (directory / TRAIN_IMAGES).read_bytes() == files["images"].read_bytes()
    assert (directory / TEST_IMAGES).is_file()
    assert available_datasets(data_dir) == ["digits"]  # no staging directory left behind
    assert sorted(p.name for p in (data_dir / "datasets").iterdir()) == ["digits"]
    loaded = load_image_set(data_dir, "digits")["digits"]
    np.testing.assert_array_equal(loaded.train_images, IMAGES)
    np.testing.assert_array_equal(loaded.train_labels, LABELS)
    np.testing.assert_array_equal(loaded.test_images, IMAGES[:2])

    assert main(["datasets", "list", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out == "digits  6 training and 2 test images of 4x5, labels 0..9\n"


def test_a_name_in_use_is_replaced_only_when_asked(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_only = {key: files[key] for key in ("images", "labels")}
    assert add(tmp_path, "digits", files) == 0
    with pytest.raises(SystemExit, match="data set digits exists; --replace replaces it"):
        add(tmp_path, "digits", train_only)
    assert add(tmp_path, "digits", train_only, "--replace") == 0
    assert load_image_set(tmp_path, "digits")["digits"].test_images is None
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == ["digits"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "MNIST"}, r"'MNIST': a data set name matches"),
        ({"labels": LABELS[:5]}, r"6 .*5|5 .*6"),
        ({"images": IMAGES.astype(np.int16)}, "images must be uint8"),
        ({"test_labels": None}, "test_images and test_labels must be given together"),
        ({"images": b"\x1f\x8bnot gzip"}, r"images\.idx: "),
        ({"labels": b"\x08\x00\x08\x01"}, r"labels\.idx\.gz: not IDX data"),
    ],
    ids=["name", "counts", "dtype", "half-test", "bad-gzip", "not-idx"],
)
def test_bad_input_is_refused_naming_the_file_or_field_and_nothing_is_written(
    tmp_path: Path, files: dict[str, Path], change: dict, message: str
) -> None:
    name = change.pop("name", "digits")
    for key, value in change.items():
        if value is None:
            del files[key]
        elif isinstance(value, bytes):
            files[key].write_bytes(value)
        else:
            write(files[key], value, gzipped=files[key].suffix == ".gz")
    with pytest.raises(SystemExit, match=message):
        add(tmp_path / "data", name, files)
    assert not (tmp_path / "data" / "datasets").exists() or not any(
        (tmp_path / "data" / "datasets").iterdir()
    )
