"""When the loop cannot converge it says why, in words and in the result (tuning-loop.md).

Each reason — infeasible within bounds, conflicting targets, a metric the levers do not
move, the budget spent — has its explanation checked. In every case the best parameter
set found is stored and nothing the analyst had changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tuning_support import Baseline, active_set_id, baseline_of, planwise, query, write_targets

from planwise import application
from planwise.application import OptimizeRequest, Workspace
from planwise.optimization import OptimizationResult

BOUNDED = {"merit_base": [0.0, 0.05], "cola_rate": [0.0, 0.05]}
CAGR_15 = {"compensation_growth_cagr": {"target_value": 0.15, "tolerance": 0.0005}}


def _every_level(baseline: Baseline, family: str, value: float) -> dict[str, dict[int, float]]:
    return {family: dict.fromkeys(baseline.levels, value)}


def _one_lever_two_targets(baseline: Baseline) -> dict[str, Any]:
    """CAGR as with COLA 1.5 %, cost as with COLA 4.5 %: one lever cannot do both."""
    low = baseline.metrics(_every_level(baseline, "cola_rate", 0.015))
    high = baseline.metrics(_every_level(baseline, "cola_rate", 0.045))
    return {
        "optimization": {"mode": "conservative", "levers": ["cola_rate"]},
        "targets": {
            "compensation_growth_cagr": {
                "target_value": low.value("compensation_growth_cagr"),
                "tolerance": 0.0005,
            },
            "total_compensation_cost": {
                "target_value": high.value("total_compensation_cost"),
                "tolerance_pct": 0.01,
            },
        },
    }


@pytest.fixture(scope="module")
def untouched(shared_workspace: Workspace) -> tuple[int | None, bytes]:
    """What the analyst had before any optimization of this module."""
    return active_set_id(shared_workspace), shared_workspace.levers_path.read_bytes()


def _run(workspace: Workspace, targets: dict[str, Any]) -> OptimizationResult:
    result = application.optimize(workspace, OptimizeRequest(targets))
    assert not result.converged
    return result


def _assert_stored_and_nothing_changed(
    workspace: Workspace, result: OptimizationResult, untouched: tuple[int | None, bytes]
) -> None:
    [(source, is_active)] = query(
        workspace,
        "SELECT source, is_active FROM parameter_sets WHERE parameter_set_id = ?",
        [result.best_parameter_set_id],
    )
    assert source == "optimizer" or result.best_parameter_set_id == result.start_parameter_set_id
    [(status, converged, best, stop_reason)] = query(
        workspace,
        "SELECT status, converged, best_parameter_set_id, stop_reason FROM optimization_runs "
        "WHERE optimization_id = ?",
        [result.optimization_id],
    )
    assert (status, converged, best, stop_reason) == (
        "not_converged",
        False,
        result.best_parameter_set_id,
        result.stop_reason,
    )
    assert active_set_id(workspace) == untouched[0]
    assert is_active == (result.best_parameter_set_id == untouched[0])
    assert workspace.levers_path.read_bytes() == untouched[1]


@pytest.mark.parametrize("mode", ["conservative", "balanced"])
def test_a_target_out_of_reach_within_the_bounds_is_infeasible_naming_lever_bound_target(
    shared_workspace: Workspace, untouched: tuple[int | None, bytes], mode: str
) -> None:
    targets = {
        "optimization": {"mode": mode, "levers": ["merit_base", "cola_rate"], "bounds": BOUNDED},
        "targets": CAGR_15,
    }

    result = _run(shared_workspace, targets)

    assert result.stop_reason == "infeasible"
    explanation = result.explanation
    assert explanation.startswith("Infeasible within bounds")
    # the lever, the side and the value of the bound the analyst gave. Regression: a
    # conservative scale reported level 1's value at the scale's limit (0.03947), not 0.05.
    for lever in ("merit_base", "cola_rate"):
        assert re.search(rf"{lever}(\[L\d\])? at its upper bound \(0\.05\)", explanation), (
            explanation
        )
    assert not re.search(r"upper bound \((?!0\.05\))", explanation), explanation
    assert "compensation_growth_cagr (final)" in explanation
    assert "against 0.15 ± 0.0005" in explanation
    assert "Widen the bounds" in explanation
    [row] = result.target_rows
    assert not row.within_tolerance
    assert row.start_value < row.final_value < 0.15  # moved as far as the bounds allow
    _assert_stored_and_nothing_changed(shared_workspace, result, untouched)


@pytest.mark.parametrize(
    "mode,priorities,expected",
    [
        # min w₁(v − 0.03)² + w₂(v − 0.05)²  →  v = (0.03 w₁ + 0.05 w₂) / (w₁ + w₂)
        ("conservative", ("medium", "high"), 0.042),
        ("conservative", ("high", "medium"), 0.038),
        ("aggressive", ("low", "high"), 0.045),
    ],
    ids=[
        "medium 3 %, high 5 %",
        "high 3 %, medium 5 %",
        "low 3 %, high 5 %, per level",
    ],
)
def test_incompatible_values_of_one_metric_are_conflicting_with_a_weighted_compromise(
    shared_workspace: Workspace,
    untouched: tuple[int | None, bytes],
    mode: str,
    priorities: tuple[str, str],
    expected: float,
) -> None:
    targets = {
        "optimization": {"mode": mode, "levers": ["merit_base"]},
        "targets": {
            "merit_low": {
                "metric": "median_merit_increase",
                "target_value": 0.03,
                "tolerance": 0.001,
                "priority": priorities[0],
            },
            "merit_high": {
                "metric": "median_merit_increase",
                "target_value": 0.05,
                "tolerance": 0.001,
                "priority": priorities[1],
            },
        },
    }

    result = _run(shared_workspace, targets)

    assert result.stop_reason == "conflicting"
    assert result.explanation.startswith("Conflicting targets")
    assert "priority-weighted compromise" in result.explanation
    missing = result.explanation.split("Missing:", 1)[1]
    assert "merit_low (final)" in missing and "merit_high (final)" in missing
    values = {row.name: row.final_value for row in result.target_rows}
    assert values["merit_low"] == values["merit_high"] == pytest.approx(expected, abs=0.001)
    _assert_stored_and_nothing_changed(shared_workspace, result, untouched)


def test_more_targets_than_a_single_lever_can_meet_are_conflicting_naming_the_miss(
    shared_workspace: Workspace, untouched: tuple[int | None, bytes]
) -> None:
    result = _run(shared_workspace, _one_lever_two_targets(baseline_of(shared_workspace.root)))

    assert result.stop_reason == "conflicting"
    assert "2 target value(s) against 1 free lever(s)" in result.explanation
    missed = [row.name for row in result.target_rows if not row.within_tolerance]
    assert missed
    missing = result.explanation.split("Missing:", 1)[1]
    for row in result.target_rows:
        assert (f"{row.name} (final)" in missing) == (not row.within_tolerance)
    # a compromise between the two, not a bound
    assert 0.015 < _cola(result) < 0.045
    _assert_stored_and_nothing_changed(shared_workspace, result, untouched)


def _cola(result: OptimizationResult) -> float:
    best = next(r for r in result.iterations if r.parameter_set_id == result.best_parameter_set_id)
    return best.levers["cola_rate[L1]"]


def test_a_metric_the_levers_do_not_move_is_insensitive(
    shared_workspace: Workspace, untouched: tuple[int | None, bytes]
) -> None:
    targets = {
        "optimization": {"levers": ["merit_base", "cola_rate"]},
        "targets": {"headcount": {"target_value": 5000, "tolerance": 10}},
    }

    result = _run(shared_workspace, targets)

    assert result.stop_reason == "insensitive"
    assert result.explanation.startswith(
        "headcount does not respond to the levers allowed to move (merit_base, cola_rate)"
    )
    assert "headcount (final)" in result.explanation and "against 5000 ± 10" in result.explanation
    assert result.simulations <= 2  # it does not spend the budget on a hopeless target
    assert result.best_parameter_set_id == result.start_parameter_set_id
    _assert_stored_and_nothing_changed(shared_workspace, result, untouched)


def test_a_spent_budget_stops_with_the_best_so_far(
    shared_workspace: Workspace, untouched: tuple[int | None, bytes]
) -> None:
    targets = {
        "optimization": {"levers": ["merit_base", "cola_rate"], "max_iterations": 1},
        "targets": {"compensation_growth_cagr": {"target_value": 0.09, "tolerance": 0.0005}},
    }

    result = _run(shared_workspace, targets)

    assert result.stop_reason == "budget"
    assert result.simulations == 1
    assert result.explanation.startswith("The budget of 1 full simulations was spent")
    assert "compensation_growth_cagr (final)" in result.explanation
    assert "--resume" in result.explanation
    _assert_stored_and_nothing_changed(shared_workspace, result, untouched)


def test_the_command_line_exits_3_with_a_parseable_json_report_when_not_converged(
    shared_workspace: Workspace, untouched: tuple[int | None, bytes], tmp_path: Path
) -> None:
    path = write_targets(
        tmp_path / "targets.yaml",
        {
            "optimization": {"levers": ["merit_base", "cola_rate"]},
            "targets": {"headcount": {"target_value": 5000, "tolerance": 10}},
        },
    )

    result = planwise(shared_workspace, "optimize", "--targets", str(path), "--json")

    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["converged"] is False
    assert report["stop_reason"] == "insensitive"
    assert report["target_rows"][0]["within_tolerance"] is False
    assert report["best_parameter_set_id"] is not None
    [(status,)] = query(
        shared_workspace,
        "SELECT status FROM optimization_runs WHERE optimization_id = ?",
        [report["optimization_id"]],
    )
    assert status == "not_converged"
    assert active_set_id(shared_workspace) == untouched[0]
