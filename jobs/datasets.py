"""The image data sets on this server: IDX files under <data dir>/datasets/<name>/."""

from __future__ import annotations

import gzip
import re
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np

from gradcore.spec import DATASET_NAME_PATTERN
from gradcore.tasks import ImageSet
from gradcore.tasks.idx import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, parse_idx

DATASET_NAME = re.compile(DATASET_NAME_PATTERN)
GZIP_MAGIC = b"\x1f\x8b"


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
    return read_idx_file(path)


def read_idx_file(path: Path) -> np.ndarray:
    """One IDX file, plain or gzipped (told apart by gzip's magic bytes); ValueError names it."""
    try:
        data = path.read_bytes()
        return parse_idx(gzip.decompress(data) if data[:2] == GZIP_MAGIC else data)
    except (ValueError, OSError, EOFError, zlib.error) as error:  # malformed IDX, bad gzip
        raise ValueError(f"{path}: {error}") from error


def _find(directory: Path, stem: str) -> Path | None:
    """The file `stem` in `directory`, or its gzipped form `stem.gz`; the plain one wins."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def add_dataset(
    data_dir: Path, name: str, sources: dict[str, Path], replace: bool = False
) -> ImageSet:
    """Copies IDX files into <data dir>/datasets/<name>/ under the names the loader reads, once
    they read back as a data set. `sources` maps TRAIN_IMAGES and TRAIN_LABELS (and, together,
    TEST_IMAGES and TEST_LABELS) to files, plain or gzipped. ValueError says what is wrong;
    FileExistsError when the name is taken and not `replace`. Running jobs never see a half
    written set: the files are staged in a hidden directory, then renamed into place."""
    if not DATASET_NAME.match(name):
        raise ValueError(f"{name!r}: a data set name matches {DATASET_NAME_PATTERN}")
    if not {TRAIN_IMAGES, TRAIN_LABELS} <= sources.keys():
        raise ValueError("training images and labels are both required")
    arrays = {stem: read_idx_file(path) for stem, path in sources.items()}
    test = (arrays.get(TEST_IMAGES), arrays.get(TEST_LABELS))
    image_set = ImageSet(arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS], *test)
    root = data_dir / "datasets"
    target = root / name
    if target.exists() and not replace:
        raise FileExistsError(f"data set {name} exists")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        for stem, path in sources.items():
            with path.open("rb") as file:
                gzipped = file.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            shutil.copyfile(path, staging / (f"{stem}.gz" if gzipped else stem))
        staging.chmod(0o755)  # mkdtemp's 0700 would hide it from another user's workers
        if target.exists():
            target.rename(old := staging.with_name(f"{staging.name}.old"))
            shutil.rmtree(old)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return image_set
