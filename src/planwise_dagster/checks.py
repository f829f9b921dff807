"""Asset checks of the tuning loop: did it converge, and is its answer sound?"""

# No `from __future__ import annotations`: Dagster reads the input and resource annotations.

import math
from typing import Any

import dagster as dg
from planwise import application
from planwise.optimization import OptimizationResult
from planwise_dagster.metadata import markdown_table
from planwise_dagster.optimization import compensation_optimization_loop
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures

__all__ = ["validate_optimization_convergence", "validate_optimization_results_quality"]


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
        # A StrEnum: Dagster serializes plain values only.
        "stop_reason": str(result.stop_reason),
        "simulations": dg.MetadataValue.int(result.simulations),
    }
    # Not converging is an answer, not a broken pipeline: the best set is stored and explained.
    return dg.AssetCheckResult(
        passed=result.converged,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if result.converged else result.explanation,
        metadata=metadata,
    )


@dg.asset_check(
    asset=compensation_optimization_loop,
    description="Levers within bounds, locked values unmoved, metrics finite, invariants hold.",
)
def validate_optimization_results_quality(
    compensation_optimization_loop: OptimizationResult, planwise: PlanwiseWorkspace
) -> dg.AssetCheckResult:
    result = compensation_optimization_loop
    with user_errors_as_failures():
        problems = application.audit_optimization(planwise.workspace(), result)
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
