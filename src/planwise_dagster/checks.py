"""Asset checks of the tuning loop: did it converge, and is its answer sound?"""

# No `from __future__ import annotations`: Dagster reads the input and resource annotations.

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt

import dagster as dg
from planwise.optimization import OptimizationResult, load_targets
from planwise.optimization.store import load_optimization_row
from planwise.parameters import PARAMETERS, ResolvedLevers
from planwise.parameters.loading import load_levers
from planwise.storage import runs
from planwise_dagster.metadata import markdown_table
from planwise_dagster.optimization import compensation_optimization_loop
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures

__all__ = ["validate_optimization_convergence", "validate_optimization_results_quality"]

_SAME = 1e-12


def _best_record_residuals(result: OptimizationResult) -> str:
    """Each target component's value and residual r = (value − target) / tolerance."""
    for record in reversed(result.iterations):
        if record.run_id is not None and record.run_id == result.best_run_id:
            rows = [
                [name, f"{record.metrics.get(name, math.nan):.6g}", f"{residual:+.3f}"]
                for name, residual in record.residuals.items()
            ]
            return markdown_table(["target", "value", "residual"], rows)
    return "(no stored simulation)"


@dg.asset_check(asset=compensation_optimization_loop, description="Every target within tolerance.")
def validate_optimization_convergence(
    compensation_optimization_loop: OptimizationResult,
) -> dg.AssetCheckResult:
    result = compensation_optimization_loop
    metadata: dict[str, Any] = {
        "targets": dg.MetadataValue.md(result.target_table_markdown()),
        "residuals": dg.MetadataValue.md(_best_record_residuals(result)),
        "stop_reason": result.stop_reason,
        "simulations": dg.MetadataValue.int(result.simulations),
    }
    # Not converging is an answer, not a broken pipeline: the best set is stored and explained.
    return dg.AssetCheckResult(
        passed=result.converged,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if result.converged else result.explanation,
        metadata=metadata,
    )


def _moved_cells(start: ResolvedLevers, best: ResolvedLevers, name: str) -> npt.NDArray[np.bool_]:
    return np.abs(best.values[name] - start.values[name]) > _SAME


def _lever_problems(
    start: ResolvedLevers,
    best: ResolvedLevers,
    movable: set[str],
    bounds: dict[str, tuple[float, float]],
) -> list[str]:
    problems: list[str] = []
    for spec in PARAMETERS:
        moved = _moved_cells(start, best, spec.name)
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
        elif row.within_tolerance != (
            abs(row.final_value - row.target_value) <= row.tolerance * (1 + 1e-9)
        ):
            problems.append(f"invariant: {row.name} within_tolerance disagrees with its values")
    if result.converged != all(row.within_tolerance for row in result.target_rows):
        problems.append("invariant: converged disagrees with the targets' within-tolerance flags")
    counted = sum(1 for record in result.iterations if record.is_simulation)
    if counted != result.simulations:
        problems.append(f"invariant: {result.simulations} simulations reported, {counted} recorded")
    return problems


@dg.asset_check(
    asset=compensation_optimization_loop,
    description="Levers within bounds, locked values unmoved, metrics finite, invariants hold.",
)
def validate_optimization_results_quality(
    compensation_optimization_loop: OptimizationResult, planwise: PlanwiseWorkspace
) -> dg.AssetCheckResult:
    result = compensation_optimization_loop
    workspace = planwise.workspace()
    problems = _result_problems(result)
    if result.best_parameter_set_id is None or result.best_run_id is None:
        problems.append("invariant: no best parameter set and run were stored")
    else:
        with user_errors_as_failures():
            settings = workspace.settings()
            years = range(settings.start_year, settings.start_year + settings.years)
            with workspace.database(settings).connect(read_only=True) as connection:
                stored = load_optimization_row(connection, result.optimization_id)
                best_run = runs.load_run(connection, result.best_run_id)
                _, _, start = load_levers(
                    connection, settings, result.scenario_id, years, result.start_parameter_set_id
                )
                _, _, best = load_levers(
                    connection, settings, result.scenario_id, years, result.best_parameter_set_id
                )
            targets = load_targets(json.loads(stored["targets"]))
        bounds = {name: targets.bounds_for(name) for name in targets.levers}
        problems.extend(_lever_problems(start, best, set(targets.levers), bounds))
        if best_run.parameter_set_id != result.best_parameter_set_id:
            problems.append(
                f"invariant: best run {best_run.run_id} used parameter set "
                f"{best_run.parameter_set_id}, not {result.best_parameter_set_id}"
            )
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) if problems else None,
        metadata={
            "problems": dg.MetadataValue.md("\n".join(f"- {problem}" for problem in problems))
            if problems
            else "none",
            "start_parameter_set_id": dg.MetadataValue.int(result.start_parameter_set_id),
            "best_parameter_set_id": dg.MetadataValue.int(result.best_parameter_set_id or 0),
        },
    )
