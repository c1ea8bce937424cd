"""The gallery's definitions: every plan expands to valid specs, the measures read what they
say, and every predicate passes the claim's numbers and fails numbers that break it."""

from __future__ import annotations

import math

import pytest

import gradcore
from gradcore.reproductions import REPRODUCTIONS, SCALES, specs
from gradcore.reproductions.base import Numbers, Plan, Table
from gradcore.reproductions.cnn_versus_rnn import CNN_VERSUS_RNN
from gradcore.reproductions.forget_bias import FORGET_BIAS
from gradcore.reproductions.indrnn_adding import INDRNN_ADDING
from gradcore.reproductions.indrnn_long import INDRNN_LONG
from gradcore.reproductions.irnn_adding import IRNN_ADDING
from gradcore.reproductions.lru_ratio import LRU_RATIO
from gradcore.reproductions.lstm_copy import LSTM_COPY
from gradcore.reproductions.measures import at_init, training
from gradcore.reproductions.relu_clipping import RELU_CLIPPING
from gradcore.reproductions.sigmoid_mlp import SIGMOID_MLP, first_over_last
from gradcore.reproductions.tanh_vanishing import TANH_VANISHING
from tests.gradcore.helpers import small_spec


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("name", REPRODUCTIONS)
def test_every_plan_expands_to_valid_specs_one_seed_apart(name: str, scale: str) -> None:
    points = specs(REPRODUCTIONS[name], scale, seeds=3)
    assert points
    for point in points:
        assert [spec.seed for spec in point] == [0, 1, 2]
        assert len({spec.model_copy(update={"seed": 0}) for spec in point}) == 1


def test_a_plan_sets_dotted_paths_inside_the_base() -> None:
    plan = Plan({"cell": "lstm", "task": "adding", "seq_len": 5}, {"init.forget_bias": [0.0, 2.0]})
    points = plan.points()
    assert points == [{"init.forget_bias": 0.0}, {"init.forget_bias": 2.0}]
    spec = plan.spec(points[1], seed=4)
    assert (spec.init.forget_bias, spec.seed, spec.cell) == (2.0, 4, "lstm")
    assert plan.base == {"cell": "lstm", "task": "adding", "seq_len": 5}  # left as it was


def test_at_init_reads_the_first_probe_of_layer_zero() -> None:
    result = gradcore.run(small_spec(seq_len=6, steps=1))
    curve = result.hidden_grad.norm[0][0]
    numbers = at_init(result)
    assert numbers["ratio"] == curve[0] / curve[5]
    # The tanh curve only falls away from the loss, so its largest excursion is at t = 1.
    assert numbers["excursion"] == pytest.approx(-math.log10(curve[0] / curve[5]))
    assert (numbers["length"], numbers["horizon"]) == (6, result.hidden_grad.horizon[0][0])


def test_first_over_last_divides_layer_zero_by_the_last_hidden_layer() -> None:
    spec = small_spec(cell="mlp", task="pixel_digits", seq_len=64, num_layers=3, steps=1)
    result = gradcore.run(spec)
    change = result.weight_change.per_layer
    assert first_over_last(result) == {
        "ratio": change["layer0.weight"][0] / change["layer2.weight"][0]
    }


def seeds(*numbers: Numbers) -> list[Numbers]:
    return list(numbers)


def tanh_table(ratios: list[float], horizons: list[float]) -> Table:
    return [
        seeds(*[{"ratio": ratio, "horizon": horizon, "length": length}] * 3)
        for ratio, horizon, length in zip(ratios, horizons, (25, 50, 100), strict=True)
    ]


def test_tanh_vanishing_needs_an_exponential_fall_and_a_flat_horizon() -> None:
    judge = TANH_VANISHING.judge
    assert judge(tanh_table([1e-6, 1e-12, 1e-24], [13, 13, 14])).passed
    assert not judge(tanh_table([1e-6, 1e-7, 1e-8], [13, 13, 13])).passed  # not exponential
    assert not judge(tanh_table([1e-1, 1e-2, 1e-4], [13, 13, 13])).passed  # too slow a fall
    assert not judge(tanh_table([1e-6, 1e-12, 1e-24], [13, 25, 50])).passed  # horizon grows


def pair(first: list[Numbers], second: list[Numbers]) -> Table:
    return [first, second]


def test_lru_ratio_needs_every_seed_inside_its_rings_bounds() -> None:
    inside = [seeds(*[{"ratio": ratio}] * 3) for ratio in (1e-35, 1e-10, 0.5)]
    assert LRU_RATIO.judge(inside).passed
    above = [*inside[:2], seeds({"ratio": 0.5}, {"ratio": 0.95}, {"ratio": 0.5})]  # 0.999^99
    assert not LRU_RATIO.judge(above).passed
    below = [seeds(*[{"ratio": 1e-35}] * 3), seeds(*[{"ratio": 1e-31}] * 3), inside[2]]
    assert not LRU_RATIO.judge(below).passed  # 0.5^99 = 1.6e-30


def test_forget_bias_needs_six_orders_on_every_seed() -> None:
    zero = seeds(*[{"ratio": 1e-20, "horizon": 11}] * 3)
    assert FORGET_BIAS.judge(pair(zero, seeds(*[{"ratio": 5e-8, "horizon": 30}] * 3))).passed
    weak_seed = [{"ratio": 5e-8, "horizon": 30}] * 2 + [{"ratio": 1e-17, "horizon": 12}]
    assert not FORGET_BIAS.judge(pair(zero, weak_seed)).passed


