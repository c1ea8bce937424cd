"""The tasks: build the one an ExperimentSpec names, and describe them all for the API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import get_args

from gradcore.spec import ExperimentSpec, Task
from gradcore.tasks.adding import INFO as ADDING_INFO
from gradcore.tasks.adding import AddingProblem
from gradcore.tasks.base import Batch, TaskData
from gradcore.tasks.common import TaskInfo
from gradcore.tasks.copy import INFO as COPY_INFO
from gradcore.tasks.copy import CopyMemory
from gradcore.tasks.idx import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from gradcore.tasks.pixel import (
    DIGITS,
    MNIST,
    ImageSet,
    PixelClassification,
    pixel_digits,
    pixel_mnist,
)
from gradcore.tasks.pixel import task_info as pixel_task_info
from gradcore.tasks.selective_copy import INFO as SELECTIVE_COPY_INFO
from gradcore.tasks.selective_copy import SelectiveCopy
from gradcore.tasks.temporal_order import TemporalOrder
from gradcore.tasks.temporal_order import task_info as temporal_order_task_info

__all__ = [
    "TASK_NAMES",
    "AddingProblem",
    "Batch",
    "CopyMemory",
    "DatasetUnavailable",
    "ImageSet",
    "PixelClassification",
    "SelectiveCopy",
    "TaskData",
    "TemporalOrder",
    "build_task",
    "describe_tasks",
    "needs_dataset",
]

TASK_NAMES: tuple[str, ...] = get_args(Task)

IDX_FILES_HELP = (
    f"{TRAIN_IMAGES} and {TRAIN_LABELS} (optionally also {TEST_IMAGES} and {TEST_LABELS} as a "
    "test split; each file may be gzipped with a .gz suffix)"
)


class DatasetUnavailable(ValueError):  # noqa: N818 (public name; the worker catches ValueError)
    """The spec names an image data set this server does not have."""

    def __init__(self, name: str, available: list[str]) -> None:
        self.name = name
        self.available = available
        have = ", ".join(available) if available else "none"
        super().__init__(
            f"dataset '{name}' is not available on this server (available: {have}). "
            f"An operator must put its IDX files {IDX_FILES_HELP} under "
            f"<data dir>/datasets/{name}/."
        )

    def __reduce__(self) -> tuple[type, tuple[str, list[str]]]:
        # Rebuild from the constructor's arguments, not the message, when pickled across processes.
        return DatasetUnavailable, (self.name, self.available)


def _image_set(spec: ExperimentSpec, datasets: Mapping[str, ImageSet] | None) -> ImageSet:
    datasets = datasets or {}
    if spec.dataset not in datasets:
        raise DatasetUnavailable(spec.dataset, sorted(datasets))
    return datasets[spec.dataset]


TaskBuilder = Callable[[ExperimentSpec, Mapping[str, ImageSet] | None], TaskData]

_BUILDERS: dict[str, TaskBuilder] = {
    "adding": lambda spec, _: AddingProblem(spec.seq_len),
    "copy": lambda spec, _: CopyMemory(spec.seq_len),
    "selective_copy": lambda spec, _: SelectiveCopy(spec.seq_len),
    "temporal_order": lambda spec, _: TemporalOrder(spec.seq_len, bits=2),
    "temporal_order_3bit": lambda spec, _: TemporalOrder(spec.seq_len, bits=3),
    "pixel_digits": lambda spec, _: pixel_digits(permuted=False),
    "permuted_pixel_digits": lambda spec, _: pixel_digits(permuted=True),
    "pixel_mnist": lambda spec, sets: pixel_mnist(_image_set(spec, sets), permuted=False),
    "permuted_pixel_mnist": lambda spec, sets: pixel_mnist(_image_set(spec, sets), permuted=True),
}

_INFOS: tuple[TaskInfo, ...] = (
    ADDING_INFO,
    COPY_INFO,
    SELECTIVE_COPY_INFO,
    temporal_order_task_info(bits=2),
    temporal_order_task_info(bits=3),
    *(
        pixel_task_info(source, permuted)
        for source in (DIGITS, MNIST)
        for permuted in (False, True)
    ),
)


def build_task(spec: ExperimentSpec, datasets: Mapping[str, ImageSet] | None = None) -> TaskData:
    """The task `spec` names, at its seq_len. MNIST tasks take spec.dataset from `datasets`
    and raise DatasetUnavailable when it is not there."""
    return _BUILDERS[spec.task](spec, datasets)


def needs_dataset(task: str) -> bool:
    """Whether `task` reads spec.dataset from the data sets the server holds."""
    return any(info.needs_dataset for info in _INFOS if info.name == task)


def describe_tasks() -> dict[str, dict[str, object]]:
    """Each task's description, sizes, metric, success criterion and baseline, keyed by name,
    in TASK_NAMES order. `fixed_seq_len` is set where the task fixes the length (pixel tasks);
    `baseline_loss` is None where it depends on T (see `baseline_formula`)."""
    by_name = {info.name: info.as_meta() for info in _INFOS}
    return {name: by_name[name] for name in TASK_NAMES}
