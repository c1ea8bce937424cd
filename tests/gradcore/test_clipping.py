"""Clipping against torch.nn.utils' reference implementations."""

from __future__ import annotations

import math

import pytest
import torch

from gradcore.clipping import measure_and_clip
from gradcore.spec import ClipNone, ClipNorm, ClipValue


def make_grads(scale: float) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    return [torch.randn(shape, generator=generator) * scale for shape in [(4, 3), (7,), (2, 2)]]


def as_params(grads: list[torch.Tensor]) -> list[torch.nn.Parameter]:
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    return params


@pytest.mark.parametrize(("scale", "max_norm"), [(10.0, 1.0), (0.01, 1.0), (3.0, 2.5)])
def test_norm_clipping_matches_clip_grad_norm(scale: float, max_norm: float) -> None:
    grads = make_grads(scale)
    reference = as_params(grads)
    expected_total = torch.nn.utils.clip_grad_norm_(reference, max_norm)
    stats = measure_and_clip(grads, ClipNorm(mode="norm", max_norm=max_norm))
    assert float(stats.total) == pytest.approx(float(expected_total), rel=1e-6)
    for g, p in zip(grads, reference, strict=True):
        torch.testing.assert_close(g, p.grad)
    after = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
    assert float(stats.clipped_total) == pytest.approx(after, rel=1e-9)
    assert float(stats.clipped_total) <= max_norm * (1 + 1e-6)
    assert bool(stats.clipped) == (float(expected_total) > max_norm)
    # Direction kept: the clipped gradient is a positive multiple of the original.
    flat_before = torch.cat([g.flatten() for g in make_grads(scale)])
    flat_after = torch.cat([g.flatten() for g in grads])
    cosine = torch.nn.functional.cosine_similarity(flat_before, flat_after, dim=0)
    assert float(cosine) == pytest.approx(1.0, abs=1e-6)


def test_value_clipping_bounds_every_element() -> None:
    grads = make_grads(5.0)
    reference = as_params(grads)
    torch.nn.utils.clip_grad_value_(reference, 0.5)
    stats = measure_and_clip(grads, ClipValue(mode="value", clip_value=0.5))
    assert bool(stats.clipped)
    for g, p in zip(grads, reference, strict=True):
        assert float(g.abs().max()) <= 0.5
        torch.testing.assert_close(g, p.grad)
    assert float(stats.clipped_total) < float(stats.total)


def test_per_param_norms_and_total_without_clipping() -> None:
    grads = make_grads(1.0)
    stats = measure_and_clip(grads, ClipNone())
    expected = [float(torch.linalg.vector_norm(g.double())) for g in grads]
    assert stats.per_param.tolist() == pytest.approx(expected, rel=1e-12)
    assert float(stats.total) == pytest.approx(math.sqrt(sum(e * e for e in expected)))
    assert float(stats.clipped_total) == float(stats.total)
    assert not bool(stats.clipped)


def test_tiny_gradients_do_not_underflow_their_norm() -> None:
    # Squaring 1e-30 underflows float32; the float64 norm does not.
    grads = [torch.full((10,), 1e-30)]
    stats = measure_and_clip(grads, ClipNone())
    assert float(stats.total) == pytest.approx(math.sqrt(10) * 1e-30, rel=1e-6)
