"""docs/reference.md is what the models say, field for field."""

from pathlib import Path

from cli.reference import render
from gradcore.spec_parts import LIMITS

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference.md"


def test_the_committed_reference_is_what_the_models_generate() -> None:
    assert REFERENCE.read_text() == render(), (
        "docs/reference.md is stale: run `python -m cli reference > docs/reference.md`"
    )


def test_the_reference_states_each_bound_of_the_spec() -> None:
    seq_len = next(line for line in render().splitlines() if line.startswith("| `seq_len` |"))
    assert f"<= {int(LIMITS['seq_len_max'])}" in seq_len and ">= 1" in seq_len
