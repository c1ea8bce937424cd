"""The gradient horizon: T minus the earliest t whose |dL/dh_t| reaches the fraction of the peak."""

from __future__ import annotations

import pytest

import gradcore
from gradcore.probes import gradient_horizon
from tests.gradcore.helpers import small_spec


@pytest.mark.parametrize(
    ("norms", "horizon"),
    [
        ([0.0, 0.0, 0.0], 0),  # no gradient anywhere
        ([1e-9, 1e-2, 1.0], 2),  # the earliest at or above 1e-3 of the peak is t = 1
        ([1e-2, 1e-9, 1e-9, 1.0], 4),  # a dip does not end it: counted from t = 0
        ([1.0, 1e-9, 1e-9, 1e-9], 4),  # the peak itself is the earliest
        ([1e-9, 1e-3, 1.0], 2),  # at the threshold counts
    ],
)
def test_horizon_counts_from_the_earliest_crossing(norms: list[float], horizon: int) -> None:
    assert gradient_horizon(norms, 1e-3) == horizon


def test_copy_horizon_is_the_whole_sequence_by_construction() -> None:
    """A loss at every step gives every h_t a direct gradient: the horizon is the whole T + 20
    steps at init, whatever reaches back through time."""
    result = gradcore.run(small_spec(task="copy", seq_len=100, hidden_size=16, steps=1))
    assert result.hidden_grad.horizon[0][0] == 120
