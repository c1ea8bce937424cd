"""`cli reproduce`: lists the gallery, prints each verdict, and exits 1 when a claim fails."""

from __future__ import annotations

import dataclasses

import pytest

from cli import reproduce
from cli.__main__ import main
from gradcore.reproductions import REPRODUCTIONS, Verdict
from gradcore.reproductions.sigmoid_mlp import SIGMOID_MLP


def test_list_names_every_reproduction_with_its_citation(capsys: pytest.CaptureFixture) -> None:
    assert main(["reproduce", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == list(REPRODUCTIONS)
    assert all(r.citation in line for r, line in zip(REPRODUCTIONS.values(), lines, strict=True))


def test_a_claim_that_holds_prints_its_verdict_and_exits_0(capsys: pytest.CaptureFixture) -> None:
    assert main(["reproduce", "sigmoid_mlp", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "sigmoid_mlp (cpu, 1 seeds" in out and ": PASS" in out
    assert SIGMOID_MLP.claim in out and SIGMOID_MLP.expected in out
    assert "measured: first layer's mean |dW| over the last's: default init" in out
    assert "1 of 1 passed" in out


def test_a_claim_that_fails_exits_1(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same runs judged by a predicate no result meets.
    never = dataclasses.replace(SIGMOID_MLP, judge=lambda table: Verdict(False, "no"))
    monkeypatch.setattr(reproduce, "REPRODUCTIONS", {"sigmoid_mlp": never})
    assert main(["reproduce", "all", "--seeds", "1"]) == 1
    out = capsys.readouterr().out
    assert ": FAIL" in out and "failed: sigmoid_mlp" in out


@pytest.mark.parametrize("argv", [["nonesuch"], ["sigmoid_mlp", "--seeds", "0"]])
def test_a_bad_name_or_seed_count_is_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        main(["reproduce", *argv])
