"""The one place that owns the order of steps within a year and the loop over years.

Each step calls a pure rule from `rules`; this module only wires arrays between them and
assembles the year's events and snapshot (simulation-model.md §5–§6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from planwise.config import HazardBand, Settings
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation import rules
from planwise.simulation.random import Purpose, hash_ids, uniform
from planwise.simulation.state import Workforce

__all__ = [
    "EVENT_TYPE_NAMES",
    "STATUS_CODE_NAMES",
    "TERMINATION_REASON_NAMES",
    "EventType",
    "SimulationResult",
    "StatusCode",
    "TerminationReason",
    "YearEvents",
    "YearOutcome",
    "YearSnapshot",
    "simulate",
    "simulate_year",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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
        return (self.status_code == StatusCode.CONTINUOUS_ACTIVE) | (
            self.status_code == StatusCode.NEW_HIRE_ACTIVE
        )


@dataclass(frozen=True)
class YearOutcome:
    year: int
    counts: rules.HireCounts
    events: YearEvents
    snapshot: YearSnapshot


@dataclass(frozen=True)
class SimulationResult:
    """A multi-year run: the starting workforce, each year's outcome, the final workforce."""

    seed: int
    start_year: int
    starting_workforce: Workforce
    outcomes: tuple[YearOutcome, ...]
    final_workforce: Workforce

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(outcome.year for outcome in self.outcomes)


@dataclass(frozen=True)
class _Tables:
    """Settings turned into the arrays the rules index by level, built once per run."""

    band_minimum_next: FloatArray
    band_midpoint: FloatArray
    termination_level: FloatArray
    hire_mix: list[float]

    @classmethod
    def from_settings(cls, settings: Settings) -> _Tables:
        top = settings.top_level
        band_minimum_next = np.zeros(top + 2)
        band_midpoint = np.zeros(top + 1)
        termination_level = np.zeros(top + 1)
        for level in settings.job_levels:
            band_minimum_next[level.level - 1] = level.min_salary
            band_midpoint[level.level] = level.midpoint
            termination_level[level.level] = settings.termination_level_multipliers[level.level]
        return cls(
            band_minimum_next=band_minimum_next,
            band_midpoint=band_midpoint,
            termination_level=termination_level,
            hire_mix=[settings.hire_level_mix[level] for level in settings.level_numbers],
        )


def _bands(bands: list[HazardBand]) -> tuple[list[int], list[float]]:
    return [b.lower for b in bands], [b.multiplier for b in bands]


