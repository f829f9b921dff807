"""The inner solve spends at most its evaluation budget (each evaluation is a replay).

Regression: scipy's `least_squares(max_nfev=…)` does not count the finite-difference
evaluations of the Jacobian, so a solve over 15 levers allowed 128 replays spent 1,928
(an optimization took minutes instead of seconds).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from planwise.optimization.solver import (
    MODE_SETTINGS,
    Component,
    Evaluation,
    Subspace,
    solve,
)
from planwise.optimization.targets import Target

UNREACHABLE = Target("cost", "total_compensation_cost", 0.0, 1.0, "medium", "final")
FloatArray = npt.NDArray[np.float64]


def _counting_evaluation(counter: list[FloatArray]) -> Callable[[FloatArray], Evaluation]:
    """A smooth response that no point inside the bounds brings within tolerance."""

    def evaluate(point: FloatArray) -> Evaluation:
        counter.append(point)
        value = 100.0 + float(np.sum(np.sin(3 * point) + point**2))
        return Evaluation(point, (Component(UNREACHABLE, "final", value),))

    return evaluate


@pytest.mark.parametrize("mode", list(MODE_SETTINGS), ids=list(MODE_SETTINGS))
@pytest.mark.parametrize("dimensions,budget", [(1, 4), (5, 12), (15, 40)], ids=str)
def test_a_solve_never_spends_more_evaluations_than_allowed(
    mode: str, dimensions: int, budget: int
) -> None:
    calls: list[FloatArray] = []
    evaluate = _counting_evaluation(calls)
    origin = np.zeros(dimensions)
    lower, upper = np.full(dimensions, -1.0), np.full(dimensions, 1.0)
    typical = np.full(dimensions, 0.05)
    start = evaluate(origin)
    calls.clear()

    outcome = solve(
        evaluate,
        start,
        origin,
        typical,
        [f"family{index % 3}" for index in range(dimensions)],
        Subspace.per_variable(origin, lower, upper, typical),
        MODE_SETTINGS[mode],
        budget,
    )

    assert 0 < len(calls) <= budget
    assert outcome.exhausted
    assert outcome.best.cost <= start.cost
    assert all(np.all((lower <= point) & (point <= upper)) for point in calls)


def test_a_solve_stops_at_the_first_evaluation_within_tolerance() -> None:
    reachable = Target("cost", "total_compensation_cost", 0.5, 0.01, "medium", "final")
    calls: list[FloatArray] = []

    def evaluate(point: FloatArray) -> Evaluation:
        calls.append(point)
        return Evaluation(point, (Component(reachable, "final", float(point.sum())),))

    origin = np.zeros(2)
    typical = np.full(2, 0.05)
    outcome = solve(
        evaluate,
        evaluate(origin),
        origin,
        typical,
        ["a", "b"],
        Subspace.per_variable(origin, np.full(2, -1.0), np.full(2, 1.0), typical),
        MODE_SETTINGS["aggressive"],
        100,
    )

    assert outcome.best.converged
    assert not outcome.exhausted
    assert calls[-1] is outcome.best.point
    assert abs(float(outcome.best.point.sum()) - 0.5) <= 0.01
