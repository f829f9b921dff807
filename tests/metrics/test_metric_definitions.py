"""Every metric of simulation-model.md §7, checked against figures worked out by hand.

Each case is a tiny year (one to seven people) built directly as a `YearOutcome`, so the expected
value can be read off the table: it is written as the arithmetic a person would do
(`1 - 55_000 / 72_000`), never recomputed with the numpy code under test. A wrong definition
(mean for median, pooled for per-level, sample for population std, leavers counted as
actives, new hires counted as continuing) breaks at least one row.

The choices the design leaves open are those of `planwise.metrics`' docstring: population
standard deviation (ddof = 0); new-hire pay ratio weighted by the level's active headcount
over the levels with both new-hire and continuing actives; gender pay gap over "F" and "M"
only, NaN when either is missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from planwise.metrics import (
    HORIZON_METRICS,
    METRICS,
    YEAR_METRICS,
    YearSummary,
    baseline_summary,
    horizon_metrics,
    run_metrics,
    year_metrics,
)
from planwise.simulation import Workforce
from planwise.simulation.outputs import (
    EventType,
    SimulationResult,
    StatusCode,
    TerminationReason,
    YearEvents,
    YearOutcome,
    YearSnapshot,
)
from planwise.simulation.rules import HireCounts

NAN = math.nan
YEAR = 2025


def close_to(expected: float) -> object:
    """Equal up to float rounding (the hand arithmetic and numpy may sum in another order)."""
    return pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=True)


# ---------------------------------------------------------------------------------------------
# Building a year by hand
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """One snapshot row: who was paid in the year, at which level and salary."""

    status: StatusCode
    level: int
    salary: float
    start_salary: float
    start_level: int
    prorated: float
    gender: str


def continuing(
    level: int,
    salary: float,
    *,
    start_salary: float | None = None,
    start_level: int | None = None,
    prorated: float | None = None,
    gender: str = "",
) -> Person:
    """Active on Jan 1 and on Dec 31 (by default at an unchanged salary, paid all year)."""
    return Person(
        StatusCode.CONTINUOUS_ACTIVE,
        level,
        salary,
        salary if start_salary is None else start_salary,
        level if start_level is None else start_level,
        salary if prorated is None else prorated,
        gender,
    )


def new_hire(
    level: int, salary: float, *, prorated: float | None = None, gender: str = ""
) -> Person:
    """Hired in the year and still active on Dec 31."""
    return Person(
        StatusCode.NEW_HIRE_ACTIVE,
        level,
        salary,
        salary,
        level,
        salary / 2 if prorated is None else prorated,
        gender,
    )


def leaver(
    level: int,
    salary: float,
    *,
    prorated: float,
    start_salary: float | None = None,
    gender: str = "",
    hired_this_year: bool = False,
) -> Person:
    """Left during the year: paid for part of it, not active on Dec 31."""
    status = (
        StatusCode.NEW_HIRE_TERMINATION if hired_this_year else StatusCode.EXPERIENCED_TERMINATION
    )
    return Person(
        status,
        level,
        salary,
        salary if start_salary is None else start_salary,
        level,
        prorated,
        gender,
    )


@dataclass(frozen=True)
class Event:
    """One event row; `who` is the person's position in the year's list of people."""

    who: int
    event_type: EventType
    previous_salary: float
    new_salary: float
    merit_rate: float = NAN
    level_step: int = 0


def cola(who: int, previous_salary: float, new_salary: float) -> Event:
    return Event(who, EventType.COLA, previous_salary, new_salary)


def merit(who: int, previous_salary: float, new_salary: float, rate: float) -> Event:
    return Event(who, EventType.MERIT_INCREASE, previous_salary, new_salary, merit_rate=rate)


def promotion(who: int, previous_salary: float, new_salary: float) -> Event:
    return Event(who, EventType.PROMOTION, previous_salary, new_salary, level_step=1)


def hire(who: int, salary: float) -> Event:
    return Event(who, EventType.HIRE, 0.0, salary)


def termination(who: int, salary: float) -> Event:
    return Event(who, EventType.TERMINATION, salary, salary)


_TERMINATION_REASON = {
    StatusCode.EXPERIENCED_TERMINATION: TerminationReason.EXPERIENCED,
    StatusCode.NEW_HIRE_TERMINATION: TerminationReason.NEW_HIRE,
}


def year_of(
    people: Sequence[Person], events: Sequence[Event] = (), year: int = YEAR
) -> YearOutcome:
    """The `YearOutcome` the engine would have written for these people and events.

    Only the columns the metrics read carry meaning; the others (dates, ids, counts) are
    filled consistently so the objects look like the engine's.
    """
    statuses = [person.status for person in people]
    jan1 = np.datetime64(f"{year}-01-01", "D")
    ids = np.array([f"E{index + 1}" for index in range(len(people))], dtype=object)
    hired = np.isin(statuses, [StatusCode.NEW_HIRE_ACTIVE, StatusCode.NEW_HIRE_TERMINATION])
    left = np.isin(statuses, list(_TERMINATION_REASON))
    snapshot = YearSnapshot(
        employee_id=ids,
        birth_date=np.full(len(people), np.datetime64("1985-06-15", "D")),
        hire_date=np.where(hired, jan1 + 59, np.datetime64("2020-01-01", "D")),
        termination_date=np.where(left, jan1 + 180, np.datetime64("NaT", "D")),
        start_job_level=np.array([person.start_level for person in people], dtype=np.int64),
        job_level=np.array([person.level for person in people], dtype=np.int64),
        start_annual_salary=np.array([person.start_salary for person in people], dtype=float),
        annual_salary=np.array([person.salary for person in people], dtype=float),
        prorated_compensation=np.array([person.prorated for person in people], dtype=float),
        status_code=np.array(statuses, dtype=np.int8),
        gender=np.array([person.gender for person in people], dtype=object),
    )
    ordered = sorted(events, key=lambda event: event.who)  # stable: keeps each person's order
    who = np.array([event.who for event in ordered], dtype=np.intp)
    sequence = [
        sum(1 for earlier in ordered[:position] if earlier.who == event.who) + 1
        for position, event in enumerate(ordered)
    ]
    new_level = [people[event.who].level for event in ordered]
    events_table = YearEvents(
        event_id=np.arange(1, len(ordered) + 1, dtype=np.int64),
        employee_index=who,
        population_ids=ids,
        event_type=np.array([event.event_type for event in ordered], dtype=np.int8),
        event_sequence=np.array(sequence, dtype=np.int64),
        effective_date=jan1 + np.array(sequence, dtype="timedelta64[D]"),
        previous_job_level=np.array(
            [level - event.level_step for level, event in zip(new_level, ordered, strict=True)],
            dtype=np.int64,
        ),
        new_job_level=np.array(new_level, dtype=np.int64),
        previous_salary=np.array([event.previous_salary for event in ordered], dtype=float),
        new_salary=np.array([event.new_salary for event in ordered], dtype=float),
        merit_rate=np.array([event.merit_rate for event in ordered], dtype=float),
        performance_rating=np.zeros(len(ordered), dtype=np.int64),
        termination_reason=np.array(
            [
                _TERMINATION_REASON.get(people[event.who].status, TerminationReason.NONE)
                if event.event_type == EventType.TERMINATION
                else TerminationReason.NONE
                for event in ordered
            ],
            dtype=np.int8,
        ),
        hazard_weight=np.full(len(ordered), NAN),
    )
    start = statuses.count(StatusCode.CONTINUOUS_ACTIVE) + statuses.count(
        StatusCode.EXPERIENCED_TERMINATION
    )
    hires = int(hired.sum())
    hire_leavers = statuses.count(StatusCode.NEW_HIRE_TERMINATION)
    counts = HireCounts(
        start=start,
        experienced_terminations=statuses.count(StatusCode.EXPERIENCED_TERMINATION),
        target_end=int(snapshot.is_active.sum()),
        net_hires=hires - hire_leavers,
        hires=hires,
        new_hire_terminations=hire_leavers,
        reductions=0,
    )
    return YearOutcome(year, counts, events_table, snapshot)


def metric_of(outcome: YearOutcome, name: str, previous: YearSummary | None = None) -> float:
    return year_metrics(outcome, previous or PREVIOUS_YEAR)[name]


# ---------------------------------------------------------------------------------------------
# One ordinary year: every per-year metric
# ---------------------------------------------------------------------------------------------

PREVIOUS_YEAR = YearSummary(
    year=YEAR - 1,
    headcount=4,
    total_compensation_cost=260_000.0,
    average_salary=62_000.0,
    median_salary=58_000.0,
)

# Seven people paid in the year, five of them active on Dec 31:
#   #  who         level  Jan 1 → Dec 31 salary   paid      gender  events
#   0  continuing  1      50_000 → 55_000          53_000    F       COLA +1_000, merit +4_000
#   1  continuing  1      56_000 → 60_000          58_000    M       COLA +1_000, merit +3_000
#   2  new hire    1               50_000          20_000    F       hire
#   3  continuing  1 → 2  70_000 → 84_000          80_000    M       COLA, promotion +9_000, merit
#   4  new hire    2               90_000          30_000    F       hire
#   5  leaver      2     100_000 → 101_000         40_000    F       COLA +1_000, termination
#   6  hire leaver 1               45_000           5_000    M       hire, termination
ORDINARY_YEAR = year_of(
    [
        continuing(1, 55_000, start_salary=50_000, prorated=53_000, gender="F"),
        continuing(1, 60_000, start_salary=56_000, prorated=58_000, gender="M"),
        new_hire(1, 50_000, prorated=20_000, gender="F"),
        continuing(2, 84_000, start_salary=70_000, start_level=1, prorated=80_000, gender="M"),
        new_hire(2, 90_000, prorated=30_000, gender="F"),
        leaver(2, 101_000, start_salary=100_000, prorated=40_000, gender="F"),
        leaver(1, 45_000, prorated=5_000, gender="M", hired_this_year=True),
    ],
    [
        cola(0, 50_000, 51_000),
        merit(0, 51_000, 55_000, rate=0.02),
        cola(1, 56_000, 57_000),
        merit(1, 57_000, 60_000, rate=0.03),
        hire(2, 50_000),
        cola(3, 70_000, 71_000),
        promotion(3, 71_000, 80_000),
        merit(3, 80_000, 84_000, rate=0.07),
        hire(4, 90_000),
        cola(5, 100_000, 101_000),
        termination(5, 101_000),
        hire(6, 45_000),
        termination(6, 45_000),
    ],
)

ORDINARY_YEAR_METRICS = [
    pytest.param("headcount", 5, id="headcount-actives-only"),
    pytest.param("headcount_growth", 5 / 4 - 1, id="headcount_growth"),
    pytest.param(
        "total_compensation_cost",
        53_000 + 58_000 + 20_000 + 80_000 + 30_000 + 40_000 + 5_000,
        id="total_compensation_cost-everyone-paid-leavers-included",
    ),
    pytest.param(
        "total_compensation_cost_growth",
        (53_000 + 58_000 + 20_000 + 80_000 + 30_000 + 40_000 + 5_000) / 260_000 - 1,
        id="total_compensation_cost_growth",
    ),
    pytest.param(
        "average_salary",
        (55_000 + 60_000 + 50_000 + 84_000 + 90_000) / 5,
        id="average_salary-of-actives",
    ),
    pytest.param("median_salary", 60_000, id="median_salary-of-actives"),
    pytest.param(
        "average_compensation_growth",
        (55_000 + 60_000 + 50_000 + 84_000 + 90_000) / 5 / 62_000 - 1,
        id="average_compensation_growth",
    ),
    pytest.param(
        "continuing_salary_growth",
        (55_000 / 50_000 + 60_000 / 56_000 + 84_000 / 70_000) / 3 - 1,
        id="continuing_salary_growth",
    ),
    pytest.param("median_merit_increase", 0.03, id="median_merit_increase"),
    pytest.param(
        "merit_spend", (55_000 - 51_000) + (60_000 - 57_000) + (84_000 - 80_000), id="merit_spend"
    ),
    pytest.param("cola_spend", 4 * 1_000, id="cola_spend-leavers-cola-counts"),
    pytest.param("promotion_spend", 80_000 - 71_000, id="promotion_spend"),
    pytest.param(
        "new_hire_pay_ratio",
        (3 * (50_000 / ((55_000 + 60_000) / 2)) + 2 * (90_000 / 84_000)) / 5,
        id="new_hire_pay_ratio",
    ),
    pytest.param(
        "pay_dispersion",
        (5_000 * math.sqrt(2 / 3) / 55_000 + 3_000 / 87_000) / 2,
        id="pay_dispersion",
    ),
    pytest.param(
        "gender_pay_gap",
        1 - 55_000 / 72_000,
        id="gender_pay_gap",
    ),
]


@pytest.mark.parametrize(("name", "expected"), ORDINARY_YEAR_METRICS)
def test_an_ordinary_year(name: str, expected: float) -> None:
    assert metric_of(ORDINARY_YEAR, name) == close_to(expected)


def test_every_metric_of_the_catalogue_is_specified_here() -> None:
    """A metric added to `planwise.metrics` needs a hand-computed row in this file."""
    assert {case.values[0] for case in ORDINARY_YEAR_METRICS} == {s.name for s in YEAR_METRICS}
    assert set(METRICS) == {s.name for s in (*YEAR_METRICS, *HORIZON_METRICS)}
    assert {spec.name for spec in HORIZON_METRICS} == {
        "compensation_growth_cagr",
        "cumulative_compensation_cost",
    }


# ---------------------------------------------------------------------------------------------
# Headcount, cost and salary levels: who counts
# ---------------------------------------------------------------------------------------------

STAYER_AND_LEAVER = year_of(
    [
        continuing(1, 50_000, prorated=50_000),
        leaver(3, 200_000, prorated=100_000),
    ]
)
EVEN_ACTIVES = year_of(
    [
        continuing(1, 40_000),
        continuing(1, 50_000),
        new_hire(2, 60_000, prorated=45_000),
        continuing(3, 100_000),
    ]
)
NOBODY_LEFT = year_of(
    [
        leaver(1, 40_000, prorated=10_000),
        leaver(1, 50_000, prorated=20_000, hired_this_year=True),
        leaver(2, 60_000, prorated=30_000),
    ]
)
AFTER_EMPTY_YEAR = YearSummary(YEAR - 1, 0, 0.0, NAN, NAN)

HEADCOUNT_AND_SALARY_CASES = [
    pytest.param(STAYER_AND_LEAVER, "headcount", 1, id="leaver-not-in-headcount"),
    pytest.param(STAYER_AND_LEAVER, "average_salary", 50_000, id="leaver-not-in-average"),
    pytest.param(STAYER_AND_LEAVER, "median_salary", 50_000, id="leaver-not-in-median"),
    pytest.param(
        STAYER_AND_LEAVER, "total_compensation_cost", 50_000 + 100_000, id="leaver-paid-in-cost"
    ),
    pytest.param(EVEN_ACTIVES, "median_salary", (50_000 + 60_000) / 2, id="median-of-even-count"),
    pytest.param(
        EVEN_ACTIVES,
        "average_salary",
        (40_000 + 50_000 + 60_000 + 100_000) / 4,
        id="average-is-annual-rate-not-prorated-pay",
    ),
    pytest.param(
        EVEN_ACTIVES,
        "total_compensation_cost",
        40_000 + 50_000 + 45_000 + 100_000,
        id="cost-is-prorated-pay-not-annual-rate",
    ),
    pytest.param(NOBODY_LEFT, "headcount", 0, id="nobody-active-headcount-zero"),
    pytest.param(NOBODY_LEFT, "headcount_growth", 0 / 4 - 1, id="nobody-active-growth-minus-one"),
    pytest.param(NOBODY_LEFT, "average_salary", NAN, id="nobody-active-average-nan"),
    pytest.param(NOBODY_LEFT, "median_salary", NAN, id="nobody-active-median-nan"),
    pytest.param(
        NOBODY_LEFT, "total_compensation_cost", 10_000 + 20_000 + 30_000, id="nobody-active-cost"
    ),
    pytest.param(
        NOBODY_LEFT, "average_compensation_growth", NAN, id="nobody-active-average-growth-nan"
    ),
]


@pytest.mark.parametrize(("outcome", "name", "expected"), HEADCOUNT_AND_SALARY_CASES)
def test_headcount_cost_and_salary(outcome: YearOutcome, name: str, expected: float) -> None:
    assert metric_of(outcome, name) == close_to(expected)


GROWTH_AFTER_EMPTY_YEAR_CASES = [
    pytest.param("headcount_growth", NAN, id="headcount_growth"),
    pytest.param("total_compensation_cost_growth", NAN, id="total_compensation_cost_growth"),
    pytest.param("average_compensation_growth", NAN, id="average_compensation_growth"),
]


@pytest.mark.parametrize(("name", "expected"), GROWTH_AFTER_EMPTY_YEAR_CASES)
def test_growth_from_an_empty_year_is_undefined(name: str, expected: float) -> None:
    assert metric_of(EVEN_ACTIVES, name, previous=AFTER_EMPTY_YEAR) == close_to(expected)


# ---------------------------------------------------------------------------------------------
# Continuing salary growth: the raise rate without mix effects
# ---------------------------------------------------------------------------------------------

CONTINUING_SALARY_GROWTH_CASES = [
    pytest.param(
        year_of(
            [
                continuing(1, 55_000, start_salary=50_000),
                continuing(3, 102_000, start_salary=100_000),
            ]
        ),
        (55_000 / 50_000 + 102_000 / 100_000) / 2 - 1,
        id="mean-of-each-persons-ratio-not-ratio-of-means",
    ),
    pytest.param(
        year_of(
            [
                continuing(1, 52_000, start_salary=50_000),
                new_hire(2, 70_000),
                leaver(1, 60_000, start_salary=40_000, prorated=25_000),
                leaver(1, 45_000, prorated=5_000, hired_this_year=True),
            ]
        ),
        52_000 / 50_000 - 1,
        id="new-hires-and-leavers-excluded",
    ),
    pytest.param(
        year_of([continuing(2, 72_000, start_salary=60_000, start_level=1)]),
        72_000 / 60_000 - 1,
        id="a-promotion-counts-as-raise",
    ),
    pytest.param(
        year_of([new_hire(1, 50_000), leaver(1, 60_000, prorated=30_000)]),
        NAN,
        id="nobody-continuing-is-nan",
    ),
]


@pytest.mark.parametrize(("outcome", "expected"), CONTINUING_SALARY_GROWTH_CASES)
def test_continuing_salary_growth(outcome: YearOutcome, expected: float) -> None:
    assert metric_of(outcome, "continuing_salary_growth") == close_to(expected)


# ---------------------------------------------------------------------------------------------
# Merit: the median rate and the spends of each raise type
# ---------------------------------------------------------------------------------------------

FOUR_CONTINUING = [continuing(1, 50_000 + 10_000 * index) for index in range(4)]

MEDIAN_MERIT_INCREASE_CASES = [
    pytest.param(
        [
            merit(0, 50_000, 51_000, 0.02),
            merit(1, 60_000, 61_800, 0.03),
            merit(2, 70_000, 74_900, 0.07),
        ],
        0.03,
        id="odd-count-middle-rate-not-mean",
    ),
    pytest.param(
        [
            merit(0, 50_000, 51_000, 0.02),
            merit(1, 60_000, 61_800, 0.03),
            merit(2, 70_000, 72_800, 0.04),
            merit(3, 80_000, 85_600, 0.07),
        ],
        (0.03 + 0.04) / 2,
        id="even-count-averages-the-middle-pair",
    ),
    pytest.param(
        [
            cola(0, 50_000, 51_000),
            merit(0, 51_000, 52_020, 0.02),
            promotion(1, 60_000, 66_000),
            merit(1, 66_000, 68_640, 0.04),
        ],
        (0.02 + 0.04) / 2,
        id="only-merit-events-count",
    ),
    pytest.param(
        [cola(0, 50_000, 51_000), promotion(1, 60_000, 66_000)], NAN, id="no-merit-event-is-nan"
    ),
]


@pytest.mark.parametrize(("events", "expected"), MEDIAN_MERIT_INCREASE_CASES)
def test_median_merit_increase(events: list[Event], expected: float) -> None:
    outcome = year_of(FOUR_CONTINUING, events)
    assert metric_of(outcome, "median_merit_increase") == close_to(expected)


RAISES = year_of(
    [
        continuing(1, 55_080, start_salary=50_000),
        continuing(2, 73_000, start_salary=60_000, start_level=1),
        leaver(1, 41_000, start_salary=40_000, prorated=20_000),
        new_hire(1, 48_000),
    ],
    [
        cola(0, 50_000, 51_000),
        merit(0, 51_000, 55_080, 0.08),
        cola(1, 60_000, 61_000),
        promotion(1, 61_000, 70_000),
        merit(1, 70_000, 73_000, 0.03),
        cola(2, 40_000, 41_000),
        termination(2, 41_000),
        hire(3, 48_000),
    ],
)
HIRES_AND_LEAVERS_ONLY = year_of(
    [continuing(1, 50_000), leaver(1, 40_000, prorated=20_000), new_hire(1, 48_000)],
    [termination(1, 40_000), hire(2, 48_000)],
)

SPEND_CASES = [
    pytest.param(
        RAISES, "merit_spend", (55_080 - 51_000) + (73_000 - 70_000), id="merit-new-minus-previous"
    ),
    pytest.param(RAISES, "cola_spend", 3 * 1_000, id="cola-of-leaver-before-leaving-counts"),
    pytest.param(RAISES, "promotion_spend", 70_000 - 61_000, id="promotion-new-minus-previous"),
    pytest.param(HIRES_AND_LEAVERS_ONLY, "merit_spend", 0, id="hire-is-no-merit-spend"),
    pytest.param(HIRES_AND_LEAVERS_ONLY, "cola_spend", 0, id="hire-is-no-cola-spend"),
    pytest.param(HIRES_AND_LEAVERS_ONLY, "promotion_spend", 0, id="hire-is-no-promotion-spend"),
]


@pytest.mark.parametrize(("outcome", "name", "expected"), SPEND_CASES)
def test_raise_spend(outcome: YearOutcome, name: str, expected: float) -> None:
    assert metric_of(outcome, name) == close_to(expected)


# ---------------------------------------------------------------------------------------------
# New-hire pay ratio: pay compression per level
# ---------------------------------------------------------------------------------------------

NEW_HIRE_PAY_RATIO_CASES = [
    pytest.param([continuing(1, 60_000), new_hire(1, 48_000)], 48_000 / 60_000, id="one-level"),
    pytest.param(
        [
            continuing(1, 50_000),
            continuing(1, 70_000),
            new_hire(1, 40_000),
            new_hire(1, 50_000),
            new_hire(1, 90_000),
        ],
        50_000 / ((50_000 + 70_000) / 2),
        id="median-of-each-group-not-mean",
    ),
    pytest.param(
        [
            continuing(1, 50_000),
            continuing(1, 50_000),
            continuing(1, 50_000),
            new_hire(1, 45_000),
            continuing(2, 100_000),
            new_hire(2, 110_000),
        ],
        (4 * (45_000 / 50_000) + 2 * (110_000 / 100_000)) / 6,
        id="weighted-by-level-headcount",
    ),
    pytest.param(
        [continuing(1, 50_000), new_hire(1, 45_000), new_hire(2, 200_000), new_hire(2, 190_000)],
        45_000 / 50_000,
        id="level-with-only-new-hires-excluded",
    ),
    pytest.param(
        [continuing(1, 50_000), new_hire(1, 45_000), continuing(2, 300_000)],
        45_000 / 50_000,
        id="level-with-only-continuing-excluded",
    ),
    pytest.param(
        [
            continuing(1, 50_000),
            new_hire(1, 45_000),
            continuing(2, 100_000),
            new_hire(2, 110_000),
            leaver(1, 10_000, prorated=1_000, hired_this_year=True),
            leaver(1, 90_000, prorated=30_000),
        ],
        (2 * (45_000 / 50_000) + 2 * (110_000 / 100_000)) / 4,
        id="leavers-in-neither-medians-nor-weights",
    ),
    pytest.param([continuing(1, 50_000), continuing(2, 80_000)], NAN, id="no-new-hire-is-nan"),
    pytest.param([new_hire(1, 50_000), new_hire(2, 80_000)], NAN, id="no-continuing-is-nan"),
]


@pytest.mark.parametrize(("people", "expected"), NEW_HIRE_PAY_RATIO_CASES)
def test_new_hire_pay_ratio(people: list[Person], expected: float) -> None:
    assert metric_of(year_of(people), "new_hire_pay_ratio") == close_to(expected)


# ---------------------------------------------------------------------------------------------
# Pay dispersion: mean over levels of the coefficient of variation (population std)
# ---------------------------------------------------------------------------------------------

PAY_DISPERSION_CASES = [
    pytest.param(
        [continuing(1, 40_000), continuing(1, 60_000)],
        10_000 / 50_000,
        id="pair-population-std-not-sample",
    ),
    pytest.param(
        [continuing(1, 50_000), continuing(1, 55_000), continuing(1, 60_000)],
        5_000 * math.sqrt(2 / 3) / 55_000,
        id="triple-population-std",
    ),
    pytest.param(
        [
            continuing(1, 40_000),
            continuing(1, 60_000),
            continuing(2, 90_000),
            continuing(2, 110_000),
        ],
        (10_000 / 50_000 + 10_000 / 100_000) / 2,
        id="mean-over-levels-not-pooled",
    ),
    pytest.param(
        [
            continuing(1, 40_000),
            continuing(1, 60_000),
            continuing(1, 40_000),
            continuing(1, 60_000),
            continuing(2, 90_000),
            continuing(2, 110_000),
        ],
        (10_000 / 50_000 + 10_000 / 100_000) / 2,
        id="levels-unweighted-by-headcount",
    ),
    pytest.param(
        [continuing(1, 40_000), continuing(1, 60_000), continuing(2, 100_000)],
        (10_000 / 50_000 + 0) / 2,
        id="single-person-level-counts-as-zero",
    ),
    pytest.param(
        [continuing(1, 40_000), new_hire(1, 60_000)],
        10_000 / 50_000,
        id="new-hires-included",
    ),
    pytest.param(
        [
            continuing(1, 40_000),
            continuing(1, 60_000),
            leaver(1, 500_000, prorated=100_000),
            leaver(2, 90_000, prorated=10_000, hired_this_year=True),
        ],
        10_000 / 50_000,
        id="leavers-and-levels-without-actives-excluded",
    ),
    pytest.param([leaver(1, 40_000, prorated=10_000)], NAN, id="nobody-active-is-nan"),
]


@pytest.mark.parametrize(("people", "expected"), PAY_DISPERSION_CASES)
def test_pay_dispersion(people: list[Person], expected: float) -> None:
    assert metric_of(year_of(people), "pay_dispersion") == close_to(expected)


# ---------------------------------------------------------------------------------------------
# Gender pay gap: medians of active women and men
# ---------------------------------------------------------------------------------------------

GENDER_PAY_GAP_CASES = [
    pytest.param(
        [
            continuing(1, 40_000, gender="F"),
            continuing(1, 50_000, gender="F"),
            continuing(2, 90_000, gender="F"),
            continuing(1, 60_000, gender="M"),
        ],
        1 - 50_000 / 60_000,
        id="median-not-mean",
    ),
    pytest.param(
        [
            continuing(1, 40_000, gender="F"),
            continuing(1, 50_000, gender="F"),
            continuing(1, 60_000, gender="M"),
            continuing(2, 80_000, gender="M"),
        ],
        1 - ((40_000 + 50_000) / 2) / ((60_000 + 80_000) / 2),
        id="even-counts-average-the-middle-pair",
    ),
    pytest.param(
        [continuing(1, 66_000, gender="F"), continuing(1, 60_000, gender="M")],
        1 - 66_000 / 60_000,
        id="negative-when-women-earn-more",
    ),
    pytest.param(
        [
            continuing(1, 50_000, gender="F"),
            continuing(1, 60_000, gender="M"),
            continuing(1, 10_000, gender="X"),
            continuing(3, 200_000, gender=""),
        ],
        1 - 50_000 / 60_000,
        id="other-and-unknown-genders-ignored",
    ),
    pytest.param(
        [
            continuing(1, 50_000, gender="F"),
            new_hire(1, 60_000, gender="M"),
            leaver(1, 10_000, prorated=5_000, gender="F"),
            leaver(3, 200_000, prorated=9_000, gender="M", hired_this_year=True),
        ],
        1 - 50_000 / 60_000,
        id="leavers-excluded",
    ),
    pytest.param(
        [continuing(1, 50_000, gender="M"), continuing(1, 60_000, gender="M")],
        NAN,
        id="no-woman-is-nan",
    ),
    pytest.param(
        [continuing(1, 50_000, gender="F"), continuing(1, 60_000, gender="F")],
        NAN,
        id="no-man-is-nan",
    ),
    pytest.param(
        [continuing(1, 60_000, gender="M"), leaver(1, 50_000, prorated=20_000, gender="F")],
        NAN,
        id="only-a-woman-who-left-is-nan",
    ),
    pytest.param([continuing(1, 50_000), continuing(1, 60_000)], NAN, id="gender-unknown-is-nan"),
]


@pytest.mark.parametrize(("people", "expected"), GENDER_PAY_GAP_CASES)
def test_gender_pay_gap(people: list[Person], expected: float) -> None:
    assert metric_of(year_of(people), "gender_pay_gap") == close_to(expected)


# ---------------------------------------------------------------------------------------------
# The baseline and the horizon
# ---------------------------------------------------------------------------------------------


def workforce(salaries: Sequence[float]) -> Workforce:
    size = len(salaries)
    return Workforce.build(
        employee_id=[f"E{index + 1}" for index in range(size)],
        birth_date=np.full(size, np.datetime64("1985-06-15", "D")),
        hire_date=np.full(size, np.datetime64("2020-01-01", "D")),
        job_level=np.ones(size, dtype=np.int64),
        annual_salary=salaries,
    )


BASELINE_CASES = [
    pytest.param("year", YEAR - 1, id="year-before-the-start"),
    pytest.param("headcount", 4, id="headcount"),
    pytest.param(
        "total_compensation_cost", 40_000 + 50_000 + 60_000 + 90_000, id="cost-census-salaries"
    ),
    pytest.param("average_salary", (40_000 + 50_000 + 60_000 + 90_000) / 4, id="average_salary"),
    pytest.param("median_salary", (50_000 + 60_000) / 2, id="median_salary"),
]


@pytest.mark.parametrize(("field", "expected"), BASELINE_CASES)
def test_baseline_summary(field: str, expected: float) -> None:
    baseline = baseline_summary(workforce([40_000, 90_000, 50_000, 60_000]), YEAR)
    assert getattr(baseline, field) == close_to(expected)


def test_baseline_of_an_empty_workforce_has_no_average() -> None:
    baseline = baseline_summary(workforce([]), YEAR)
    assert (baseline.headcount, baseline.total_compensation_cost) == (0, 0.0)
    assert math.isnan(baseline.average_salary)
    assert math.isnan(baseline.median_salary)


BASELINE_2024 = YearSummary(YEAR - 1, 10, 500_000.0, 50_000.0, 48_000.0)


def per_year(*averages_and_costs: tuple[float, float]) -> dict[int, dict[str, float]]:
    """Per-year figures from 2025 on: (average_salary, total_compensation_cost) per year."""
    return {
        YEAR + offset: {"average_salary": average, "total_compensation_cost": cost}
        for offset, (average, cost) in enumerate(averages_and_costs)
    }


HORIZON_CASES = [
    pytest.param(
        per_year((55_000, 520_000)),
        "compensation_growth_cagr",
        55_000 / 50_000 - 1,
        id="cagr-one-year",
    ),
    pytest.param(
        per_year((55_000, 520_000), (60_500, 560_000)),
        "compensation_growth_cagr",
        (60_500 / 50_000) ** (1 / 2) - 1,
        id="cagr-two-years-from-the-baseline",
    ),
    pytest.param(
        per_year((80_000, 520_000), (60_500, 560_000)),
        "compensation_growth_cagr",
        (60_500 / 50_000) ** (1 / 2) - 1,
        id="cagr-reads-only-the-final-year",
    ),
    pytest.param(
        per_year((52_000, 1), (54_000, 1), (56_000, 1), (58_000, 1), (60_000, 1)),
        "compensation_growth_cagr",
        (60_000 / 50_000) ** (1 / 5) - 1,
        id="cagr-five-years",
    ),
    pytest.param(
        per_year((55_000, 520_000), (60_500, 560_000), (61_000, 600_000)),
        "cumulative_compensation_cost",
        520_000 + 560_000 + 600_000,
        id="cumulative-cost-sums-every-year",
    ),
]


@pytest.mark.parametrize(("years", "name", "expected"), HORIZON_CASES)
def test_horizon_metrics(years: dict[int, dict[str, float]], name: str, expected: float) -> None:
    assert horizon_metrics(years, BASELINE_2024)[name] == close_to(expected)


def test_cagr_without_a_baseline_average_is_nan() -> None:
    empty_start = YearSummary(YEAR - 1, 0, 0.0, NAN, NAN)
    assert math.isnan(
        horizon_metrics(per_year((55_000, 1)), empty_start)["compensation_growth_cagr"]
    )


# ---------------------------------------------------------------------------------------------
# A whole run: growth chains from the census baseline through each year
# ---------------------------------------------------------------------------------------------

# Census: 40, 50, 60, 90 k (cost 240 k, average 60 k).
# 2025: #0 leaves; the others get raises; one hire at 45 k.
# 2026: everybody stays; one more hire at 50 k.
RUN_2025 = year_of(
    [
        leaver(1, 40_000, prorated=20_000),
        continuing(1, 55_000, start_salary=50_000, prorated=54_000),
        continuing(1, 63_000, start_salary=60_000, prorated=62_000),
        continuing(1, 99_000, start_salary=90_000, prorated=96_000),
        new_hire(1, 45_000, prorated=30_000),
    ],
    year=YEAR,
)
RUN_2026 = year_of(
    [
        continuing(1, 60_000, start_salary=55_000, prorated=58_000),
        continuing(1, 66_000, start_salary=63_000, prorated=65_000),
        continuing(1, 105_000, start_salary=99_000, prorated=103_000),
        continuing(1, 48_000, start_salary=45_000, prorated=47_000),
        new_hire(1, 50_000, prorated=25_000),
    ],
    year=YEAR + 1,
)
TWO_YEAR_RUN = SimulationResult(
    seed=1,
    start_year=YEAR,
    starting_workforce=workforce([40_000, 50_000, 60_000, 90_000]),
    outcomes=(RUN_2025, RUN_2026),
    final_workforce=workforce([60_000, 66_000, 105_000, 48_000, 50_000]),
)
AVERAGE_2025 = (55_000 + 63_000 + 99_000 + 45_000) / 4
AVERAGE_2026 = (60_000 + 66_000 + 105_000 + 48_000 + 50_000) / 5

RUN_CASES = [
    pytest.param(YEAR, "headcount_growth", 4 / 4 - 1, id="2025-headcount-vs-census"),
    pytest.param(
        YEAR,
        "total_compensation_cost_growth",
        (20_000 + 54_000 + 62_000 + 96_000 + 30_000) / (40_000 + 50_000 + 60_000 + 90_000) - 1,
        id="2025-cost-vs-census-salaries",
    ),
    pytest.param(
        YEAR, "average_compensation_growth", AVERAGE_2025 / 60_000 - 1, id="2025-average-vs-census"
    ),
    pytest.param(YEAR + 1, "headcount_growth", 5 / 4 - 1, id="2026-headcount-vs-2025"),
    pytest.param(
        YEAR + 1,
        "total_compensation_cost_growth",
        (58_000 + 65_000 + 103_000 + 47_000 + 25_000) / (20_000 + 54_000 + 62_000 + 96_000 + 30_000)
        - 1,
        id="2026-cost-vs-2025",
    ),
    pytest.param(
        YEAR + 1,
        "average_compensation_growth",
        AVERAGE_2026 / AVERAGE_2025 - 1,
        id="2026-average-vs-2025",
    ),
    pytest.param(
        None, "compensation_growth_cagr", (AVERAGE_2026 / 60_000) ** (1 / 2) - 1, id="cagr"
    ),
    pytest.param(
        None,
        "cumulative_compensation_cost",
        (20_000 + 54_000 + 62_000 + 96_000 + 30_000)
        + (58_000 + 65_000 + 103_000 + 47_000 + 25_000),
        id="cumulative-cost",
    ),
]


@pytest.mark.parametrize(("year", "name", "expected"), RUN_CASES)
def test_run_metrics_chain_each_year_to_the_one_before(
    year: int | None, name: str, expected: float
) -> None:
    assert run_metrics(TWO_YEAR_RUN).value(name, year) == close_to(expected)


def test_a_continued_run_keeps_its_baseline_and_earlier_years() -> None:
    """Continuing 2026 from a stored 2025 gives the same figures as the run in one go."""
    whole = run_metrics(TWO_YEAR_RUN)
    continued = SimulationResult(
        seed=1,
        start_year=YEAR + 1,
        starting_workforce=workforce([55_000, 63_000, 99_000, 45_000]),
        outcomes=(RUN_2026,),
        final_workforce=TWO_YEAR_RUN.final_workforce,
    )
    stored_2025 = whole.per_year[YEAR]
    resumed = run_metrics(
        continued,
        baseline=whole.baseline,
        previous=YearSummary(
            YEAR,
            int(stored_2025["headcount"]),
            stored_2025["total_compensation_cost"],
            stored_2025["average_salary"],
            stored_2025["median_salary"],
        ),
        earlier_years=[(YEAR, stored_2025)],
    )
    assert resumed.years == whole.years
    for year in whole.years:
        assert resumed.per_year[year] == pytest.approx(whole.per_year[year], abs=0, nan_ok=True)
    assert resumed.horizon == pytest.approx(whole.horizon, abs=0, nan_ok=True)