def _event_ids(
    id_hash: npt.NDArray[np.uint64], year: int, event_type: npt.NDArray[np.int8]
) -> npt.NDArray[np.int64]:
    """Deterministic event id from (employee, year, type): each occurs at most once a year."""
    salt = (np.uint64(year) << np.uint64(8)) | event_type.astype(np.uint64)
    return _mix(id_hash ^ _mix(salt))


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = values + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _EventBuilder:
    """Collects the year's events as column chunks; population index orders them."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        event_type: EventType,
        who: npt.NDArray[np.intp],
        day: IntArray | int,
        previous_level: IntArray,
        new_level: IntArray,
        previous_salary: FloatArray,
        new_salary: FloatArray,
        merit: FloatArray | None = None,
        rating: IntArray | None = None,
        reason: npt.NDArray[np.int8] | None = None,
        hazard: FloatArray | None = None,
    ) -> None:
        size = len(who)
        self.chunks.append(
            {
                "who": who,
                "event_type": np.full(size, event_type, dtype=np.int8),
                "day": np.broadcast_to(np.asarray(day, dtype=np.int64), (size,)),
                "previous_job_level": previous_level,
                "new_job_level": new_level,
                "previous_salary": previous_salary,
                "new_salary": new_salary,
                "merit_rate": np.full(size, np.nan) if merit is None else merit,
                "performance_rating": np.zeros(size, np.int64) if rating is None else rating,
                "termination_reason": np.zeros(size, np.int8) if reason is None else reason,
                "hazard_weight": np.full(size, np.nan) if hazard is None else hazard,
            }
        )

    def build(
        self,
        year: int,
        jan1: np.datetime64,
        ids: npt.NDArray[np.object_],
        hashes: npt.NDArray[np.uint64],
    ) -> YearEvents:
        columns = {
            key: np.concatenate([chunk[key] for chunk in self.chunks]) for key in self.chunks[0]
        }
        # Chunks were added in chronological order; a stable sort by employee keeps it.
        order = np.argsort(columns["who"], kind="stable")
        who = columns["who"][order]
        starts = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, dtype=bool)
        position = np.arange(len(who))
        group_start = np.maximum.accumulate(np.where(starts, position, 0)) if len(who) else position
        event_type = columns["event_type"][order]
        return YearEvents(
            event_id=_event_ids(hashes[who], year, event_type).view(np.int64),
            employee_index=who,
            population_ids=ids,
            event_type=event_type,
            event_sequence=(position - group_start + 1).astype(np.int64),
            effective_date=jan1 + columns["day"][order].astype("timedelta64[D]"),
            previous_job_level=columns["previous_job_level"][order].astype(np.int64),
            new_job_level=columns["new_job_level"][order].astype(np.int64),
            previous_salary=columns["previous_salary"][order],
            new_salary=columns["new_salary"][order],
            merit_rate=columns["merit_rate"][order],
            performance_rating=columns["performance_rating"][order],
            termination_reason=columns["termination_reason"][order],
            hazard_weight=columns["hazard_weight"][order],
        )


def _hires(
    year: int,
    count: int,
    days_in_year: int,
    seed: int,
    settings: Settings,
    tables: _Tables,
    levers: dict[str, FloatArray],
    jan1: np.datetime64,
) -> tuple[Workforce, IntArray]:
    """This year's hires (ids NH_<year>_<sequence>) and their hire days."""
    sequence = np.arange(1, count + 1)
    ids = np.strings.add(f"NH_{year}_", np.strings.zfill(sequence.astype(np.str_), 6)).astype(
        object
    )
    hashes = hash_ids(ids)
    # Levels: largest-remainder counts, handed out in the order of each hire's level draw.
    level_counts = rules.allocate_levels(count, tables.hire_mix)
    by_draw = np.lexsort((hashes, uniform(seed, hashes, year, Purpose.HIRE_LEVEL)))
    level = np.empty(count, dtype=np.int64)
    level[by_draw] = np.repeat(np.arange(1, len(level_counts) + 1), level_counts)
    hire_day = rules.uniform_day(uniform(seed, hashes, year, Purpose.HIRE_DATE), days_in_year)
    salary = rules.hire_salary(
        tables.band_midpoint[level],
        levers["new_hire_salary_adjustment"][level],
        uniform(seed, hashes, year, Purpose.HIRE_SALARY),
        settings.hire_salary_sigma,
    )
    bands = settings.hire_age_bands
    age = rules.hire_age_years(
        uniform(seed, hashes, year, Purpose.HIRE_AGE),
        [b.min_age for b in bands],
        [b.max_age for b in bands],
        [b.share for b in bands],
    )
    hire_date = jan1 + hire_day.astype("timedelta64[D]")
    birth_date = hire_date - np.round(age * rules.DAYS_PER_YEAR).astype("timedelta64[D]")
    workforce = Workforce(
        employee_id=ids,
        birth_date=birth_date,
        hire_date=hire_date,
        job_level=level,
        annual_salary=salary,
        gender=np.full(count, "", dtype=object),
        id_hash=hashes,
    )
    return workforce, hire_day


