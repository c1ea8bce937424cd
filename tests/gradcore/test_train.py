"""The training loop end to end: traces, determinism, divergence, progress, cancellation."""

from __future__ import annotations

import json
import math

import pytest
import torch

import gradcore
from gradcore.result import ExperimentResult, Progress
from gradcore.spec import indrnn_cap
from gradcore.tasks import build_task
from gradcore.train import seeded_network
from tests.gradcore.helpers import small_spec


def test_result_shapes_are_columnar_and_aligned() -> None:
    spec = small_spec(cell="lstm", task="copy", seq_len=5, num_layers=2, steps=7, probe_every=3)
    result = gradcore.run(spec)
    assert result.loss.step == list(range(7)) == result.grad_norm.step == result.weight_change.step
    assert (
        len(result.loss.loss) == len(result.grad_norm.total) == len(result.grad_norm.clipped) == 7
    )
    assert result.hidden_grad.step == [0, 3, 6]
    assert result.hidden_grad.time_steps == 25  # copy: T + 20
    assert result.hidden_grad.layers == ["layer0", "layer1"]
    assert [[len(curve) for curve in probe] for probe in result.hidden_grad.norm] == [[25, 25]] * 3
    assert set(result.grad_norm.per_param) == {
        f"layer{i}.{kind}"
        for i in (0, 1)
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    } | {"readout.weight", "readout.bias"}
    assert set(result.weight_change.per_layer) == {
        "layer0.weight_ih",
        "layer0.weight_hh",
        "layer1.weight_ih",
        "layer1.weight_hh",
        "readout.weight",
    }
    summary = result.summary
    assert summary.outcome == "completed" and summary.steps_completed == 7
    assert summary.baseline_loss == pytest.approx(10 * math.log(8) / 25)
    assert set(summary.spectral_radius_start) == {
        f"layer{i}.weight_hh.{g}" for i in (0, 1) for g in "ifgo"
    }
    assert summary.gradient_horizon == result.hidden_grad.horizon
    # Plain JSON: no NaN, no objects per point.
    parsed = ExperimentResult.model_validate_json(result.model_dump_json())
    assert parsed == result
    json.loads(result.model_dump_json())


def test_first_step_norms_and_weight_change_match_plain_autograd() -> None:
    """Step 0 recomputed independently: same seeded net and batch, plain backward, SGD."""
    spec = small_spec(cell="gru", optimizer={"name": "sgd", "lr": 0.1}, steps=1)
    result = gradcore.run(spec)
    task = build_task(spec)
    net = seeded_network(spec, task.input_size, task.output_size)
    batch = task.train_batch(spec.batch_size, torch.Generator().manual_seed(spec.seed))
    features, _ = net(batch.inputs, None)
    loss = task.loss(net.readout(features[-1]), batch.targets)
    loss.backward()
    assert result.loss.loss[0] == pytest.approx(loss.item(), rel=1e-6)
    grads = dict(net.named_weights())
    for name, norms in result.grad_norm.per_param.items():
        assert norms[0] == pytest.approx(float(grads[name].grad.norm()), rel=1e-5), name
    total = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in grads.values()))
    assert result.grad_norm.total[0] == pytest.approx(total, rel=1e-6)
    # SGD without momentum moves each weight by lr * grad.
    for name, change in result.weight_change.per_layer.items():
        expected = 0.1 * float(grads[name].grad.abs().mean())
        assert change[0] == pytest.approx(expected, rel=1e-4), name


def test_norm_clipping_in_the_loop() -> None:
    spec = small_spec(cell="relu", clipping={"mode": "norm", "max_norm": 0.01}, steps=5)
    grad = gradcore.run(spec).grad_norm
    for total, clipped_total, clipped in zip(
        grad.total, grad.clipped_total, grad.clipped, strict=True
    ):
        assert clipped == (total > 0.01)
        assert clipped_total == pytest.approx(min(total, 0.01), rel=1e-4)


def test_seeded_runs_are_identical_and_seeds_differ() -> None:
    spec = small_spec(cell="lstm", steps=5)
    a, b = gradcore.run(spec), gradcore.run(spec)
    c = gradcore.run(spec.model_copy(update={"seed": 1}))
    for part in ("loss", "grad_norm", "hidden_grad", "weight_change"):
        assert getattr(a, part) == getattr(b, part)
    assert a.loss.loss != c.loss.loss


