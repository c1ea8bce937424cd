"""The image data sets on this server: IDX files under <data dir>/datasets/<name>/."""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from gradcore.spec import DATASET_NAME_PATTERN
from gradcore.tasks import ImageSet
from gradcore.tasks.idx import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, parse_idx

DATASET_NAME = re.compile(DATASET_NAME_PATTERN)


def available_datasets(data_dir: Path) -> list[str]:
    """Names of the data set directories that hold a training pair, sorted; nothing is read."""
    root = data_dir / "datasets"
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir()
        and DATASET_NAME.match(entry.name)
        and all(_find(entry, stem) for stem in (TRAIN_IMAGES, TRAIN_LABELS))
    )


def load_image_sets(data_dir: Path) -> dict[str, ImageSet]:
    """Every available data set, read and checked; ValueError names the file at fault."""
    return {name: _load(data_dir / "datasets" / name) for name in available_datasets(data_dir)}


def load_image_set(data_dir: Path, name: str) -> dict[str, ImageSet]:
    """{name: the data set} if this server has it, else {} (the task then says what to do)."""
    if name not in available_datasets(data_dir):
        return {}
    return {name: _load(data_dir / "datasets" / name)}


def _load(directory: Path) -> ImageSet:
    train = _read_pair(directory, TRAIN_IMAGES, TRAIN_LABELS)
    test_present = [_find(directory, stem) is not None for stem in (TEST_IMAGES, TEST_LABELS)]
    if any(test_present) and not all(test_present):
        raise ValueError(f"{directory}: {TEST_IMAGES} and {TEST_LABELS} must be present together")
    test = _read_pair(directory, TEST_IMAGES, TEST_LABELS) if all(test_present) else (None, None)
    try:
        return ImageSet(*train, *test)
    except ValueError as error:
        raise ValueError(f"{directory}: {error}") from error


def _read_pair(
    directory: Path, images_stem: str, labels_stem: str
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels as stored; ImageSet checks their kinds and counts against each other."""
    return _read_idx(directory, images_stem), _read_idx(directory, labels_stem)


def _read_idx(directory: Path, stem: str) -> np.ndarray:
    path = _find(directory, stem)
    if path is None:
        raise ValueError(f"{directory}: {stem} (or {stem}.gz) is missing")
    try:
        data = path.read_bytes()
        return parse_idx(gzip.decompress(data) if path.suffix == ".gz" else data)
    except (ValueError, OSError, EOFError, zlib.error) as error:  # malformed IDX, bad gzip
        raise ValueError(f"{path}: {error}") from error


def _find(directory: Path, stem: str) -> Path | None:
    """The file `stem` in `directory`, or its gzipped form `stem.gz`; the plain one wins."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None
