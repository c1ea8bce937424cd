"""The example specs are valid and, cut to a few steps, show the textbook picture."""

from __future__ import annotations

from pathlib import Path

import pytest

import gradcore
from gradcore.spec import ExperimentSpec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str, **overrides: object) -> ExperimentSpec:
    spec = ExperimentSpec.model_validate_json((EXAMPLES / name).read_bytes())
    return spec.model_copy(update=overrides)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_every_example_is_a_valid_spec(path: Path) -> None:
    ExperimentSpec.model_validate_json(path.read_bytes())


def first_curve(name: str) -> list[float]:
    result = gradcore.run(load(name, steps=1))
    return result.hidden_grad.norm[0][0]


def test_tanh_vanishes_at_init_while_irnn_and_indrnn_keep_the_gradient() -> None:
    tanh, irnn, indrnn = (
        first_curve(f"adding_{cell}_T100.json") for cell in ("tanh", "irnn", "indrnn")
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