def test_exploding_configuration_ends_diverged_with_its_step() -> None:
    # W_hh = 3I with ReLU: |h_t| grows like 3^t and overflows float32 within 100 steps.
    spec = small_spec(
        cell="relu", seq_len=100, init={"recurrent": "identity", "recurrent_scale": 3.0}
    )
    result = gradcore.run(spec)
    summary = result.summary
    assert summary.outcome == "diverged"
    assert summary.diverged_at == 0
    assert "not finite" in summary.diverged_reason
    assert summary.steps_completed == 0 and result.loss.loss == []
    assert summary.solved is False
    json.loads(result.model_dump_json())


def test_divergence_later_in_training_keeps_the_history() -> None:
    # An enormous learning rate on a ReLU net blows the weights up after a few updates.
    spec = small_spec(
        cell="relu", optimizer={"name": "sgd", "lr": 10.0}, steps=50, init={"recurrent": "identity"}
    )
    result = gradcore.run(spec)
    summary = result.summary
    assert summary.outcome == "diverged"
    assert 0 < summary.diverged_at < 50
    assert result.loss.step == list(range(summary.diverged_at))
    assert all(math.isfinite(v) for v in result.grad_norm.total)


def test_indrnn_recurrent_weights_stay_within_the_bound() -> None:
    spec = small_spec(
        cell="indrnn",
        seq_len=10,
        optimizer={"name": "sgd", "lr": 5.0},
        clipping={"mode": "norm", "max_norm": 10.0},
        steps=20,
        num_layers=2,
    )
    result = gradcore.run(spec)
    cap = indrnn_cap(10)
    assert result.summary.outcome == "completed"
    assert all(r <= cap + 1e-6 for r in result.summary.spectral_radius_end.values())
    # The bound binds: the large steps pushed some |u| to it.
    assert max(result.summary.spectral_radius_end.values()) == pytest.approx(cap, rel=1e-6)


def test_progress_and_should_stop() -> None:
    spec = small_spec(steps=50)
    seen: list[Progress] = []
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 10  # stop before the 11th step

    result = gradcore.run(spec, on_progress=seen.append, should_stop=should_stop)
    assert result.summary.outcome == "stopped"
    assert result.summary.steps_completed == 10
    assert result.loss.step == list(range(10))
    full = []
    gradcore.run(small_spec(steps=3), on_progress=full.append)
    assert full[-1].step == 3 and full[-1].total == 3 and full[-1].loss is not None


def test_textbook_picture_at_init() -> None:
    """At init on adding, T=100: tanh's dL/dh_1 is orders of magnitude below dL/dh_T; IRNN's
    stays within a small factor."""
    tanh = gradcore.run(small_spec(cell="tanh", seq_len=100, hidden_size=64, steps=1))
    irnn = gradcore.run(small_spec(cell="irnn", seq_len=100, hidden_size=64, steps=1))
    tanh_curve = tanh.hidden_grad.norm[0][0]
    irnn_curve = irnn.hidden_grad.norm[0][0]
    assert tanh_curve[0] < 1e-6 * tanh_curve[-1]
    assert irnn_curve[-1] / 3 < irnn_curve[0] < irnn_curve[-1] * 3
    assert irnn.hidden_grad.horizon[0][0] == 100
    assert tanh.hidden_grad.horizon[0][0] < 50


@pytest.mark.slow
def test_lstm_learns_the_adding_problem() -> None:
    spec = small_spec(
        cell="lstm",
        seq_len=20,
        hidden_size=32,
        batch_size=64,
        steps=300,
        probe_every=100,
        optimizer={"lr": 0.01},
    )
    summary = gradcore.run(spec).summary
    assert summary.eval_loss < summary.baseline_loss / 5
    assert summary.solved


def test_mlp_depth_demo_gradients_fall_with_depth() -> None:
    spec = small_spec(
        cell="mlp", task="pixel_digits", seq_len=64, num_layers=6, hidden_size=32, steps=3
    )
    result = gradcore.run(spec)
    first_probe = [curve[0] for curve in result.hidden_grad.norm[0]]
    assert first_probe == sorted(
        first_probe
    )  # sigmoid: each layer further from the output is smaller
    assert len(result.weight_change.per_layer) == 7  # 6 hidden layers and the readout
    assert result.summary.spectral_radius_start == {}
