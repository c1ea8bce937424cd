import math
import pickle
from collections.abc import Callable
from typing import get_args

import numpy as np
import pytest
import torch

from gradcore.spec import PIXEL_TASK_LENGTH, ExperimentSpec, Task
from gradcore.tasks import (
    TASK_NAMES,
    AddingProblem,
    CopyMemory,
    DatasetUnavailable,
    ImageSet,
    SelectiveCopy,
    TaskData,
    TemporalOrder,
    build_task,
    describe_tasks,
)
from gradcore.tasks.pixel import PixelClassification, pixel_digits, pixel_mnist, pixel_permutation


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def spec(task: str, seq_len: int, **fields: object) -> ExperimentSpec:
    return ExperimentSpec(cell="tanh", task=task, seq_len=seq_len, **fields)


def fake_mnist(train: int = 30, test: int | None = None, pixels: int = 784) -> ImageSet:
    """Random uint8 images, labels cycling through the 10 classes."""
    rng = np.random.default_rng(0)

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        images = rng.integers(0, 256, (count, pixels), dtype=np.uint8)
        return images, np.arange(count) % 10

    return ImageSet(*split(train), *(split(test) if test else (None, None)))


# Each task built from scratch on every call, so tests can compare independent instances.
TASK_FACTORIES: dict[str, Callable[[], TaskData]] = {
    "adding": lambda: AddingProblem(20),
    "copy": lambda: CopyMemory(7),
    "selective_copy": lambda: SelectiveCopy(12),
    "temporal_order": lambda: TemporalOrder(20),
    "temporal_order_3bit": lambda: TemporalOrder(20, bits=3),
    "pixel_digits": lambda: pixel_digits(permuted=False),
    "permuted_pixel_digits": lambda: pixel_digits(permuted=True),
    "pixel_mnist": lambda: pixel_mnist(fake_mnist(), permuted=False),
}


@pytest.fixture(params=list(TASK_FACTORIES))
def make_task(request: pytest.FixtureRequest) -> Callable[[], TaskData]:
    return TASK_FACTORIES[request.param]


def test_batch_shapes_and_dtypes(make_task: Callable[[], TaskData]) -> None:
    task = make_task()
    batch = task.train_batch(5, generator())
    steps = task.sequence_length
    assert batch.inputs.shape == (steps, 5, task.input_size)
    assert batch.inputs.dtype == torch.float32
    if task.every_step:
        assert batch.targets.shape == (steps, 5)
        assert batch.targets.dtype == torch.int64
        outputs = torch.randn(steps, 5, task.output_size)
    else:
        assert batch.targets.shape == (5,)
        outputs = torch.randn(5, task.output_size)
    assert task.loss(outputs, batch.targets).shape == ()
    assert task.loss(outputs, batch.targets, reduction="none").shape == batch.targets.shape
    metric = task.metric(outputs, batch.targets)
    assert metric.shape == ()
    assert 0.0 <= metric.item() <= 1.0


def test_same_seed_same_batch_other_seed_other_batch(make_task: Callable[[], TaskData]) -> None:
    task = make_task()
    first, again, other = (task.train_batch(8, generator(seed)) for seed in (1, 1, 2))
    assert torch.equal(first.inputs, again.inputs)
    assert torch.equal(first.targets, again.targets)
    assert not torch.equal(first.inputs, other.inputs)


def test_eval_batch_is_fixed_and_not_a_training_batch(make_task: Callable[[], TaskData]) -> None:
    task = make_task()
    eval_batch = task.eval_batch()
    assert task.eval_batch() is eval_batch
    assert torch.equal(make_task().eval_batch().inputs, eval_batch.inputs)
    assert torch.equal(make_task().eval_batch().targets, eval_batch.targets)
    first_train = task.train_batch(eval_batch.inputs.shape[1], generator(0))
    assert not torch.equal(first_train.inputs, eval_batch.inputs)


# --- adding ---


