"""GRADFLOW_TORCH_THREADS bounds the torch threads of each run process; 0 leaves them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from pydantic import ValidationError

from jobs.settings import Settings
from worker.torch_threads import apply_torch_threads


@pytest.fixture
def threads_restored() -> Iterator[int]:
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADFLOW_TORCH_THREADS", raising=False)
    assert Settings().torch_threads == 0
    monkeypatch.setenv("GRADFLOW_TORCH_THREADS", "3")
    assert Settings().torch_threads == 3
    monkeypatch.setenv("GRADFLOW_TORCH_THREADS", "-1")
    with pytest.raises(ValidationError):
        Settings()


def test_a_run_process_applies_it(threads_restored: int) -> None:
    apply_torch_threads(1)
    assert torch.get_num_threads() == 1


def test_zero_keeps_torch_default(threads_restored: int) -> None:
    apply_torch_threads(0)
    assert torch.get_num_threads() == threads_restored
