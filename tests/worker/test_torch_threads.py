"""GRADFLOW_TORCH_THREADS bounds the worker's torch threads when it starts; 0 leaves them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from pydantic import ValidationError

from api.settings import Settings
from worker.tasks import _set_torch_threads


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


def test_worker_start_applies_it(monkeypatch: pytest.MonkeyPatch, threads_restored: int) -> None:
    monkeypatch.setenv("GRADFLOW_TORCH_THREADS", "1")
    _set_torch_threads()
    assert torch.get_num_threads() == 1


def test_zero_keeps_torch_default(monkeypatch: pytest.MonkeyPatch, threads_restored: int) -> None:
    monkeypatch.setenv("GRADFLOW_TORCH_THREADS", "0")
    _set_torch_threads()
    assert torch.get_num_threads() == threads_restored
