"""Asset checks of the tuning loop: did it converge, and is its answer sound?"""

# No `from __future__ import annotations`: Dagster reads the input and resource annotations.

from dataclasses import dataclass
from typing import Any

import dagster as dg
from planwise import application
from planwise.optimization import OptimizationResult
from planwise.optimization.report import Verdict
from planwise_dagster.answers import (
    VERDICT_TEXT,
    residuals_markdown,
    targets_markdown,
    verdict_description,
)
from planwise_dagster.metadata import markdown_list
from planwise_dagster.optimization import compensation_optimization_loop
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures

__all__ = [
    "CONVERGENCE_CHECK",
    "convergence_evaluation",
    "validate_optimization_convergence",
    "validate_optimization_results_quality",
]


CONVERGENCE_CHECK = "validate_optimization_convergence"


@dataclass(frozen=True)
class _Convergence:
    """The convergence check's outcome for a result: the check's, and the store sensor's for
    an optimization made outside Dagster."""

    passed: bool
    description: str
    metadata: dict[str, Any]


# Neither a lever outside its usual range nor a miss is a broken pipeline: the best set is
# stored and explained, so both are warnings (amber), never errors.
_SEVERITY = dg.AssetCheckSeverity.WARN


def _convergence(result: OptimizationResult) -> _Convergence:
    return _Convergence(
        passed=result.verdict == Verdict.CONVERGED,
        description=verdict_description(result),
        metadata={
            "verdict": VERDICT_TEXT[result.verdict],
            "targets": dg.MetadataValue.md(targets_markdown(result)),
            "residuals": dg.MetadataValue.md(residuals_markdown(result)),
            "lever_warnings": dg.MetadataValue.md(
                markdown_list([warning.message for warning in result.lever_warnings])
            ),
            "change_summary": result.change_summary or "(nothing moved)",
            # A StrEnum: Dagster serializes plain values only.
            "stop_reason": str(result.stop_reason),
            "simulations": dg.MetadataValue.int(result.simulations),
        },
    )


def convergence_evaluation(result: OptimizationResult) -> dg.AssetCheckEvaluation:
    """The convergence check of an optimization that ran outside Dagster."""
    outcome = _convergence(result)
    return dg.AssetCheckEvaluation(
        asset_key=compensation_optimization_loop.key,
        check_name=CONVERGENCE_CHECK,
        passed=outcome.passed,
        severity=_SEVERITY,
        description=outcome.description,
        metadata=outcome.metadata,
    )


@dg.asset_check(
    asset=compensation_optimization_loop,
    name=CONVERGENCE_CHECK,
    description=(
        "Every target within tolerance with every lever in its usual range; a warning (amber) "
        "when the targets are met only with a lever outside it, or not met."
    ),
)
def validate_optimization_convergence(
    compensation_optimization_loop: OptimizationResult,
) -> dg.AssetCheckResult:
    outcome = _convergence(compensation_optimization_loop)
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=_SEVERITY,
        description=outcome.description,
        metadata=outcome.metadata,
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
