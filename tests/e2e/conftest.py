"""Fixtures of the end-to-end tests; the helpers they share with other folders are in
tests/support."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import Stack, new_stack, stop_stack


@pytest.fixture(scope="module")
def stack_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Start stacks with extra environment; all are stopped when the module ends."""
    stacks: list[Stack] = []

    def start(**env: str) -> httpx.Client:
        stacks.append(new_stack(tmp_path_factory.mktemp("stack"), **env))
        return stacks[-1].start()

    yield start
    for stack in stacks:
        stop_stack(stack)
