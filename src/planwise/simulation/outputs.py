"""What a simulated year produces: the event log and the year-end snapshot (§6)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from planwise.simulation.state import Workforce

__all__ = [
    "EVENT_TYPE_NAMES",
    "STATUS_CODE_NAMES",
    "TERMINATION_REASON_NAMES",
    "EventType",
    "HireCounts",
    "SimulationResult",
    "StatusCode",
    "TerminationReason",
    "YearEvents",
    "YearOutcome",
    "YearSnapshot",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class HireCounts:
    """The year's aligned counts (§5 step 5): everything follows from start and rates."""

    start: int
    experienced_terminations: int
    target_end: int
    net_hires: int
    hires: int
    new_hire_terminations: int
    reductions: int


class EventType(IntEnum):
    HIRE = 0
    COLA = 1
    PROMOTION = 2
    MERIT_INCREASE = 3
    TERMINATION = 4


EVENT_TYPE_NAMES = ("hire", "cola", "promotion", "merit_increase", "termination")


class StatusCode(IntEnum):
    CONTINUOUS_ACTIVE = 0
    EXPERIENCED_TERMINATION = 1
    NEW_HIRE_ACTIVE = 2
    NEW_HIRE_TERMINATION = 3


STATUS_CODE_NAMES = (
    "continuous_active",
    "experienced_termination",
    "new_hire_active",
    "new_hire_termination",
)


class TerminationReason(IntEnum):
    NONE = 0
    EXPERIENCED = 1
    REDUCTION_IN_FORCE = 2
    NEW_HIRE = 3


TERMINATION_REASON_NAMES = ("", "experienced", "reduction_in_force", "new_hire")


@dataclass(frozen=True)
class YearEvents:
    """The year's events, ordered by employee then effective date (one row per change)."""

    event_id: npt.NDArray[np.int64]
    employee_index: npt.NDArray[np.intp]
    population_ids: npt.NDArray[np.object_]
    event_type: npt.NDArray[np.int8]
    event_sequence: IntArray
    effective_date: npt.NDArray[np.datetime64]
    previous_job_level: IntArray
    new_job_level: IntArray
    previous_salary: FloatArray
    new_salary: FloatArray
    merit_rate: FloatArray
    performance_rating: IntArray
    termination_reason: npt.NDArray[np.int8]
    hazard_weight: FloatArray

    def __len__(self) -> int:
        return len(self.event_id)

    @property
    def employee_id(self) -> npt.NDArray[np.object_]:
        """Each event's employee id (`employee_index` points into the year's population)."""
        return self.population_ids[self.employee_index]


@dataclass(frozen=True)
class YearSnapshot:
    """Everyone employed at any time in the year, with year-end (or leaving) pay and level."""

    employee_id: npt.NDArray[np.object_]
    birth_date: npt.NDArray[np.datetime64]
    hire_date: npt.NDArray[np.datetime64]
    termination_date: npt.NDArray[np.datetime64]
    start_job_level: IntArray
    job_level: IntArray
    start_annual_salary: FloatArray
    annual_salary: FloatArray
    prorated_compensation: FloatArray
    status_code: npt.NDArray[np.int8]
    gender: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.employee_id)

    @property
    def is_active(self) -> BoolArray:
        active: BoolArray = (self.status_code == StatusCode.CONTINUOUS_ACTIVE) | (
            self.status_code == StatusCode.NEW_HIRE_ACTIVE
        )
        return active


@dataclass(frozen=True)
class YearOutcome:
    year: int
    counts: HireCounts
    events: YearEvents
    snapshot: YearSnapshot


@dataclass(frozen=True)
class SimulationResult:
    """A multi-year run: the starting workforce, each year's outcome, the final workforce."""

    seed: int
    start_year: int
    starting_workforce: Workforce
    outcomes: tuple[YearOutcome, ...]
    """Every year's outcome, or none when the caller handled each year as it came."""
    final_workforce: Workforce
    end_year: int | None = None
    """The last simulated year (None: the last outcome's)."""

    @property
    def years(self) -> tuple[int, ...]:
        if self.end_year is None:
            return tuple(outcome.year for outcome in self.outcomes)
        return tuple(range(self.start_year, self.end_year + 1))
