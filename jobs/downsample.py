"""Choose which points of aligned series to keep so that a chart still shows their shape.

Min-max bucketing: the first and last points are kept, the points between are split into
equal consecutive buckets, and each bucket keeps, for every series, the index of its minimum
and of its maximum. A spike or a collapse therefore survives any reduction, unlike random or
stride sampling; the global minimum and maximum of a series are the extremes of their bucket,
so they are always kept. The choice is deterministic (ties go to the earliest index).

Several series share one index set (they are columns of one trace, aligned by step), so the
number of buckets is the largest whose union of kept indices fits `max_points`. If even one
bucket cannot hold every series' extremes, earlier series come first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def select_indices(series: Sequence[Sequence[float]], length: int, max_points: int) -> list[int]:
    """Sorted indices into `length` aligned points, at most `max_points` of them."""
    if max_points < 2:
        raise ValueError("max_points: at least 2 (the first and the last point)")
    if length <= max_points:
        return list(range(length))
    arrays = [np.asarray(values, dtype=np.float64) for values in series]
    best = _priority_pick(arrays, length, max_points)
    low, high = 1, max_points
    # Kept points grow (nearly) with the bucket count: binary search the largest that fits.
    while low <= high:
        buckets = (low + high) // 2
        kept = bucket_extremes(arrays, length, buckets)
        if len(kept) <= max_points:
            best, low = kept, buckets + 1
        else:
            high = buckets - 1
    return best


def bucket_extremes(arrays: list[np.ndarray], length: int, buckets: int) -> list[int]:
    """The first and last index, and each series' min and max in each of `buckets` equal runs
    of the points between them (also how stored trace blocks are thinned)."""
    interior = length - 2
    starts = 1 + np.arange(buckets) * interior // buckets
    starts = np.unique(starts)  # more buckets than points leaves some empty: drop them
    return sorted({0, length - 1, *segment_extremes(arrays, starts, length - 1)})


def segment_extremes(arrays: list[np.ndarray], starts: np.ndarray, end: int) -> set[int]:
    """For every series, the index of the minimum and of the maximum of each segment
    [starts[i], starts[i + 1]) (the last one ends before `end`); ties go to the earliest."""
    if not arrays:
        return set()
    first = int(starts[0])
    offsets = starts - first
    values = np.stack([np.asarray(array, dtype=np.float64)[first:end] for array in arrays], 1)
    segment_of = np.repeat(np.arange(starts.size), np.diff(np.append(starts, end)))
    positions = np.arange(values.shape[0])[:, None]
    kept: set[int] = set()
    for reduce in (np.minimum, np.maximum):
        extreme = reduce.reduceat(values, offsets, axis=0)  # (segments, series)
        # The first position in each segment holding it: others are set past the end.
        hits = np.where(values == extreme[segment_of], positions, values.shape[0])
        kept.update((np.minimum.reduceat(hits, offsets, axis=0).ravel() + first).tolist())
    return kept


def _priority_pick(arrays: list[np.ndarray], length: int, max_points: int) -> list[int]:
    """First and last, then each series' global min and max in series order, up to the cap."""
    kept = [0, length - 1]
    for array in arrays:
        for index in (int(np.argmin(array)), int(np.argmax(array))):
            if index not in kept and len(kept) < max_points:
                kept.append(index)
    return sorted(kept)
