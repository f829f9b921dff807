"""The vectorized workforce simulation kernel.

The names below are imported on first use: a module that needs only the outputs' codes
(e.g. the store's schema) does not load the engine and SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_MODULES: dict[str, str] = {
    "STRUCTURAL_PARAMETERS": "planwise.simulation.engine",
    "PlannedRun": "planwise.simulation.engine",
    "replay": "planwise.simulation.engine",
    "simulate": "planwise.simulation.engine",
    "simulate_planned": "planwise.simulation.engine",
    "simulate_year": "planwise.simulation.engine",
    "EVENT_TYPE_NAMES": "planwise.simulation.outputs",
    "STATUS_CODE_NAMES": "planwise.simulation.outputs",
    "TERMINATION_REASON_NAMES": "planwise.simulation.outputs",
    "EventType": "planwise.simulation.outputs",
    "SimulationResult": "planwise.simulation.outputs",
    "StatusCode": "planwise.simulation.outputs",
    "TerminationReason": "planwise.simulation.outputs",
    "YearEvents": "planwise.simulation.outputs",
    "YearOutcome": "planwise.simulation.outputs",
    "YearSnapshot": "planwise.simulation.outputs",
    "Purpose": "planwise.simulation.random",
    "hash_ids": "planwise.simulation.random",
    "uniform": "planwise.simulation.random",
    "Workforce": "planwise.simulation.state",
}

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


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'planwise.simulation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
