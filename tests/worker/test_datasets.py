import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from gradcore.spec import ExperimentSpec
from gradcore.tasks import build_task
from jobs.datasets import available_datasets, load_image_sets
from tests.support.idx import encode_idx

TRAIN = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def images_and_labels(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    return images, (np.arange(count) % 10).astype(np.uint8)


def write_pair(
    directory: Path, names: tuple[str, str], arrays: tuple[np.ndarray, np.ndarray], gz: bool
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in zip(names, arrays, strict=True):
        data = encode_idx(array)
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_loads_train_and_test_splits_and_runs_the_task(tmp_path: Path, gz: bool) -> None:
    train, test = images_and_labels(20, seed=1), images_and_labels(6, seed=2)
    write_pair(tmp_path / "datasets" / "mnist", TRAIN, train, gz)
    write_pair(tmp_path / "datasets" / "mnist", TEST, test, gz)

    sets = load_image_sets(tmp_path)
    assert list(sets) == ["mnist"]
    loaded = sets["mnist"]
    np.testing.assert_array_equal(loaded.train_images, train[0])
    np.testing.assert_array_equal(loaded.test_labels, test[1])

    spec = ExperimentSpec(cell="tanh", task="permuted_pixel_mnist", seq_len=784, dataset="mnist")
    task = build_task(spec, sets)
    assert task.eval_batch().inputs.shape == (784, 6, 1)
    assert torch.equal(task.eval_batch().targets, torch.from_numpy(test[1].astype(np.int64)))
    assert task.train_batch(4, torch.Generator().manual_seed(0)).inputs.shape == (784, 4, 1)


def test_train_split_alone_is_enough(tmp_path: Path) -> None:
    write_pair(tmp_path / "datasets" / "fashion_2", TRAIN, images_and_labels(10, seed=1), gz=True)
    loaded = load_image_sets(tmp_path)["fashion_2"]
    assert loaded.test_images is None
    assert loaded.test_labels is None


def test_available_lists_only_valid_complete_directories(tmp_path: Path) -> None:
    assert available_datasets(tmp_path) == []
    root = tmp_path / "datasets"
    pair = images_and_labels(3, seed=0)
    write_pair(root / "zeta", TRAIN, pair, gz=False)
    write_pair(root / "alpha", TRAIN, pair, gz=True)
    write_pair(root / "Upper", TRAIN, pair, gz=False)  # not a valid data set name
    write_pair(root / ("x" * 33), TRAIN, pair, gz=False)  # too long
    write_pair(root / ("y" * 32), TRAIN, pair, gz=False)  # the longest valid name
    (root / "half").mkdir()
    (root / "half" / TRAIN[0]).write_bytes(encode_idx(pair[0]))
    (root / "loose-file").write_bytes(b"")
    assert available_datasets(tmp_path) == ["alpha", "y" * 32, "zeta"]
    assert sorted(load_image_sets(tmp_path)) == ["alpha", "y" * 32, "zeta"]


def test_listing_reads_no_file(tmp_path: Path) -> None:
    directory = tmp_path / "datasets" / "broken"
    directory.mkdir(parents=True)
    for name in TRAIN:
        (directory / name).write_bytes(b"not idx")
    assert available_datasets(tmp_path) == ["broken"]
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: not IDX data"):
        load_image_sets(tmp_path)


def test_image_and_label_counts_must_agree(tmp_path: Path) -> None:
    images, labels = images_and_labels(5, seed=0)
    write_pair(tmp_path / "datasets" / "mnist", TRAIN, (images, labels[:4]), gz=False)
    with pytest.raises(ValueError, match="train: 5 images but 4 labels"):
        load_image_sets(tmp_path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ((np.zeros((2, 4, 28, 28), np.uint8), np.zeros(2, np.uint8)), "must be uint8"),
        ((np.zeros((2, 28, 28), np.float32), np.zeros(2, np.uint8)), "must be uint8"),
        ((np.zeros((2, 28, 28), np.uint8), np.zeros((2, 1), np.uint8)), "must be integers"),
    ],
    ids=["4d-images", "float-images", "2d-labels"],
)
def test_wrong_array_kinds_are_rejected(
    tmp_path: Path, arrays: tuple[np.ndarray, np.ndarray], message: str
) -> None:
    write_pair(tmp_path / "datasets" / "mnist", TRAIN, arrays, gz=False)
    with pytest.raises(ValueError, match=message):
        load_image_sets(tmp_path)


def test_half_a_test_pair_is_an_error(tmp_path: Path) -> None:
    directory = tmp_path / "datasets" / "mnist"
    write_pair(directory, TRAIN, images_and_labels(5, seed=0), gz=False)
    (directory / f"{TEST[0]}.gz").write_bytes(
        gzip.compress(encode_idx(np.zeros((1, 28, 28), np.uint8)))
    )
    with pytest.raises(ValueError, match="must be present together"):
        load_image_sets(tmp_path)


def test_test_images_must_match_the_train_size(tmp_path: Path) -> None:
    directory = tmp_path / "datasets" / "mnist"
    write_pair(directory, TRAIN, images_and_labels(5, seed=0), gz=False)
    write_pair(directory, TEST, (np.zeros((2, 32, 32), np.uint8), np.zeros(2, np.uint8)), gz=False)
    with pytest.raises(ValueError, match="test images are"):
        load_image_sets(tmp_path)


def test_corrupt_gzip_names_the_file(tmp_path: Path) -> None:
    directory = tmp_path / "datasets" / "mnist"
    write_pair(directory, TRAIN, images_and_labels(5, seed=0), gz=True)
    compressed = (directory / f"{TRAIN[1]}.gz").read_bytes()
    (directory / f"{TRAIN[1]}.gz").write_bytes(compressed[:-6])
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte\.gz"):
        load_image_sets(tmp_path)
