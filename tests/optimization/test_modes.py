"""Modes change how the levers move (tuning-loop.md, "Modes").

conservative: one scale factor per lever family, so the analyst's level structure (the
ratios between levels) is kept in every iteration; balanced and aggressive: one shift per
(family, level), the same amount in every simulated year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tuning_support import baseline_of, query, stored_levers

from planwise import application
from planwise.application import OptimizeRequest, Workspace
from planwise.config import Settings
from planwise.optimization import OptimizationResult
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import MODES
from planwise.parameters.declarations import parameter_spec
from planwise.parameters.levers import (
    Lever,
    LeverSet,
    ResolvedLevers,
    default_lever_set,
    resolve_levers,
)

MERIT_AND_COLA = ("merit_base", "cola_rate")


def _stored_sets(workspace: Workspace, result: OptimizationResult) -> dict[int, ResolvedLevers]:
    rows = query(
        workspace,
        "SELECT DISTINCT parameter_set_id FROM optimization_iterations "
        "WHERE optimization_id = ? AND parameter_set_id IS NOT NULL",
        [result.optimization_id],
    )
    return stored_levers(workspace, sorted(int(set_id) for (set_id,) in rows))


def _assert_structure_kept(
    start: ResolvedLevers, sets: dict[int, ResolvedLevers], families: tuple[str, ...]
) -> None:
    """Every value of a family is its start value times one factor (levels and years)."""
    for levers in sets.values():
        for family in families:
            ratio = levers.values[family][:, 1:] / start.values[family][:, 1:]
            np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-12, err_msg=family)


def _assert_same_shift_every_year(
    start: ResolvedLevers, sets: dict[int, ResolvedLevers], families: tuple[str, ...]
) -> None:
    for levers in sets.values():
        for family in families:
            shift = levers.values[family][:, 1:] - start.values[family][:, 1:]
            np.testing.assert_allclose(shift, shift[[0]].repeat(len(shift), 0), atol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_meets_an_easy_target_moving_the_levers_its_way(
    shared_workspace: Workspace, mode: str
) -> None:
    targets = {
        "optimization": {"mode": mode, "levers": list(MERIT_AND_COLA)},
        "targets": {"compensation_growth_cagr": {"target_value": 0.07, "tolerance": 0.0005}},
    }

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert result.converged, result.explanation
    assert result.simulations <= 4
    sets = _stored_sets(shared_workspace, result)
    start = sets[result.start_parameter_set_id]
    assert len(sets) >= 2
    if mode == "conservative":
        _assert_structure_kept(start, sets, MERIT_AND_COLA)
    else:
        _assert_same_shift_every_year(start, sets, MERIT_AND_COLA)
    best = sets[result.best_parameter_set_id]
    for family in ("new_hire_salary_adjustment", "promotion_probability", "promotion_raise"):
        assert np.array_equal(best.values[family], start.values[family])  # not named: kept


def _low_levels_raised(workspace: Workspace, mode: str) -> dict[str, Any]:
    """Median merit and merit spend as with merit 4.5 % at levels 1–2 (others unchanged):
    reachable by moving levels differently, not by scaling them together."""
    baseline = baseline_of(workspace.root)
    metrics = baseline.metrics({"merit_base": {1: 0.045, 2: 0.045}})
    return {
        "optimization": {"mode": mode, "levers": ["merit_base"], "max_iterations": 6},
        "targets": {
            "median_merit_increase": {
                "target_value": metrics.value("median_merit_increase"),
                "tolerance": 0.001,
            },
            "merit_spend": {"target_value": metrics.value("merit_spend"), "tolerance_pct": 0.02},
        },
    }


def test_conservative_keeps_the_level_structure_even_when_the_targets_need_another(
    shared_workspace: Workspace,
) -> None:
    result = application.optimize(
        shared_workspace, OptimizeRequest(_low_levels_raised(shared_workspace, "conservative"))
    )

    assert not result.converged
    assert result.stop_reason == "conflicting"
    assert "against 1 free lever(s)" in result.explanation
    sets = _stored_sets(shared_workspace, result)
    _assert_structure_kept(sets[result.start_parameter_set_id], sets, ("merit_base",))


@pytest.mark.parametrize("mode", ["balanced", "aggressive"])
def test_balanced_and_aggressive_move_each_level_on_its_own(
    shared_workspace: Workspace, mode: str
) -> None:
    result = application.optimize(
        shared_workspace, OptimizeRequest(_low_levels_raised(shared_workspace, mode))
    )

    assert result.converged, result.explanation
    sets = _stored_sets(shared_workspace, result)
    start = sets[result.start_parameter_set_id]
    _assert_same_shift_every_year(start, sets, ("merit_base",))
    shift = (
        sets[result.best_parameter_set_id].values["merit_base"][0, 1:]
        - start.values["merit_base"][0, 1:]
    )
    assert shift.max() - shift.min() > 0.005, shift  # levels moved by different amounts
    ratios = (
        sets[result.best_parameter_set_id].values["merit_base"][0, 1:]
        / start.values["merit_base"][0, 1:]
    )
    assert not np.allclose(ratios, ratios[0])  # not a scale of the start


SETTINGS = Settings(years=3)


def _resolved(locked_levels: tuple[int, ...] = ()) -> tuple[ResolvedLevers, LeverSet]:
    lever_set = default_lever_set(SETTINGS.start_year, SETTINGS.level_numbers)
    if locked_levels:
        lever_set = LeverSet(
            lever_set.scenario_id,
            tuple(
                Lever(*lever.key, lever.value, True)
                if lever.parameter_name == "merit_base" and lever.job_level in locked_levels
                else lever
                for lever in lever_set.levers
            ),
        )
    years = range(SETTINGS.start_year, SETTINGS.start_year + SETTINGS.years)
    return resolve_levers(years, SETTINGS.level_numbers, lever_set), lever_set


def _space(mode: str, locked_levels: tuple[int, ...] = ()) -> DecisionSpace:
    resolved, lever_set = _resolved(locked_levels)
    bounds = {family: parameter_spec(family).error_range for family in MERIT_AND_COLA}
    return DecisionSpace.build(resolved, lever_set, MERIT_AND_COLA, bounds, mode)


@pytest.mark.parametrize(
    "mode,names",
    [
        ("conservative", ["merit_base", "cola_rate"]),
        ("balanced", [f"{f}[L{level}]" for f in MERIT_AND_COLA for level in range(1, 6)]),
        ("aggressive", [f"{f}[L{level}]" for f in MERIT_AND_COLA for level in range(1, 6)]),
    ],
)
def test_the_decision_variables_of_each_mode(mode: str, names: list[str]) -> None:
    space = _space(mode)

    assert [variable.name for variable in space.variables] == names
    kinds = {variable.kind for variable in space.variables}
    assert kinds == ({"scale"} if mode == "conservative" else {"shift"})
    assert (space.start == (1.0 if mode == "conservative" else 0.0)).all()
    # every variable moves its cells in every simulated year
    for variable in space.variables:
        assert {row for row, _ in variable.cells} == set(range(SETTINGS.years))


@pytest.mark.parametrize("mode", MODES)
def test_locked_levels_are_not_decision_cells(mode: str) -> None:
    space = _space(mode, locked_levels=(1, 2))

    merit_cells = {
        cell
        for variable in space.variables
        if variable.family == "merit_base"
        for cell in variable.cells
    }
    assert merit_cells == {(row, level) for row in range(SETTINGS.years) for level in (3, 4, 5)}
    point = space.upper.copy()
    moved = space.resolved(point).values["merit_base"]
    assert (moved[:, 1] == 0.030).all() and (moved[:, 2] == 0.032).all()
    assert (moved[:, 3:] > space.base.values["merit_base"][:, 3:]).all()


@pytest.mark.parametrize("mode", MODES)
def test_the_variable_bounds_keep_every_moved_value_inside_the_family_bounds(mode: str) -> None:
    resolved, lever_set = _resolved()
    bounds = {"merit_base": (0.02, 0.05), "cola_rate": (0.01, 0.04)}
    space = DecisionSpace.build(resolved, lever_set, MERIT_AND_COLA, bounds, mode)

    for point in (space.lower, space.upper):
        values = space.resolved(point).values
        for family, (low, high) in bounds.items():
            assert (values[family][:, 1:] >= low).all() and (values[family][:, 1:] <= high).all()
    reached = space.resolved(space.upper).values
    assert reached["merit_base"][:, 1:].max() == pytest.approx(0.05)
    assert reached["cola_rate"][:, 1:].max() == pytest.approx(0.04)


def test_a_feasible_per_level_target_on_the_median_merit_converges(
    shared_workspace: Workspace,
) -> None:
    baseline = baseline_of(shared_workspace.root)
    metrics = baseline.metrics({"merit_base": {1: 0.045, 2: 0.045}})
    targets = {
        "optimization": {"mode": "balanced", "levers": ["merit_base"], "max_iterations": 3},
        "targets": {
            "median_merit_increase": {
                "target_value": metrics.value("median_merit_increase"),
                "tolerance": 0.001,
            },
            "compensation_growth_cagr": {
                "target_value": metrics.value("compensation_growth_cagr"),
                "tolerance": 0.0005,
            },
        },
    }

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert result.converged, result.explanation