def test_sigmoid_mlp_needs_each_init_below_its_factor() -> None:
    judge = SIGMOID_MLP.judge
    assert judge(pair([{"ratio": 4e-7}] * 3, [{"ratio": 3e-5}] * 3)).passed
    assert not judge(pair([{"ratio": 4e-7}] * 2 + [{"ratio": 1e-4}], [{"ratio": 3e-5}] * 3)).passed
    assert not judge(pair([{"ratio": 4e-7}] * 3, [{"ratio": 0.5}] * 3)).passed


def test_cnn_versus_rnn_needs_a_flat_cnn_and_a_vanishing_rnn() -> None:
    flat_cnn = [{"ratio": 0.3, "excursion": 1.0}] * 3
    vanishing_rnn = [{"ratio": 1e-30, "excursion": 30.0}] * 3
    judge = CNN_VERSUS_RNN.judge
    assert judge(pair(flat_cnn, vanishing_rnn)).passed
    assert not judge(pair([{"ratio": 1e-3, "excursion": 3.0}] * 3, vanishing_rnn)).passed
    assert not judge(pair(flat_cnn, [{"ratio": 0.5, "excursion": 0.3}] * 3)).passed


def run_numbers(diverged: bool, first: float, held_out: float) -> Numbers:
    return {"diverged": float(diverged), "first_loss": first, "eval_loss": held_out}


def test_relu_clipping_needs_divergence_without_and_training_with() -> None:
    diverges = [run_numbers(True, 6000.0, math.inf)] * 3
    trains = [run_numbers(False, 6000.0, 1.0)] * 3
    judge = RELU_CLIPPING.judge
    assert judge(pair(diverges, trains)).passed
    assert not judge(pair([*diverges[:2], run_numbers(False, 6000.0, 1.0)], trains)).passed
    assert not judge(pair(diverges, [*trains[:2], run_numbers(True, 6000.0, math.inf)])).passed
    assert not judge(pair(diverges, [run_numbers(False, 6000.0, 3000.0)] * 3)).passed


def held_out(*fractions: float) -> list[Numbers]:
    return [{"eval_loss": fraction / 6, "baseline": 1 / 6} for fraction in fractions]


def test_irnn_adding_needs_the_irnn_to_learn_and_tanh_to_stay() -> None:
    judge = IRNN_ADDING.judge
    assert judge(pair(held_out(0.2, 0.3, 0.1), held_out(0.92, 0.95, 1.0))).passed
    assert not judge(pair(held_out(0.2, 0.6, 0.1), held_out(0.92, 0.95, 1.0))).passed
    assert not judge(pair(held_out(0.2, 0.3, 0.1), held_out(0.92, 0.5, 1.0))).passed


def test_indrnn_adding_needs_every_cell_but_tanh_to_learn() -> None:
    stays, learns = held_out(0.9, 0.95, 1.0), held_out(0.1, 0.2, 0.3)
    judge = INDRNN_ADDING.judge
    assert judge([stays, learns, learns, learns]).passed
    assert not judge([stays, learns, held_out(0.1, 0.9, 0.3), learns]).passed
    assert not judge([learns, learns, learns, learns]).passed


@pytest.mark.parametrize("scale", SCALES)
def test_indrnn_adding_gives_the_lstm_alone_a_forget_bias_and_shares_the_irnn_runs(
    scale: str,
) -> None:
    points = [point[0] for point in specs(INDRNN_ADDING, scale, seeds=1)]
    assert [spec.cell for spec in points] == ["tanh", "irnn", "lstm", "indrnn"]
    assert [spec.init.forget_bias for spec in points] == [None, None, 1.0, None]
    shared = {spec for point in specs(IRNN_ADDING, scale, seeds=1) for spec in point}
    assert set(points[:2]) <= shared  # the tanh and IRNN runs are irnn_adding's


def long_numbers(ratio: float, horizon: float) -> list[Numbers]:
    return [{"ratio": ratio, "horizon": horizon, "length": 1000.0}] * 3


def test_indrnn_long_needs_the_lstm_cut_off_and_indrnn_reaching_back() -> None:
    judge = INDRNN_LONG.judge
    assert judge(pair(long_numbers(0.0, 11), long_numbers(20.0, 1000))).passed
    assert not judge(pair(long_numbers(1e-5, 300), long_numbers(20.0, 1000))).passed
    assert not judge(pair(long_numbers(0.0, 11), long_numbers(20.0, 400))).passed


def copy_run(late: float, held: float) -> Numbers:
    baseline = 0.1733
    return {
        "first_loss": 2.2,
        "late_loss": late * baseline,
        "eval_loss": held * baseline,
        "baseline": baseline,
    }


def test_lstm_copy_needs_the_loss_at_the_baseline() -> None:
    judge = LSTM_COPY.judge
    assert judge([[copy_run(1.01, 1.0)] * 3]).passed
    assert not judge([[copy_run(1.01, 1.0)] * 2 + [copy_run(0.5, 0.4)]]).passed  # it learned
    assert not judge([[copy_run(1.4, 1.3)] * 3]).passed  # not yet down to the baseline


def test_training_reads_the_losses_and_the_summary() -> None:
    result = gradcore.run(small_spec(steps=4))
    numbers = training(result)
    losses = result.loss.loss
    assert numbers == {
        "diverged": 0.0,
        "first_loss": losses[0],
        "late_loss": (losses[2] + losses[3]) / 2,
        "eval_loss": result.summary.eval_loss,
        "baseline": 1 / 6,
    }
