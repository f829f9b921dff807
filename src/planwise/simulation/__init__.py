"""The vectorized workforce simulation kernel."""

from planwise.simulation.engine import (
    STRUCTURAL_PARAMETERS,
    PlannedRun,
    replay,
    simulate,
    simulate_planned,
    simulate_year,
)
from planwise.simulation.outputs import (
    EVENT_TYPE_NAMES,
    STATUS_CODE_NAMES,
    TERMINATION_REASON_NAMES,
    EventType,
    SimulationResult,
    StatusCode,
    TerminationReason,
    YearEvents,
    YearOutcome,
    YearSnapshot,
)
from planwise.simulation.random import Purpose, hash_ids, uniform
from planwise.simulation.state import Workforce

__all__ = [
    "EVENT_TYPE_NAMES",
    "STATUS_CODE_NAMES",
    "STRUCTURAL_PARAMETERS",
    "TERMINATION_REASON_NAMES",
    "EventType",
    "PlannedRun",
    "Purpose",
    "SimulationResult",
    "StatusCode",
    "TerminationReason",
    "Workforce",
    "YearEvents",
    "YearOutcome",
    "YearSnapshot",
    "hash_ids",
    "replay",
    "simulate",
    "simulate_planned",
    "simulate_year",
    "uniform",
]
