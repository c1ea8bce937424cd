"""The deepest graph the limits admit trains, and the run's thread behaves as a plain call.

Without a stack sized for the graph, freeing a probed graph of seq_len x num_layers past about
29,000 overflows an 8 MiB stack and kills the process (SIGSEGV): this test would crash pytest.
"""

from __future__ import annotations

import math
import threading

import pytest

import gradcore
from gradcore.result import Progress
from gradcore.spec import LIMITS
from gradcore.stack import CALLER_STACK_DEPTH, call_with_stack, graph_depth
from tests.gradcore.helpers import small_spec
from tests.support.waits import scaled


# About 9 s for its probed step idle; the run stops before a second step, so the held-out
# evaluation (at T = 10,020, most of a completed run's time here) is skipped.
@pytest.mark.slow
@pytest.mark.timeout(scaled(900))
def test_the_deepest_admitted_graph_trains_with_its_probe() -> None:
    # copy runs the longest sequences (seq_len + 20) and keeps every layer's whole sequence.
    spec = small_spec(
        task="copy",
        seq_len=int(LIMITS["seq_len_max"]),
        num_layers=int(LIMITS["num_layers_max"]),
        hidden_size=2,
        batch_size=1,
        steps=2,
        probe_every=2,
    )
    assert graph_depth(spec) == (LIMITS["seq_len_max"] + 20) * LIMITS["num_layers_max"]
    polls: list[int] = []

    def after_the_first_step() -> bool:
        polls.append(len(polls))
        return len(polls) > 1

    result = gradcore.run(spec, should_stop=after_the_first_step)
    assert result.summary.outcome == "stopped" and result.summary.steps_completed == 1
    norms = result.hidden_grad.norm  # [probe][layer][t]
    assert len(norms) == 1
    assert [len(curve) for curve in norms[0]] == [spec.sequence_length] * spec.num_layers
    assert all(math.isfinite(value) for curve in norms[0] for value in curve)
    # Every output step of copy reads the top layer, so its last step has a gradient.
    assert norms[0][-1][-1] > 0


def test_call_with_stack_returns_in_its_own_thread_and_restores_the_stack_size() -> None:
    before = threading.stack_size()
    value = call_with_stack(100_000, lambda: threading.current_thread())
    assert value is not threading.current_thread()
    # A graph the caller's stack holds runs where it is called.
    assert (
        call_with_stack(CALLER_STACK_DEPTH, threading.current_thread) is threading.current_thread()
    )
    assert threading.stack_size() == before


def test_call_with_stack_raises_the_functions_own_exception() -> None:
    error = KeyError("inside the run")

    def fail() -> None:
        raise error

    before = threading.stack_size()
    for depth in (10, 100_000):  # in the caller's thread, and in one of its own
        with pytest.raises(KeyError) as raised:
            call_with_stack(depth, fail)
        assert raised.value is error
    assert threading.stack_size() == before


def test_run_polls_and_passes_a_callbacks_exception_on_unchanged() -> None:
    error = LookupError("raised by on_progress")
    polls: list[int] = []

    def report(progress: Progress) -> None:
        raise error

    with pytest.raises(LookupError) as raised:
        gradcore.run(
            small_spec(steps=2), on_progress=report, should_stop=lambda: bool(polls.append(1))
        )
    assert raised.value is error
    assert polls  # should_stop was polled before the first step
