"""Li et al. 2018: at long T the LSTM fails where IndRNN converges; here, why, at init."""

from __future__ import annotations

from gradcore.reproductions.base import Plan, Reproduction, Table, Verdict, column, spread
from gradcore.reproductions.measures import at_init

LSTM_RATIO_MAX = 1e-30  # the LSTM's |dL/dh_1| / |dL/dh_T|, at most (0.0: underflowed)
INDRNN_RATIO_MIN = 1e-3  # IndRNN's, at least

ADDING = {"task": "adding", "seq_len": 1000, "hidden_size": 64, "steps": 1}
# The paper's adding setup: a two-layer IndRNN; a one-layer LSTM with PyTorch's defaults.
LSTM = Plan({**ADDING, "cell": "lstm"}, {"num_layers": [1]})
INDRNN = Plan({**ADDING, "cell": "indrnn"}, {"num_layers": [2]})


def judge(table: Table) -> Verdict:
    """table: the points LSTM and IndRNN, at init, each at one T."""
    lstm, indrnn = table
    length = lstm[0]["length"]
    passed = (
        max(column(lstm, "ratio")) <= LSTM_RATIO_MAX
        and min(column(indrnn, "ratio")) >= INDRNN_RATIO_MIN
        and min(column(indrnn, "horizon")) == length
    )
    measured = (
        f"T={length:.0f}: LSTM ratio {spread(column(lstm, 'ratio'))}, horizon "
        f"{spread(column(lstm, 'horizon'), 4)}; IndRNN ratio {spread(column(indrnn, 'ratio'))}, "
        f"horizon {spread(column(indrnn, 'horizon'), 4)}"
    )
    return Verdict(passed, measured)


INDRNN_LONG = Reproduction(
    name="indrnn_long",
    claim="At long T the LSTM's gradient from the last step never reaches the first while "
    "IndRNN's does, which is why the LSTM fails and IndRNN converges on adding at T = 1000 "
    "and beyond.",
    citation="Li, Li, Cook, Zhu, Gao 2018 (IndRNN), adding table",
    expected=f"at init at T = 1000 (paper: 1000 and 5000), on every seed, the LSTM's "
    f"|dL/dh_1| / |dL/dh_T| is at most {LSTM_RATIO_MAX:g} (0: it underflows) while a two-layer "
    f"IndRNN's is at least {INDRNN_RATIO_MIN:g} and its horizon spans all T steps; the trained "
    f"table itself needs GPU-scale training and is not judged here",
    plans={
        "cpu": (LSTM, INDRNN),
        "paper": (
            Plan({**LSTM.base, "hidden_size": 128, "seq_len": 5000}, LSTM.grid),
            Plan({**INDRNN.base, "hidden_size": 128, "seq_len": 5000}, INDRNN.grid),
        ),
    },
    measure=at_init,
    judge=judge,
)
