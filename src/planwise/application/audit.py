"""Is an optimization's answer sound? The checks Dagster runs on every optimization, and
anyone may run on a stored one."""

from __future__ import annotations

import math

import numpy as np

from planwise.application.workspace import Workspace
from planwise.optimization.report import OptimizationResult, TargetRow
from planwise.optimization.targets import load_targets
from planwise.parameters.declarations import PARAMETERS
from planwise.parameters.levers import ResolvedLevers
from planwise.storage import optimization_store, parameter_store, runs

__all__ = ["audit_optimization"]


_SAME = 1e-12


def audit_optimization(workspace: Workspace, result: OptimizationResult) -> list[str]:
    """What is unsound about an optimization's answer (empty: nothing).

    Levers moved only where the targets allow, locked values unmoved, moved values inside
    their bounds and error ranges, every target's final value finite, the result's flags
    consistent with its values, and the best run made with the best set.
    """
    problems = _result_problems(result)
    if result.best_parameter_set_id is None or result.best_run_id is None:
        problems.append("invariant: no best parameter set and run were stored")
        return problems
    settings = workspace.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    with workspace.database(settings).connect(read_only=True) as connection:
        stored = optimization_store.load_optimization(connection, result.optimization_id)
        best_run = runs.load_run(connection, result.best_run_id)
        _, _, start = parameter_store.load_levers(
            connection, settings, result.scenario_id, years, result.start_parameter_set_id
        )
        _, _, best = parameter_store.load_levers(
            connection, settings, result.scenario_id, years, result.best_parameter_set_id
        )
    targets = load_targets(stored.targets_mapping)
    bounds = {name: targets.bounds_for(name) for name in targets.levers}
    problems.extend(_lever_problems(start, best, set(targets.levers), bounds))
    if best_run.parameter_set_id != result.best_parameter_set_id:
        problems.append(
            f"invariant: best run {best_run.run_id} used parameter set "
            f"{best_run.parameter_set_id}, not {result.best_parameter_set_id}"
        )
    return problems


def _lever_problems(
    start: ResolvedLevers,
    best: ResolvedLevers,
    movable: set[str],
    bounds: dict[str, tuple[float, float]],
) -> list[str]:
    problems: list[str] = []
    for spec in PARAMETERS:
        moved = np.abs(best.values[spec.name] - start.values[spec.name]) > _SAME
        locked_moved = moved & start.locked[spec.name]
        if locked_moved.any():
            problems.append(f"locked: {int(locked_moved.sum())} locked {spec.name} value(s) moved")
        if moved.any() and spec.name not in movable:
            problems.append(f"levers: {spec.name} moved but the targets do not name it")
        values = best.values[spec.name][:, list(best.levels)]
        for value in values.ravel():
            message = spec.error_message(float(value))
            if message:
                problems.append(f"range: {message}, got {value:g}")
                break
        if spec.name in bounds:
            low, high = bounds[spec.name]
            outside = moved & (
                (best.values[spec.name] < low - _SAME) | (best.values[spec.name] > high + _SAME)
            )
            if outside.any():
                count = int(outside.sum())
                problems.append(
                    f"bounds: {count} moved {spec.name} value(s) outside [{low:g}, {high:g}]"
                )
    return problems


def _result_problems(result: OptimizationResult) -> list[str]:
    problems: list[str] = []
    for row in result.target_rows:
        if not math.isfinite(row.final_value):
            problems.append(f"finite: {row.name} has no finite final value")
        elif row.within_tolerance != _meets(row):
            problems.append(f"invariant: {row.name} within_tolerance disagrees with its values")
    if result.converged != all(row.within_tolerance for row in result.target_rows):
        problems.append("invariant: converged disagrees with the targets' within-tolerance flags")
    counted = sum(1 for record in result.iterations if record.is_simulation)
    if counted != result.simulations:
        problems.append(f"invariant: {result.simulations} simulations reported, {counted} recorded")
    return problems


def _meets(row: TargetRow) -> bool:
    """The row's final value meets its target (one-sided bounds by their side; a two-sided
    band with room for the rounding of the stored tolerance)."""
    if row.bound is not None:
        return row.inside(row.final_value)
    return abs(row.final_value - row.target_value) <= row.tolerance * (1 + 1e-9)