def simulate_year(
    workforce: Workforce,
    year: int,
    settings: Settings,
    levers: dict[str, FloatArray],
    seed: int,
    tables: _Tables | None = None,
) -> tuple[YearOutcome, Workforce]:
    """Simulate one year from the workforce active on Jan 1; return its outcome and Dec 31 state."""
    tables = tables or _Tables.from_settings(settings)
    size = len(workforce)
    jan1 = np.datetime64(f"{year}-01-01", "D")
    days_in_year = int((np.datetime64(f"{year + 1}-01-01", "D") - jan1).astype(np.int64))
    last_day = days_in_year - 1
    hashes = workforce.id_hash
    age = rules.completed_years(workforce.birth_date, jan1)
    tenure = rules.completed_years(workforce.hire_date, jan1)
    events = _EventBuilder()

    # 1. Experienced terminations (aligned count), plus reductions in force when shrinking.
    counts = rules.hire_counts(
        size,
        settings.termination_rate,
        settings.target_growth_rate,
        settings.new_hire_termination_rate,
    )
    weight = rules.termination_weight(
        rules.band_multiplier(age, *_bands(settings.termination_age_multipliers)),
        rules.band_multiplier(tenure, *_bands(settings.termination_tenure_multipliers)),
        tables.termination_level[workforce.job_level],
    )
    leavers = rules.choose_largest_keys(
        uniform(seed, hashes, year, Purpose.TERMINATION),
        weight,
        min(size, counts.experienced_terminations + counts.reductions),
        hashes,
    )
    termination_day = np.full(size, last_day + 1, dtype=np.int64)  # after Dec 31 = stays
    reason = np.zeros(size, dtype=np.int8)
    drawn_day = rules.uniform_day(
        uniform(seed, hashes, year, Purpose.TERMINATION_DATE), days_in_year
    )
    termination_day[leavers] = drawn_day[leavers]
    reason[leavers[: counts.experienced_terminations]] = TerminationReason.EXPERIENCED
    reason[leavers[counts.experienced_terminations :]] = TerminationReason.REDUCTION_IN_FORCE

    # 2–4. Raises in effective-date order; on one date: COLA, promotion, merit.
    salary = workforce.annual_salary.copy()
    level = workforce.job_level.copy()
    steps = sorted(
        (settings.effective_dates.on(name, year).timetuple().tm_yday - 1, priority, name)
        for priority, name in enumerate(("cola", "promotion", "merit"))
    )
    change_days = [0]
    salary_segments = [workforce.annual_salary]
    for day, _, name in steps:
        active = termination_day >= day
        if name == "cola":
            rate = levers["cola_rate"][level]
            raised = np.flatnonzero(active & (rate != 0))
            new = rules.apply_cola(salary[raised], rate[raised])
            events.add(
                EventType.COLA, raised, day, level[raised], level[raised], salary[raised], new
            )
            salary[raised] = new
        elif name == "promotion":
            probability = rules.promotion_probability(
                levers["promotion_probability"][level],
                rules.band_multiplier(age, *_bands(settings.promotion_age_multipliers)),
                rules.band_multiplier(tenure, *_bands(settings.promotion_tenure_multipliers)),
            )
            eligible = active & (tenure >= 1) & (level < settings.top_level)
            drawn = uniform(seed, hashes, year, Purpose.PROMOTION)
            promoted = np.flatnonzero(eligible & (drawn < probability))
            old_level = level[promoted]
            new = rules.promote(
                salary[promoted],
                levers["promotion_raise"][old_level],
                tables.band_minimum_next[old_level],
            )
            events.add(
                EventType.PROMOTION, promoted, day, old_level, old_level + 1, salary[promoted], new
            )
            salary[promoted] = new
            level[promoted] = old_level + 1
        else:
            rating = rules.performance_rating(
                uniform(seed, hashes, year, Purpose.PERFORMANCE_RATING),
                [r.share for r in settings.performance_ratings],
            )
            rate = rules.merit_rate(levers["merit_base"][level], rating, settings.merit_multipliers)
            raised = np.flatnonzero(active & (rate > 0))
            new = salary[raised] * (1.0 + rate[raised])
            events.add(
                EventType.MERIT_INCREASE,
                raised,
                day,
                level[raised],
                level[raised],
                salary[raised],
                new,
                merit=rate[raised],
                rating=rating[raised] + 1,
            )
            salary[raised] = new
        change_days.append(day)
        salary_segments.append(salary.copy())

    events.add(
        EventType.TERMINATION,
        leavers,
        termination_day[leavers],
        level[leavers],
        level[leavers],
        salary[leavers],
        salary[leavers],
        reason=reason[leavers],
        hazard=weight[leavers],
    )

    # 5–6. Hiring to the aligned count, then this year's new-hire terminations.
    hires, hire_day = _hires(year, counts.hires, days_in_year, seed, settings, tables, levers, jan1)
    can_leave = hire_day < last_day
    leaving_hires = rules.choose_largest_keys(
        uniform(seed, hires.id_hash, year, Purpose.NEW_HIRE_TERMINATION),
        can_leave.astype(np.float64),
        min(counts.new_hire_terminations, int(can_leave.sum())),
        hires.id_hash,
    )
    hire_leave_day = np.full(counts.hires, last_day + 1, dtype=np.int64)
    hire_leave_day[leaving_hires] = rules.new_hire_termination_day(
        uniform(seed, hires.id_hash, year, Purpose.NEW_HIRE_TERMINATION_DATE)[leaving_hires],
        hire_day[leaving_hires],
        days_in_year,
    )
    hire_index = size + np.arange(counts.hires)
    events.add(
        EventType.HIRE,
        hire_index,
        hire_day,
        hires.job_level,
        hires.job_level,
        np.zeros(counts.hires),
        hires.annual_salary,
    )
    events.add(
        EventType.TERMINATION,
        hire_index[leaving_hires],
        hire_leave_day[leaving_hires],
        hires.job_level[leaving_hires],
        hires.job_level[leaving_hires],
        hires.annual_salary[leaving_hires],
        hires.annual_salary[leaving_hires],
        reason=np.full(len(leaving_hires), TerminationReason.NEW_HIRE, dtype=np.int8),
    )

    population = Workforce.concat(workforce, hires)
    year_events = events.build(year, jan1, population.employee_id, population.id_hash)

    # Snapshot and proration.
    pay = np.concatenate(
        [
            rules.prorate(
                np.zeros(size, np.int64),
                np.minimum(termination_day, last_day),
                change_days,
                salary_segments,
                days_in_year,
            ),
            hires.annual_salary
            * (np.minimum(hire_leave_day, last_day) - hire_day + 1)
            / days_in_year,
        ]
    )
    stayed = termination_day > last_day
    hire_stayed = hire_leave_day > last_day
    status = np.concatenate(
        [
            np.where(stayed, StatusCode.CONTINUOUS_ACTIVE, StatusCode.EXPERIENCED_TERMINATION),
            np.where(hire_stayed, StatusCode.NEW_HIRE_ACTIVE, StatusCode.NEW_HIRE_TERMINATION),
        ]
    ).astype(np.int8)
    leave_day = np.concatenate([termination_day, hire_leave_day])
    termination_date = np.where(
        leave_day <= last_day, jan1 + leave_day.astype("timedelta64[D]"), np.datetime64("NaT", "D")
    )
    snapshot = YearSnapshot(
        employee_id=population.employee_id,
        birth_date=population.birth_date,
        hire_date=population.hire_date,
        termination_date=termination_date,
        start_job_level=np.concatenate([workforce.job_level, hires.job_level]),
        job_level=np.concatenate([level, hires.job_level]),
        start_annual_salary=np.concatenate([workforce.annual_salary, hires.annual_salary]),
        annual_salary=np.concatenate([salary, hires.annual_salary]),
        prorated_compensation=pay,
        status_code=status,
        gender=population.gender,
    )
    next_workforce = Workforce.concat(
        workforce.with_pay(level, salary).take(stayed), hires.take(hire_stayed)
    )
    return YearOutcome(year, counts, year_events, snapshot), next_workforce


def simulate(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    *,
    start_year: int,
    years: int,
    seed: int,
    on_year: Callable[[YearOutcome], None] | None = None,
) -> SimulationResult:
    """Simulate `years` consecutive years from the workforce active on Jan 1 of `start_year`."""
    tables = _Tables.from_settings(settings)
    outcomes: list[YearOutcome] = []
    current = workforce
    for year in range(start_year, start_year + years):
        outcome, current = simulate_year(
            current, year, settings, levers.for_year(year), seed, tables
        )
        outcomes.append(outcome)
        if on_year is not None:
            on_year(outcome)
    return SimulationResult(seed, start_year, workforce, tuple(outcomes), current)
