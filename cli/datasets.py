"""`python -m cli datasets add NAME --images F --labels F | list`: the image data sets of the
data directory (GRADFLOW_DATA_DIR/datasets/<name>/, MNIST's IDX files).

Run where the workers' data directory is mounted read-write (in compose: the `datasets`
service, see docs/operations.md). Running services see a new set at once: the API and the
workers look the sets up per request and per job.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gradcore.tasks import ImageSet
from gradcore.tasks.idx import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS

# (option, the file name the loader reads it under)
FILES = {
    "images": TRAIN_IMAGES,
    "labels": TRAIN_LABELS,
    "test_images": TEST_IMAGES,
    "test_labels": TEST_LABELS,
}


def add_datasets_command(commands: argparse._SubParsersAction) -> None:
    datasets = commands.add_parser("datasets", help="add and list image data sets (IDX files)")
    actions = datasets.add_subparsers(dest="action", required=True)
    add = actions.add_parser(
        "add", help="check MNIST-format IDX files (plain or .gz) and copy them in as a data set"
    )
    add.add_argument("name", help="the spec's `dataset` value, e.g. mnist")
    add.add_argument("--images", type=Path, required=True, help="training images (idx3)")
    add.add_argument("--labels", type=Path, required=True, help="training labels (idx1)")
    add.add_argument("--test-images", type=Path, help="held-out images (with --test-labels)")
    add.add_argument("--test-labels", type=Path, help="held-out labels (with --test-images)")
    add.add_argument("--replace", action="store_true", help="replace a data set of that name")
    actions.add_parser("list", help="every data set: name, images, size")
    for action in actions.choices.values():
        action.add_argument(
            "--data-dir", type=Path, help="holds datasets/<name>/ (default: GRADFLOW_DATA_DIR)"
        )


def run_datasets(args: argparse.Namespace, data_dir: Path) -> int:
    from jobs.datasets import add_dataset, available_datasets, load_image_set

    data_dir = args.data_dir or data_dir
    if args.action == "list":
        for name in available_datasets(data_dir):
            try:
                print(f"{name}  {describe(load_image_set(data_dir, name)[name])}")
            except ValueError as error:
                print(f"{name}  unreadable: {error}")
        return 0
    sources = {stem: getattr(args, option) for option, stem in FILES.items()}
    try:
        image_set = add_dataset(
            data_dir,
            args.name,
            {stem: path for stem, path in sources.items() if path is not None},
            args.replace,
        )
    except FileExistsError:
        raise SystemExit(f"gradflow: data set {args.name} exists; --replace replaces it") from None
    except ValueError as error:
        raise SystemExit(f"gradflow: {error}") from None
    print(f"added {args.name}: {describe(image_set)}")
    return 0


def describe(image_set: ImageSet) -> str:
    """e.g. "60000 training and 10000 test images of 28x28, labels 0..9"."""
    test = image_set.test_images
    held_out = f" and {len(test)} test" if test is not None else ""
    labels = image_set.train_labels
    shape = "x".join(map(str, image_set.train_images.shape[1:]))
    return (
        f"{len(labels)} training{held_out} images of {shape}, labels {labels.min()}..{labels.max()}"
    )
