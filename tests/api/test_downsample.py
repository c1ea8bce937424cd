"""Bounds of min-max downsampling: never more than asked, ends and extremes always kept."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.downsample import select_indices

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@st.composite
def aligned_series(draw: st.DrawFn) -> tuple[list[list[float]], int]:
    length = draw(st.integers(0, 300))
    count = draw(st.integers(1, 4))
    series = [draw(st.lists(finite, min_size=length, max_size=length)) for _ in range(count)]
    return series, length


@given(aligned_series(), st.integers(2, 400))
def test_bounds(data: tuple[list[list[float]], int], max_points: int) -> None:
    series, length = data
    kept = select_indices(series, length, max_points)
    assert len(kept) <= max_points
    assert kept == sorted(set(kept)) and all(0 <= i < length for i in kept)
    if length:
        assert kept[0] == 0 and kept[-1] == length - 1
    if length <= max_points:
        assert kept == list(range(length))
    if length and max_points >= 2 + 2 * len(series):
        for values in series:
            chosen = [values[i] for i in kept]
            assert min(chosen) == min(values) and max(chosen) == max(values)


def test_a_single_spike_survives() -> None:
    values = [1.0] * 10_000
    values[6_543] = 1e6
    values[2_001] = -5.0
    kept = select_indices([values], len(values), 10)
    assert 6_543 in kept and 2_001 in kept and len(kept) <= 10


def test_uses_the_budget_for_a_smooth_curve() -> None:
    values = [math.sin(i / 50) for i in range(5_000)]
    kept = select_indices([values], len(values), 100)
    assert 90 <= len(kept) <= 100  # not just the ends and the two extremes
    gaps = [b - a for a, b in itertools.pairwise(kept)]
    assert max(gaps) < 5_000 / 10  # spread over the whole run


def test_is_deterministic_and_earliest_on_ties() -> None:
    values = [0.0, 3.0, 3.0, 3.0, -1.0, -1.0, 2.0]
    first = select_indices([values], len(values), 4)
    assert first == select_indices([values], len(values), 4)
    assert first == [0, 1, 4, 6]


def test_too_many_series_for_the_budget_favours_the_first() -> None:
    first = [0.0, 9.0, 1.0, 1.0, -9.0, 1.0, 0.0]
    second = [0.0, 1.0, 7.0, -7.0, 1.0, 1.0, 0.0]
    kept = select_indices([first, second], 7, 4)
    assert kept == [0, 1, 4, 6]


def test_rejects_a_budget_below_the_two_ends() -> None:
    with pytest.raises(ValueError, match="max_points"):
        select_indices([[1.0, 2.0, 3.0]], 3, 1)
