"""The tuning loop's domain: targets, the decision space, the solver, the search, reports.

Running and storing simulations is the application layer's (`planwise.application.tuning`).
"""

from planwise.optimization.loop import Evaluator, search
from planwise.optimization.report import (
    IterationKind,
    IterationRecord,
    OptimizationResult,
    OptimizationStatus,
    RobustnessRow,
    StopReason,
    TargetRow,
)
from planwise.optimization.targets import MODES, Mode, Priority, Target, Targets, load_targets

__all__ = [
    "MODES",
    "Evaluator",
    "IterationKind",
    "IterationRecord",
    "Mode",
    "OptimizationResult",
    "OptimizationStatus",
    "Priority",
    "RobustnessRow",
    "StopReason",
    "Target",
    "TargetRow",
    "Targets",
    "load_targets",
    "search",
]
