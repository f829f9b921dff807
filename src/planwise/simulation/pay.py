"""Pay on a year's plan: raises, hire salaries, the event log, the snapshot and proration.

Only the compensation levers enter here. A full simulation runs `pay_year` once on each
fresh plan; a compensation-only replay runs it again on stored plans with other levers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from planwise.simulation import rules
from planwise.simulation.outputs import (
    EventType,
    StatusCode,
    TerminationReason,
    YearEvents,
    YearOutcome,
    YearSnapshot,
)
from planwise.simulation.plan import Tables, YearPlan
from planwise.simulation.state import Workforce

__all__ = ["pay_year"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]

_MIX_INCREMENT = np.uint64(0x9E3779B97F4A7C15)


def _mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = values + _MIX_INCREMENT
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _event_ids(
    id_hash: npt.NDArray[np.uint64], year: int, event_type: npt.NDArray[np.int8]
) -> npt.NDArray[np.int64]:
    """Deterministic event id from (employee, year, type): each occurs at most once a year."""
    salt = (np.uint64(year) << np.uint64(8)) | event_type.astype(np.uint64)
    return _mix(id_hash ^ _mix(salt)).view(np.int64)


class _EventLog:
    """Collects the year's events as column chunks, in chronological order per employee."""

    def __init__(self) -> None:
        self.chunks: list[dict[str, np.ndarray]] = []

    def add(
        self,
        event_type: EventType,
        who: IndexArray,
        day: IntArray | int,
        previous_level: IntArray,
        new_level: IntArray,
        previous_salary: FloatArray,
        new_salary: FloatArray,
        *,
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

    def build(self, year: int, jan1: np.datetime64, population: Workforce) -> YearEvents:
        columns = {
            key: np.concatenate([chunk[key] for chunk in self.chunks]) for key in self.chunks[0]
        }
        # Chunks were added in chronological order; a stable sort by employee keeps it.
        order = np.argsort(columns["who"], kind="stable")
        who = columns["who"][order]
        position = np.arange(len(who))
        first = np.r_[True, who[1:] != who[:-1]] if len(who) else np.zeros(0, dtype=bool)
        group_start = np.maximum.accumulate(np.where(first, position, 0)) if len(who) else position
        event_type = columns["event_type"][order]
        return YearEvents(
            event_id=_event_ids(population.id_hash[who], year, event_type),
            employee_index=who,
            population_ids=population.employee_id,
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


def pay_year(
    plan: YearPlan,
    start_salary: FloatArray,
    levers: dict[str, FloatArray],
    tables: Tables,
) -> tuple[YearOutcome, Workforce]:
    """Apply the year's raises and hires' pay to a plan; return the outcome and Dec 31 state."""
    size = len(plan.start)
    last_day = plan.last_day
    events = _EventLog()
    salary = start_salary.copy()
    change_days = [0]
    segments = [start_salary]
    for step in plan.steps:
        who, level = step.who, step.level
        if step.name == "cola":
            rate = levers["cola_rate"][level]
            changed = rate != 0
            who, level, rate = who[changed], level[changed], rate[changed]
            new = rules.apply_cola(salary[who], rate)
            events.add(EventType.COLA, who, step.day, level, level, salary[who], new)
        elif step.name == "promotion":
            new = rules.promote(
                salary[who], levers["promotion_raise"][level], tables.band_minimum_next[level]
            )
            events.add(EventType.PROMOTION, who, step.day, level, level + 1, salary[who], new)
        else:
            assert step.rating is not None  # merit steps always carry ratings
            rate = rules.merit_rate(
                levers["merit_base"][level], step.rating, tables.merit_multipliers
            )
            changed = rate > 0
            who, level, rate = who[changed], level[changed], rate[changed]
            new = salary[who] * (1.0 + rate)
            events.add(
                EventType.MERIT_INCREASE,
                who,
                step.day,
                level,
                level,
                salary[who],
                new,
                merit=rate,
                rating=step.rating[changed] + 1,
            )
        salary[who] = new
        change_days.append(step.day)
        segments.append(salary.copy())

    leavers, level = plan.leavers, plan.final_level
    events.add(
        EventType.TERMINATION,
        leavers,
        plan.termination_day[leavers],
        level[leavers],
        level[leavers],
        salary[leavers],
        salary[leavers],
        reason=plan.reason[leavers],
        hazard=plan.hazard_weight[leavers],
    )

    hire_level = plan.hires.job_level
    hire_salary = rules.hire_salary(
        tables.band_midpoint[hire_level],
        levers["new_hire_salary_adjustment"][hire_level],
        plan.hire_spread,
    )
    hires = plan.hires.with_pay(hire_level, hire_salary)
    hire_index = size + np.arange(len(hires))
    events.add(
        EventType.HIRE,
        hire_index,
        plan.hire_day,
        hire_level,
        hire_level,
        np.zeros(len(hires)),
        hire_salary,
    )
    gone = plan.leaving_hires
    events.add(
        EventType.TERMINATION,
        hire_index[gone],
        plan.hire_leave_day[gone],
        hire_level[gone],
        hire_level[gone],
        hire_salary[gone],
        hire_salary[gone],
        reason=np.full(len(gone), TerminationReason.NEW_HIRE, dtype=np.int8),
    )

    stayers = plan.start.with_pay(plan.final_level, salary)
    population = Workforce.concat(stayers, hires)
    year_events = events.build(plan.year, plan.jan1, population)

    employed_to = np.minimum(plan.termination_day, last_day)
    hire_employed_to = np.minimum(plan.hire_leave_day, last_day)
    pay = np.concatenate(
        [
            rules.prorate(
                np.zeros(size, np.int64), employed_to, change_days, segments, plan.days_in_year
            ),
            rules.prorate(plan.hire_day, hire_employed_to, [0], [hire_salary], plan.days_in_year),
        ]
    )
    stayed = plan.termination_day > last_day
    hire_stayed = plan.hire_leave_day > last_day
    status = np.concatenate(
        [
            np.where(stayed, StatusCode.CONTINUOUS_ACTIVE, StatusCode.EXPERIENCED_TERMINATION),
            np.where(hire_stayed, StatusCode.NEW_HIRE_ACTIVE, StatusCode.NEW_HIRE_TERMINATION),
        ]
    ).astype(np.int8)
    leave_day = np.concatenate([plan.termination_day, plan.hire_leave_day])
    termination_date = np.where(
        leave_day <= last_day,
        plan.jan1 + leave_day.astype("timedelta64[D]"),
        np.datetime64("NaT", "D"),
    )
    snapshot = YearSnapshot(
        employee_id=population.employee_id,
        birth_date=population.birth_date,
        hire_date=population.hire_date,
        termination_date=termination_date,
        start_job_level=np.concatenate([plan.start.job_level, hire_level]),
        job_level=population.job_level,
        start_annual_salary=np.concatenate([start_salary, hire_salary]),
        annual_salary=population.annual_salary,
        prorated_compensation=pay,
        status_code=status,
        gender=population.gender,
    )
    next_workforce = Workforce.concat(stayers.take(stayed), hires.take(hire_stayed))
    return YearOutcome(plan.year, plan.counts, year_events, snapshot), next_workforce
