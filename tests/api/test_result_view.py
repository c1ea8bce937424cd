"""The reference read (tests/traces.py view_result, which jobs.trace_read is checked against in
test_traces.py) on the optional parts: map probes (dynamics) and Hessian-free traces."""

from __future__ import annotations

import pytest

import gradcore
from gradcore.spec import ExperimentSpec
from jobs.result_view import RESULT_FIELDS
from tests.support.traces import view_result

SMALL = {"task": "adding", "seq_len": 8, "hidden_size": 4, "batch_size": 4}


@pytest.fixture(scope="module")
def probed() -> dict:
    spec = ExperimentSpec(
        cell="tanh",
        steps=9,
        probe_every=2,
        probes={"jacobian_norms": True, "lyapunov_exponents": 2, "eigenvalues": True},
        **SMALL,
    )
    return gradcore.run(spec).model_dump(mode="json")


def test_dynamics_is_cut_like_the_hidden_gradients(probed: dict) -> None:
    view = view_result(probed, RESULT_FIELDS, step_from=2, step_to=6)
    assert view["dynamics"]["step"] == view["hidden_grad"]["step"] == [2, 4, 6]
    assert len(view["dynamics"]["jacobian_norm"]) == len(view["dynamics"]["lyapunov"]) == 3
    assert len(view["dynamics"]["eigenvalues"]) == 3
    assert view["dynamics"]["layers"] == probed["dynamics"]["layers"]
    thinned = view_result(probed, ["dynamics"], max_points=2)
    assert thinned["dynamics"]["step"] == [0, 8]
    assert view["hessian_free"] is None


def test_optional_parts_absent_from_older_documents_are_null(probed: dict) -> None:
    older = {key: value for key, value in probed.items() if key not in ("dynamics", "hessian_free")}
    view = view_result(older, RESULT_FIELDS, max_points=3)
    assert view["dynamics"] is None and view["hessian_free"] is None
    assert len(view["loss"]["step"]) == 3


def test_hessian_free_trace_is_cut_by_step() -> None:
    spec = ExperimentSpec(
        cell="tanh", steps=6, optimizer={"name": "hessian_free", "lr": 1.0}, **SMALL
    )
    document = gradcore.run(spec).model_dump(mode="json")
    view = view_result(document, ["hessian_free"], step_from=1, step_to=3)
    assert view["hessian_free"]["step"] == [1, 2, 3]
    assert len(view["hessian_free"]["cg_iterations"]) == 3
    assert view_result(document, ["hessian_free"], max_points=2)["hessian_free"]["step"] == [0, 5]
