"""The tuning loop's checks fail when its answer is unsound (invoked directly, no run)."""

from __future__ import annotations

import dataclasses

from dagster_support import YEARS

from planwise import application
from planwise.application import OptimizeRequest, Workspace
from planwise.optimization import OptimizationResult
from planwise.parameters import LeverSet
from planwise.storage import parameter_store
from planwise_dagster.checks import (
    validate_optimization_convergence,
    validate_optimization_results_quality,
)
from planwise_dagster.resources import PlanwiseWorkspace

TARGETS = {
    "optimization": {"levers": ["merit_base"], "max_iterations": 3},
    "targets": {"median_merit_increase": {"target_value": 0.04, "tolerance_pct": 0.05}},
}


def _quality(result: OptimizationResult, workspace: Workspace) -> tuple[bool, str]:
    outcome = validate_optimization_results_quality(
        compensation_optimization_loop=result, planwise=PlanwiseWorkspace(path=str(workspace.root))
    )
    return outcome.passed, outcome.description or ""


def _store(workspace: Workspace, levers: LeverSet, parent_id: int) -> int:
    """An inactive set no use case would store (the doctored answer): straight to the store."""
    with workspace.database().transaction() as connection:
        return parameter_store.create_parameter_set(
            connection,
            levers,
            source="test",
            created_by="test",
            parent_id=parent_id,
            activate=False,
        )


def test_a_sound_answer_passes_and_a_doctored_one_fails(workspace: Workspace) -> None:
    result = application.optimize(workspace, OptimizeRequest(TARGETS))
    assert _quality(result, workspace) == (True, "")
    assert validate_optimization_convergence(compensation_optimization_loop=result).passed

    start = application.lever_view(
        workspace, parameter_set_id=result.start_parameter_set_id
    ).lever_set
    locked = LeverSet(
        start.scenario_id,
        tuple(
            dataclasses.replace(lever, is_locked=lever.parameter_name == "cola_rate")
            for lever in start.levers
        ),
    )
    cola_l1 = next(lever for lever in locked.levers if lever.parameter_name == "cola_rate")
    moved = locked.with_values({cola_l1.key: cola_l1.value + 0.01})
    locked_id = _store(workspace, locked, result.start_parameter_set_id)
    moved_id = _store(workspace, moved, locked_id)
    doctored = dataclasses.replace(
        result, start_parameter_set_id=locked_id, best_parameter_set_id=moved_id
    )
    passed, description = _quality(doctored, workspace)
    assert not passed
    # The one stored row holds for every simulated year (YEARS = 3).
    assert f"locked: {YEARS} locked cola_rate value(s) moved" in description
    assert "levers: cola_rate moved but the targets do not name it" in description
    assert f"used parameter set {result.best_parameter_set_id}, not {moved_id}" in description

    passed, description = _quality(dataclasses.replace(result, converged=False), workspace)
    assert not passed
    assert "converged disagrees" in description