def test_adding_has_one_marker_in_each_half_and_sums_them() -> None:
    steps = 9  # odd, so the halves are [0, 4) and [4, 9)
    batch = AddingProblem(steps).train_batch(500, generator())
    values, markers = batch.inputs[..., 0], batch.inputs[..., 1]  # (T, B)
    assert ((values >= 0) & (values < 1)).all()
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert (markers[: steps // 2].sum(0) == 1).all()
    assert (markers[steps // 2 :].sum(0) == 1).all()
    torch.testing.assert_close(batch.targets, (values * markers).sum(0))
    # Both halves' positions are all reached, not just a fixed spot.
    assert set(markers.argmax(0).tolist()) == set(range(steps // 2))


def test_adding_shortest_sequence_puts_markers_at_both_steps() -> None:
    batch = AddingProblem(2).train_batch(4, generator())
    assert (batch.inputs[..., 1] == 1).all()
    with pytest.raises(ValueError, match="at least 2"):
        AddingProblem(1)


def test_adding_baseline_is_the_loss_of_predicting_one() -> None:
    task = AddingProblem(10)
    batch = task.train_batch(200_000, generator())
    constant = torch.ones(200_000, 1)
    assert task.baseline_loss == pytest.approx(1 / 6)
    assert task.loss(constant, batch.targets).item() == pytest.approx(1 / 6, abs=0.003)
    # Predicting the mean beats every other constant: a shift of 0.1 costs 0.01 more.
    assert task.loss(constant + 0.1, batch.targets).item() == pytest.approx(1 / 6 + 0.01, abs=0.003)


def test_adding_metric_tolerance_and_solved() -> None:
    task = AddingProblem(10)
    targets = torch.tensor([1.0, 1.0, 1.0, 1.0])
    outputs = torch.tensor([[1.0], [1.039], [0.95], [2.0]])
    assert task.metric(outputs, targets).item() == pytest.approx(0.5)
    assert task.is_solved(eval_loss=0.009, eval_metric=0.0)
    assert not task.is_solved(eval_loss=0.01, eval_metric=1.0)


# --- copy ---


def test_copy_sequence_layout() -> None:
    delay = 6
    batch = CopyMemory(delay).train_batch(50, generator())
    symbols = batch.inputs.argmax(-1)  # (T + 20, B)
    assert batch.inputs.sum(-1).eq(1).all()  # one-hot
    assert symbols.shape == (delay + 20, 50)
    data = symbols[:10]
    assert ((data >= 1) & (data <= 8)).all()
    assert set(data.unique().tolist()) == set(range(1, 9))
    assert (symbols[10 : 10 + delay - 1] == 0).all()
    assert (symbols[10 + delay - 1] == 9).all()
    assert (symbols[10 + delay :] == 0).all()
    assert (batch.targets[: delay + 10] == 0).all()
    assert torch.equal(batch.targets[delay + 10 :], data)


def test_copy_baseline_is_the_memoryless_cross_entropy() -> None:
    delay = 13
    task = CopyMemory(delay)
    batch = task.train_batch(64, generator())
    # The memoryless predictor: certain of blank until the recall, then uniform over 1..8.
    probabilities = torch.zeros(delay + 20, 64, 9)
    probabilities[: delay + 10, :, 0] = 1.0
    probabilities[delay + 10 :, :, 1:] = 1 / 8
    loss = task.loss(probabilities.log(), batch.targets)
    assert loss.item() == pytest.approx(10 * math.log(8) / (delay + 20), rel=1e-5)
    assert task.baseline_loss == pytest.approx(loss.item(), rel=1e-5)


def test_copy_scores_chunks_and_recall_accuracy() -> None:
    task = CopyMemory(5)
    batch = task.train_batch(8, generator())
    perfect = torch.nn.functional.one_hot(batch.targets, 9).float() * 20
    assert task.metric(perfect, batch.targets).item() == 1.0
    all_blank = torch.nn.functional.one_hot(torch.zeros_like(batch.targets), 9).float()
    assert task.metric(all_blank, batch.targets).item() == 0.0
    # Truncated BPTT scores chunks of steps: the per-step losses add up to the whole.
    outputs = torch.randn(25, 8, 9)
    chunks = [
        task.loss(outputs[i : i + 7], batch.targets[i : i + 7], "sum") for i in (0, 7, 14, 21)
    ]
    torch.testing.assert_close(sum(chunks), task.loss(outputs, batch.targets, "sum"))
    assert task.is_solved(eval_loss=1.0, eval_metric=0.99)
    assert not task.is_solved(eval_loss=0.0, eval_metric=0.98)


# --- temporal order ---


@pytest.mark.parametrize("bits", [2, 3])
@pytest.mark.parametrize("steps", [10, 17, 100])
def test_temporal_order_symbols_in_windows_and_label(bits: int, steps: int) -> None:
    task = TemporalOrder(steps, bits=bits)
    assert task.output_size == 2**bits
    batch = task.train_batch(300, generator())
    symbols = batch.inputs.argmax(-1)  # (T, B)
    tenths = {2: [(1, 2), (5, 6)], 3: [(1, 2), (3, 4), (6, 7)]}[bits]
    windows = [(steps * lo // 10, max(steps * hi // 10, steps * lo // 10 + 1)) for lo, hi in tenths]
    for sample in range(300):
        relevant = (symbols[:, sample] < 2).nonzero().flatten().tolist()  # A = 0, B = 1
        assert len(relevant) == bits
        for position, (start, stop) in zip(relevant, windows, strict=True):
            assert start <= position < stop
        label = int("".join(str(symbols[p, sample].item()) for p in relevant), 2)
        assert batch.targets[sample].item() == label
    assert set(batch.targets.tolist()) == set(range(2**bits))


def test_temporal_order_rejects_short_sequences_and_unknown_bits() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        TemporalOrder(9)
    with pytest.raises(ValueError, match="bits"):
        TemporalOrder(100, bits=4)


@pytest.mark.parametrize(("bits", "classes"), [(2, 4), (3, 8)])
def test_temporal_order_baseline_and_solved(bits: int, classes: int) -> None:
    task = TemporalOrder(50, bits=bits)
    assert task.baseline_loss == pytest.approx(math.log(classes))
    targets = task.train_batch(10, generator()).targets
    uniform = torch.zeros(10, classes)
    assert task.loss(uniform, targets).item() == pytest.approx(math.log(classes))
    assert task.is_solved(eval_loss=9.0, eval_metric=0.99)
    assert not task.is_solved(eval_loss=0.0, eval_metric=0.989)


# --- pixel ---


def test_permutation_is_fixed_and_a_true_permutation() -> None:
    permutation = pixel_permutation(784)
    np.testing.assert_array_equal(np.sort(permutation), np.arange(784))
    np.testing.assert_array_equal(permutation, pixel_permutation(784))
    assert (permutation != np.arange(784)).mean() > 0.9


def test_permuted_task_shows_the_same_images_in_permuted_order() -> None:
    plain, permuted = pixel_digits(permuted=False), pixel_digits(permuted=True)
    order = torch.from_numpy(pixel_permutation(64))
    plain_batch, permuted_batch = (task.train_batch(16, generator(3)) for task in (plain, permuted))
    assert torch.equal(permuted_batch.inputs, plain_batch.inputs[order])
    assert torch.equal(permuted_batch.targets, plain_batch.targets)
    assert torch.equal(permuted.eval_batch().inputs, plain.eval_batch().inputs[order])


def test_digits_split_scale_and_criterion() -> None:
    task = pixel_digits(permuted=False)
    assert (task.sequence_length, task.input_size, task.output_size) == (64, 1, 10)
    assert len(task.train_labels) == 1797 - 359
    eval_batch = task.eval_batch()
    assert eval_batch.inputs.shape == (64, 359, 1)
    assert eval_batch.inputs.min() == 0.0
    assert eval_batch.inputs.max() == 1.0  # 16 / 16
    assert set(eval_batch.targets.tolist()) == set(range(10))
    assert task.baseline_loss == pytest.approx(math.log(10))
    assert task.is_solved(eval_loss=9.0, eval_metric=0.9)
    assert not task.is_solved(eval_loss=0.0, eval_metric=0.89)


def test_mnist_evaluates_on_the_test_split_when_present() -> None:
    images = fake_mnist(train=30, test=7)
    task = pixel_mnist(images, permuted=False)
    assert len(task.train_labels) == 30
    eval_batch = task.eval_batch()
    expected = torch.from_numpy(images.test_images).float().t().unsqueeze(-1) / 255
    torch.testing.assert_close(eval_batch.inputs, expected)
    assert task.is_solved(eval_loss=9.0, eval_metric=0.95)
    assert not task.is_solved(eval_loss=0.0, eval_metric=0.94)


def test_mnist_holds_out_a_fifth_without_a_test_split() -> None:
    task = pixel_mnist(fake_mnist(train=30), permuted=True)
    assert task.name == "permuted_pixel_mnist"
    assert len(task.train_labels) == 24
    assert task.eval_batch().inputs.shape == (784, 6, 1)


def test_pixel_tasks_reject_bad_images() -> None:
    with pytest.raises(ValueError, match="784 pixels, not 64"):
        pixel_mnist(fake_mnist(pixels=64), permuted=False)
    with pytest.raises(ValueError, match="labels must lie in"):
        pixel_mnist(ImageSet(np.zeros((5, 784), np.uint8), np.arange(5) + 6), permuted=False)
    with pytest.raises(ValueError, match="too few"):
        pixel_mnist(ImageSet(np.zeros((1, 784), np.uint8), np.zeros(1, np.int64)), permuted=False)
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(np.zeros((5, 784), np.float32), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        ImageSet(np.zeros((5, 784), np.uint8), np.zeros(4, np.int64))
    with pytest.raises(ValueError, match="together"):
        ImageSet(np.zeros((5, 784), np.uint8), np.zeros(5, np.int64), np.zeros((5, 784), np.uint8))


# --- selective copying ---


def test_selective_copy_places_the_symbols_in_order_among_noise() -> None:
    noise = 15
    batch = SelectiveCopy(noise).train_batch(200, generator())
    symbols = batch.inputs.argmax(-1)  # (T + 10, B)
    assert batch.inputs.sum(-1).eq(1).all()
    assert symbols.shape == (noise + 10, 200)
    assert (symbols[noise:] == 9).all()
    assert (batch.targets[:noise] == 0).all()
    for column in range(200):
        shown = symbols[:noise, column]
        placed = shown[shown != 0]  # the symbols, in the order they appear
        assert torch.equal(placed, batch.targets[noise:, column])
    # The positions vary: not a fixed delay.
    first = (symbols[:noise] != 0).float().argmax(0)
    assert len(first.unique()) > 1


def test_selective_copy_baseline_is_the_best_memoryless_predictor_on_a_large_sample() -> None:
    noise = 12
    task = SelectiveCopy(noise)
    # The best predictor without memory knows only the position: the targets' marginal there,
    # estimated on one large sample and scored on another.
    fit = task.train_batch(20_000, generator())
    counts = torch.nn.functional.one_hot(fit.targets, 9).double().sum(1) + 1e-3  # (T+10, 9)
    marginal = (counts / counts.sum(-1, keepdim=True)).log().float()
    held_out = task.train_batch(20_000, torch.Generator().manual_seed(99))
    logits = marginal[:, None, :].expand(-1, 20_000, -1)
    loss = task.loss(logits, held_out.targets).item()
    expected = 10 * math.log(8) / (noise + 10)
    assert task.baseline_loss == pytest.approx(expected, rel=1e-12)
    assert loss == pytest.approx(expected, rel=0.01)
    assert describe_tasks()["selective_copy"]["baseline_formula"] == "10*log(8)/(T+10)"


# --- build_task and describe_tasks ---


BUILT = {
    "adding": (AddingProblem, 30),
    "copy": (CopyMemory, 30),
    "selective_copy": (SelectiveCopy, 30),
    "temporal_order": (TemporalOrder, 30),
    "temporal_order_3bit": (TemporalOrder, 30),
    **{name: (PixelClassification, length) for name, length in PIXEL_TASK_LENGTH.items()},
}


@pytest.mark.parametrize("name", TASK_NAMES)
def test_build_task_matches_its_description(name: str) -> None:
    kind, seq_len = BUILT[name]
    experiment = spec(name, seq_len, dataset="tiny")
    task = build_task(experiment, {"tiny": fake_mnist()})
    meta = describe_tasks()[name]
    assert isinstance(task, kind)
    assert task.name == name
    assert task.sequence_length == experiment.sequence_length
    assert task.train_batch(2, generator()).inputs.shape[0] == experiment.sequence_length
    for field in ("input_size", "output_size", "every_step", "metric_name", "solved_criterion"):
        assert meta[field] == getattr(task, field)
    assert meta["fixed_seq_len"] == PIXEL_TASK_LENGTH.get(name)
    if meta["baseline_loss"] is not None:
        assert meta["baseline_loss"] == pytest.approx(task.baseline_loss)


def test_task_names_cover_the_spec() -> None:
    assert get_args(Task) == TASK_NAMES
    assert list(describe_tasks()) == list(TASK_NAMES)
    assert describe_tasks()["copy"]["baseline_formula"] == "10*log(8)/(T+20)"


@pytest.mark.parametrize("datasets", [None, {}, {"fashion": fake_mnist()}])
def test_missing_dataset_says_what_to_do(datasets: dict[str, ImageSet] | None) -> None:
    with pytest.raises(DatasetUnavailable) as raised:
        build_task(spec("pixel_mnist", 784, dataset="mnist"), datasets)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert "'mnist'" in message
    assert "datasets/mnist/" in message
    for file_name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images", ".gz"):
        assert file_name in message
    assert ("fashion" in message) == bool(datasets)
    assert str(pickle.loads(pickle.dumps(raised.value))) == message
