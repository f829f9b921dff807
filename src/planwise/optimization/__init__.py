"""The tuning loop's domain: targets, the decision space, the solver, the search, reports.

Running and storing simulations is the application layer's (`planwise.application.tuning`).
"""

from planwise.optimization.loop import Evaluator, SearchReport, search
from planwise.optimization.report import (
    ChangeKind,
    IterationKind,
    IterationRecord,
    LeverChange,
    LeverRangeWarning,
    OptimizationResult,
    OptimizationStatus,
    RobustnessRow,
    StopReason,
    TargetRow,
    Verdict,
)
from planwise.optimization.targets import (
    MODES,
    Bound,
    Mode,
    Priority,
    Statistic,
    Target,
    Targets,
    load_targets,
)

__all__ = [
    "MODES",
    "Bound",
    "ChangeKind",
    "Evaluator",
    "IterationKind",
    "IterationRecord",
    "LeverChange",
    "LeverRangeWarning",
    "Mode",
    "OptimizationResult",
    "OptimizationStatus",
    "Priority",
    "RobustnessRow",
    "SearchReport",
    "Statistic",
    "StopReason",
    "Target",
    "TargetRow",
    "Targets",
    "Verdict",
    "load_targets",
    "search",
]
