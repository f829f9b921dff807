"""The tuning loop: auto-optimize the compensation levers to hit budget targets."""

from planwise.optimization.loop import EvaluationReport, apply_parameter_set, evaluate, optimize
from planwise.optimization.report import (
    IterationRecord,
    OptimizationResult,
    RobustnessRow,
    TargetRow,
)
from planwise.optimization.targets import MODES, Target, Targets, load_targets

__all__ = [
    "MODES",
    "EvaluationReport",
    "IterationRecord",
    "OptimizationResult",
    "RobustnessRow",
    "Target",
    "TargetRow",
    "Targets",
    "apply_parameter_set",
    "evaluate",
    "load_targets",
    "optimize",
]
