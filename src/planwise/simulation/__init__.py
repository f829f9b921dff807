"""The vectorized workforce simulation kernel."""

from planwise.simulation.engine import (
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
    simulate,
    simulate_year,
)
from planwise.simulation.random import Purpose, hash_ids, uniform
from planwise.simulation.state import Workforce

__all__ = [
    "EVENT_TYPE_NAMES",
    "STATUS_CODE_NAMES",
    "TERMINATION_REASON_NAMES",
    "EventType",
    "Purpose",
    "SimulationResult",
    "StatusCode",
    "TerminationReason",
    "Workforce",
    "YearEvents",
    "YearOutcome",
    "YearSnapshot",
    "hash_ids",
    "simulate",
    "simulate_year",
    "uniform",
]
