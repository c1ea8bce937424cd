"""The example specs are valid and, cut to a few steps, show the textbook picture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import gradcore
from gradcore.spec import ExperimentSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str, **overrides: object) -> ExperimentSpec:
    """The example with some top-level fields replaced, validated as a whole."""
    return ExperimentSpec.model_validate(
        {**json.loads((EXAMPLES / name).read_bytes()), **overrides}
    )


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_example_is_a_valid_spec(path: Path) -> None:
    ExperimentSpec.model_validate_json(path.read_bytes())


def first_curve(name: str) -> list[float]:
    result = gradcore.run(load(name, steps=1))
    return result.hidden_grad.norm[0][0]


@pytest.mark.parametrize("length", [100, pytest.param(300, marks=pytest.mark.slow)])
def test_tanh_vanishes_at_init_while_irnn_and_indrnn_keep_the_gradient(length: int) -> None:
    tanh, irnn, indrnn = (
        first_curve(f"adding_{cell}_T{length}.json") for cell in ("tanh", "irnn", "indrnn")
    )
    assert tanh[0] < 1e-6 * tanh[-1]
    assert irnn[-1] / 3 < irnn[0] < 3 * irnn[-1]
    assert indrnn[0] > 1e-3 * indrnn[-1]


def test_clipping_keeps_the_exploding_relu_net_training() -> None:
    unclipped = gradcore.run(load("exploding_relu_no_clipping.json", steps=5)).summary
    clipped = gradcore.run(load("exploding_relu_norm_clipping.json", steps=5))
    assert unclipped.outcome == "diverged" and unclipped.diverged_at is not None
    assert clipped.summary.outcome == "completed"
    assert all(clipped.grad_norm.clipped)
    assert max(clipped.grad_norm.clipped_total) <= 1.0 + 1e-6


def test_deep_sigmoid_mlp_gradient_falls_with_distance_from_the_output() -> None:
    result = gradcore.run(load("deep_sigmoid_mlp.json", steps=1))
    per_layer = [curve[0] for curve in result.hidden_grad.norm[0]]
    assert per_layer == sorted(per_layer)
    assert per_layer[0] < 1e-2 * per_layer[-1]


# The adding examples that learn, cut to T = 50 and 64 units with their own cell, layers,
# optimizer, clipping and steps: each ends with a held-out MSE clearly below the 1/6 baseline
# (the IRNN is the slowest: it leaves the baseline after about 1,500 steps).
LEARNERS = ["adding_irnn_T100.json", "adding_indrnn_T100.json", "adding_lstm_T100.json"]


@pytest.mark.slow
@pytest.mark.reproduction
@pytest.mark.parametrize("name", LEARNERS)
def test_the_adding_examples_learn_at_reduced_size(name: str) -> None:
    spec = load(name, seq_len=50, hidden_size=64, probe_every=1000)
    summary = gradcore.run(spec).summary
    assert summary.eval_loss is not None and summary.eval_loss < 0.7 * summary.baseline_loss


@pytest.mark.slow
@pytest.mark.reproduction
def test_the_tanh_adding_example_stays_at_the_baseline_at_reduced_size() -> None:
    spec = load("adding_tanh_T100.json", seq_len=50, hidden_size=64, probe_every=1000)
    summary = gradcore.run(spec).summary
    assert summary.eval_loss is not None and summary.eval_loss > 0.8 * summary.baseline_loss
