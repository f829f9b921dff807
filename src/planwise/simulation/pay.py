"""Paying a year's plan: leavers' and hires' pay, the event log, the snapshot, proration.

The engine (`engine.pay_year`) runs the pay steps in the order of the event log on a
`PayLedger`: the dated raises (each paid by its own planned raise, `raises.py`), then the
experienced terminations, hiring and new-hire terminations here; `close_year` makes the
snapshot. Only the compensation levers enter here. A full simulation pays each fresh plan
once; a compensation-only replay pays stored plans again with other levers.
"""

from __future__ import annotations

from collections.abc import Mapping

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

__all__ = [
    "PayLedger",
    "close_year",
    "pay_experienced_terminations",
    "pay_hiring",
    "pay_new_hire_terminations",
]

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


class PayLedger:
    """A year's pay being worked out on its plan, step by step (`engine.pay_year`).

    It holds the salaries so far (from the Jan 1 rates), the salary segments proration
    needs, this year's hires (salaried once `pay_hiring` has run) and the events logged so
    far, in the order the steps ran: that is each employee's chronological order.
    """

    def __init__(
        self,
        plan: YearPlan,
        start_salary: FloatArray,
        levers: Mapping[str, FloatArray],
        tables: Tables,
    ) -> None:
        self.plan = plan
        self.levers = levers
        self.tables = tables
        self.start_salary = start_salary
        self.salary = start_salary.copy()
        self.change_days: list[int] = [0]
        self.segments: list[FloatArray] = [start_salary]
        self.hires = plan.hires
        self.events = _EventLog()

    def raise_salaries(self, day: int, who: IndexArray, new_salary: FloatArray) -> None:
        """`who` are paid `new_salary` from `day` on: a new segment for proration."""
        self.salary[who] = new_salary
        self.change_days.append(day)
        self.segments.append(self.salary.copy())


def pay_experienced_terminations(ledger: PayLedger) -> None:
    """Log each leaver's termination at the salary they left with.

    Paid after the raises: a leaver's last salary includes the raises dated on or before
    the leaving day (those dated after skipped them), and the termination follows them.
    """
    plan = ledger.plan
    leavers, level, salary = plan.leavers, plan.final_level, ledger.salary
    ledger.events.add(
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


def pay_hiring(ledger: PayLedger) -> None:
    """Each hire's salary: band midpoint × `new_hire_salary_adjustment` × their spread."""
    plan = ledger.plan
    hire_level = plan.hires.job_level
    hire_salary = rules.hire_salary(
        ledger.tables.band_midpoint[hire_level],
        ledger.levers["new_hire_salary_adjustment"][hire_level],
        plan.hire_spread,
    )
    ledger.hires = plan.hires.with_pay(hire_level, hire_salary)
    ledger.events.add(
        EventType.HIRE,
        _hire_index(ledger),
        plan.hire_day,
        hire_level,
        hire_level,
        np.zeros(len(hire_salary)),
        hire_salary,
    )


def pay_new_hire_terminations(ledger: PayLedger) -> None:
    """Log the leaving hires' terminations at their hire salary (no raise in the hire year)."""
    plan = ledger.plan
    gone = plan.leaving_hires
    hire_level, hire_salary = ledger.hires.job_level, ledger.hires.annual_salary
    ledger.events.add(
        EventType.TERMINATION,
        _hire_index(ledger)[gone],
        plan.hire_leave_day[gone],
        hire_level[gone],
        hire_level[gone],
        hire_salary[gone],
        hire_salary[gone],
        reason=np.full(len(gone), TerminationReason.NEW_HIRE, dtype=np.int8),
    )


def _hire_index(ledger: PayLedger) -> IndexArray:
    """The hires' positions in the year's population: after the Jan 1 workforce."""
    return len(ledger.plan.start) + np.arange(len(ledger.hires))


def close_year(ledger: PayLedger) -> tuple[YearOutcome, Workforce]:
    """The year's events, its Dec 31 snapshot with prorated pay, and next year's workforce."""
    plan = ledger.plan
    size, last_day = len(plan.start), plan.last_day
    hires = ledger.hires
    hire_level, hire_salary = hires.job_level, hires.annual_salary
    stayers = plan.start.with_pay(plan.final_level, ledger.salary)
    population = Workforce.concat(stayers, hires)
    year_events = ledger.events.build(plan.year, plan.jan1, population)

    employed_to = np.minimum(plan.termination_day, last_day)
    hire_employed_to = np.minimum(plan.hire_leave_day, last_day)
    pay = np.concatenate(
        [
            rules.prorate(
                np.zeros(size, np.int64),
                employed_to,
                ledger.change_days,
                ledger.segments,
                plan.days_in_year,
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
        start_annual_salary=np.concatenate([ledger.start_salary, hire_salary]),
        annual_salary=population.annual_salary,
        prorated_compensation=pay,
        status_code=status,
        gender=population.gender,
    )
    next_workforce = Workforce.concat(stayers.take(stayed), hires.take(hire_stayed))
    return YearOutcome(plan.year, plan.counts, year_events, snapshot), next_workforce
