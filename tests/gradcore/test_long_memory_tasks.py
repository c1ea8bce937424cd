"""The long-memory cells on the tasks they were built for: pixel MNIST from IDX files, digits,
selective copying, and copy at the uRNN paper's lengths."""

from __future__ import annotations

import numpy as np
import pytest

import gradcore
from gradcore.estimate import estimate_work
from gradcore.spec import LONG_MEMORY_CELLS, ExperimentSpec
from gradcore.tasks.idx import parse_idx
from gradcore.tasks.pixel import ImageSet
from tests.support.idx import encode_idx

TINY = {"hidden_size": 4, "batch_size": 2, "steps": 1, "probe_every": 1}


def tiny_mnist() -> ImageSet:
    """Four training and two test images of 28 x 28, through IDX files."""
    rng = np.random.default_rng(0)

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = np.arange(count, dtype=np.uint8) % 10
        return parse_idx(encode_idx(images)), parse_idx(encode_idx(labels))

    return ImageSet(*split(4), *split(2))


# Every cell on digits; MNIST's 784 steps for one cell of each kind (loop and scan), for time.
PIXEL_RUNS = [(cell, "permuted_pixel_digits") for cell in LONG_MEMORY_CELLS] + [
    ("exprnn", "pixel_mnist"),
    ("s4d", "permuted_pixel_mnist"),
]


@pytest.mark.parametrize(("cell", "task"), PIXEL_RUNS)
def test_cells_run_the_pixel_tasks(cell: str, task: str) -> None:
    seq_len = 784 if "mnist" in task else 64
    spec = ExperimentSpec(cell=cell, task=task, seq_len=seq_len, dataset="tiny", **TINY)
    result = gradcore.run(spec, datasets={"tiny": tiny_mnist()})
    assert result.summary.outcome == "completed"
    assert len(result.hidden_grad.norm[0][0]) == seq_len
    # The loss is at the last step; earlier norms may underflow to 0 (a small |lambda|, or
    # modReLU's zero derivative at a zero state on blank pixels).
    assert result.hidden_grad.norm[0][0][-1] > 0


def test_selective_copy_trains_an_lru() -> None:
    spec = ExperimentSpec(cell="lru", task="selective_copy", seq_len=12, **TINY)
    result = gradcore.run(spec)
    assert result.hidden_grad.time_steps == 22
    assert result.summary.baseline_loss == pytest.approx(10 * np.log(8) / 22)


@pytest.mark.parametrize("seq_len", [1000, 10_000])
def test_copy_is_admitted_at_the_unitary_papers_lengths(seq_len: int) -> None:
    for cell in (*LONG_MEMORY_CELLS, "lstm"):
        spec = ExperimentSpec(cell=cell, task="copy", seq_len=seq_len, steps=1000)
        assert spec.sequence_length == seq_len + 20
        # Well under the server's default work limit (jobs.settings.limit_cost, 1e14).
        assert estimate_work(spec) < 1e14
