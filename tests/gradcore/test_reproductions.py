"""Every reproduction of the gallery holds at the cpu scale on three seeds. The claims about
init (one step per run) take seconds and run by default; the trained ones take minutes and run
with `-m reproduction`."""

from __future__ import annotations

import pytest

import gradcore
from gradcore.reproductions import REPRODUCTIONS, SEEDS, check, specs


def at_init(name: str) -> bool:
    return all(spec.steps == 1 for point in specs(REPRODUCTIONS[name], "cpu", 1) for spec in point)


AT_INIT = [name for name in REPRODUCTIONS if at_init(name)]
TRAINED = [name for name in REPRODUCTIONS if not at_init(name)]


@pytest.mark.parametrize("name", AT_INIT)
def test_a_claim_about_init_holds_on_every_seed(name: str) -> None:
    verdict = check(REPRODUCTIONS[name], "cpu", SEEDS, gradcore.run)
    assert verdict.passed, verdict.measured


@pytest.mark.slow
@pytest.mark.reproduction
@pytest.mark.parametrize("name", TRAINED)
def test_a_trained_claim_holds_on_every_seed(name: str) -> None:
    verdict = check(REPRODUCTIONS[name], "cpu", SEEDS, gradcore.run)
    assert verdict.passed, verdict.measured
