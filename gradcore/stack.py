"""A run's own thread, with a stack sized for its unrolled autograd graph.

Freeing a probed graph recurses once per time step and layer: a probe's hook on h_t gives h_t's
autograd node a Python wrapper, and PyTorch frees a wrapped node through Python's deallocator,
which frees the previous step's node the same way (Node::~Node -> THPCppFunction_dealloc ->
Node::~Node ...). Forward and backward passes are loops; only this release recurses. Measured
at 290 bytes of stack per time step x layer for every cell, task and training mode (probe steps;
other steps about 15), so an 8 MiB main-thread stack overflows (SIGSEGV) near
seq_len x num_layers = 29,000, short of the 80,160 the limits admit (copy: 10,020 x 8 layers).
A run deeper than the caller's stack safely holds therefore executes in a thread whose stack
holds its depth, with a 3.5x margin. Shallower runs stay in the caller's thread: torch's
OpenMP pool is per calling thread, and a second pool beside the caller's (each spinning while
the other works) made steps 2 to 5 times slower on two cores when a process trains in both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from gradcore.spec import ExperimentSpec

Result = TypeVar("Result")

# Stack per unit of graph depth (time step x layer): 290 bytes measured, 3.5x margin.
BYTES_PER_DEPTH = 1024
# The interpreter, PyTorch and the caller's callbacks besides the graph: Linux's default stack.
BASE_STACK_BYTES = 8 << 20
# Depths whose graph a default 8 MiB stack holds with the same margin: no thread of their own.
CALLER_STACK_DEPTH = BASE_STACK_BYTES // BYTES_PER_DEPTH
# threading.stack_size is process-wide: hold it only while starting the thread.
_stack_size_lock = threading.Lock()


def graph_depth(spec: ExperimentSpec) -> int:
    """Time steps x layers of the unrolled graph; an upper bound for mlp and cnn (one step)."""
    return spec.sequence_length * spec.num_layers


def stack_bytes(depth: int) -> int:
    return BASE_STACK_BYTES + depth * BYTES_PER_DEPTH


def call_with_stack(depth: int, function: Callable[[], Result]) -> Result:
    """function() in the caller's thread up to CALLER_STACK_DEPTH; deeper, in a new thread with
    stack_bytes(depth) of stack while the caller waits for it.
    Returns its value or raises its exception, the same object. The process-wide default
    stack size (threading.stack_size) is restored once the thread has started. The thread is a
    daemon: a caller whose wait is interrupted (KeyboardInterrupt) is not held at exit."""
    if depth <= CALLER_STACK_DEPTH:
        return function()
    outcome: list[Result] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread, raised there
            failure.append(exc)

    thread = threading.Thread(target=target, name="gradcore-run", daemon=True)
    with _stack_size_lock:
        previous = threading.stack_size(stack_bytes(depth))
        try:
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
