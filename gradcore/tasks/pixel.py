"""Pixel-by-pixel classification (sequential and permuted MNIST, Le et al. 2015): one pixel per
step, the digit's class read at the last step. scikit-learn's 8x8 digits give a small real set."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import Tensor

from gradcore.spec import PIXEL_TASK_LENGTH
from gradcore.tasks.base import Batch
from gradcore.tasks.common import DescribedTask, TaskInfo, accuracy, cross_entropy

NUM_CLASSES = 10
# The pixel order of the permuted tasks and the held-out split come from numpy's legacy
# RandomState, whose streams are fixed across numpy versions: every run, on every server, sees
# the same permutation and the same eval images, so results stay comparable.
PERMUTATION_SEED = 2016
SPLIT_SEED = 1997
HELD_OUT_FRACTION = 0.2  # of the training images, when a data set has no test split

Split = tuple[np.ndarray, np.ndarray]  # images (N, ...), labels (N,)


@dataclass(frozen=True, eq=False)
class ImageSet:
    """Labelled greyscale images: uint8 pixels (N, H, W) or (N, P), integer labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_split("train", self.train_images, self.train_labels)
        if (self.test_images is None) != (self.test_labels is None):
            raise ValueError("test_images and test_labels must be given together")
        if self.test_images is not None:
            _check_split("test", self.test_images, self.test_labels)
            if self.test_images.shape[1:] != self.train_images.shape[1:]:
                raise ValueError(
                    f"test images are {self.test_images.shape[1:]}, "
                    f"train images {self.train_images.shape[1:]}"
                )

    @property
    def pixels(self) -> int:
        return math.prod(self.train_images.shape[1:])


def _check_split(split: str, images: np.ndarray, labels: np.ndarray) -> None:
    if images.dtype != np.uint8 or images.ndim not in (2, 3):
        raise ValueError(
            f"{split} images must be uint8 (N, H, W) or (N, P), not {images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{split} labels must be integers (N,), not {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        raise ValueError(f"{split}: no images")


@dataclass(frozen=True)
class PixelSource:
    """Where a pixel task's images come from and what they must look like."""

    name: str
    label: str
    pixels: int
    pixel_max: int  # the largest pixel value: inputs are scaled by it to [0, 1]
    solved_accuracy: float


# Their lengths are the spec's, which fixes seq_len for these tasks.
DIGITS = PixelSource(
    "digits", "scikit-learn's 8x8 digits (1,797 images)", PIXEL_TASK_LENGTH["pixel_digits"], 16, 0.9
)
MNIST = PixelSource(
    "mnist", "a 28x28 MNIST-format data set", PIXEL_TASK_LENGTH["pixel_mnist"], 255, 0.95
)


def task_info(source: PixelSource, permuted: bool) -> TaskInfo:
    order = f", in one fixed random order (seed {PERMUTATION_SEED})" if permuted else ""
    return TaskInfo(
        name=f"{'permuted_' if permuted else ''}pixel_{source.name}",
        description=f"One pixel per step, scaled to [0, 1], of {source.label}{order}; the "
        f"class ({NUM_CLASSES} digits) is read at the last step.",
        input_size=1,
        output_size=NUM_CLASSES,
        every_step=False,
        metric_name="accuracy",
        solved_criterion=f"eval accuracy >= {source.solved_accuracy}",
        baseline_formula=f"log({NUM_CLASSES})",
        baseline_loss=math.log(NUM_CLASSES),
        fixed_seq_len=source.pixels,
        needs_dataset=source is MNIST,
    )


def pixel_permutation(pixels: int) -> np.ndarray:
    """The fixed pixel order of the permuted tasks: a permutation of range(pixels)."""
    return np.random.RandomState(PERMUTATION_SEED).permutation(pixels)


class PixelClassification(DescribedTask):
    """Inputs (P, B, 1) float32 in [0, 1]; targets (B,) int64 in [0, 10)."""

    def __init__(self, source: PixelSource, images: ImageSet, permuted: bool) -> None:
        if images.pixels != source.pixels:
            raise ValueError(
                f"pixel_{source.name}: images must have {source.pixels} pixels, not {images.pixels}"
            )
        super().__init__(task_info(source, permuted), source.pixels)
        self.source = source
        order = pixel_permutation(source.pixels) if permuted else np.arange(source.pixels)
        train, held_out = _train_and_eval(images)
        self.train_pixels, self.train_labels = _as_tensors(*train, order)  # (N, P) uint8, (N,)
        eval_pixels, eval_labels = _as_tensors(*held_out, order)
        self._eval = Batch(self._inputs(eval_pixels), eval_labels)

    @property
    def baseline_loss(self) -> float:
        return math.log(NUM_CLASSES)  # uniform over the classes

    def train_batch(self, batch_size: int, generator: torch.Generator) -> Batch:
        chosen = torch.randint(0, len(self.train_labels), (batch_size,), generator=generator)
        return Batch(self._inputs(self.train_pixels[chosen]), self.train_labels[chosen])

    def eval_batch(self) -> Batch:
        return self._eval

    def _inputs(self, pixels: Tensor) -> Tensor:
        """uint8 images (B, P) -> time-major float inputs (P, B, 1) in [0, 1]."""
        scaled = pixels.t().unsqueeze(-1).float() / self.source.pixel_max
        return scaled.contiguous()

    def loss(self, outputs: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
        return cross_entropy(outputs, targets, reduction)

    def metric(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return accuracy(outputs, targets)

    def is_solved(self, eval_loss: float, eval_metric: float) -> bool:
        return eval_metric >= self.source.solved_accuracy


def _train_and_eval(images: ImageSet) -> tuple[Split, Split]:
    """The test split if there is one, else a fixed held-out share of the training images."""
    train = (images.train_images, images.train_labels)
    if images.test_images is not None and images.test_labels is not None:
        return train, (images.test_images, images.test_labels)
    count = len(images.train_labels)
    held_out = int(count * HELD_OUT_FRACTION)
    if held_out == 0:
        raise ValueError(f"{count} images without a test split are too few to hold out eval data")
    order = np.random.RandomState(SPLIT_SEED).permutation(count)
    eval_rows, train_rows = order[:held_out], order[held_out:]
    return (train[0][train_rows], train[1][train_rows]), (train[0][eval_rows], train[1][eval_rows])


def _as_tensors(images: np.ndarray, labels: np.ndarray, order: np.ndarray) -> tuple[Tensor, Tensor]:
    """Flattened images with their pixels in `order` (N, P) uint8, and labels (N,) int64."""
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError(
            f"labels must lie in [0, {NUM_CLASSES}), found {labels.min()}..{labels.max()}"
        )
    pixels = images.reshape(len(images), -1)[:, order]  # fancy indexing copies
    return torch.from_numpy(pixels), torch.from_numpy(labels.astype(np.int64))


@functools.cache
def digits_image_set() -> ImageSet:
    """scikit-learn's digits as an ImageSet (uint8 values 0..16); loaded once per process."""
    digits = load_digits()
    return ImageSet(digits.images.astype(np.uint8), digits.target.astype(np.int64))


def pixel_digits(permuted: bool) -> PixelClassification:
    return PixelClassification(DIGITS, digits_image_set(), permuted)


def pixel_mnist(images: ImageSet, permuted: bool) -> PixelClassification:
    return PixelClassification(MNIST, images, permuted)
