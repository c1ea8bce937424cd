"""A run flushes float32 denormals while it trains and restores the caller's mode after."""

from __future__ import annotations

import pytest
import torch

import gradcore
from gradcore.denormals import flush_denormals, flushing_denormals
from tests.gradcore.helpers import small_spec


@pytest.mark.parametrize("before", [False, True])
def test_run_flushes_inside_and_restores_the_previous_mode(before: bool) -> None:
    torch.set_flush_denormal(before)
    seen: list[bool] = []
    try:
        gradcore.run(small_spec(steps=2), should_stop=lambda: seen.append(flushing_denormals()))
        assert seen == [True, True]
        assert flushing_denormals() is before
    finally:
        torch.set_flush_denormal(False)


def test_the_mode_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), flush_denormals():
        assert flushing_denormals()
        raise RuntimeError
    assert not flushing_denormals()
