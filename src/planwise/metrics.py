"""Every reported figure, defined once (simulation-model.md §7). The dbt marts compute the same.

Choices the design leaves open, fixed here and mirrored in SQL:
- `median_merit_increase` is the median `merit_rate` over the year's `merit_increase`
  events; a rating with multiplier 0 gives no raise and so no event.
- `new_hire_pay_ratio` averages the per-level ratios weighted by the level's active
  headcount, over the levels that have both new-hire and continuing actives.
- `pay_dispersion` uses the population standard deviation (ddof = 0), over levels with
  actives.
- `gender_pay_gap` compares actives whose gender is "F" or "M"; NaN when either is absent.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from planwise.config import Settings
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.outputs import EventType, SimulationResult, StatusCode, YearOutcome
from planwise.simulation.state import Workforce

if TYPE_CHECKING:
    from planwise.simulation.engine import PlannedRun

__all__ = [
    "HORIZON_METRICS",
    "METRICS",
    "YEAR_METRICS",
    "MetricSpec",
    "MetricsBuilder",
    "RunMetrics",
    "YearSummary",
    "baseline_summary",
    "format_difference",
    "format_metric",
    "format_money",
    "horizon_metrics",
    "measured_replay",
    "measured_simulation",
    "metric_label",
    "money_scale",
    "run_metrics",
    "summarize",
    "year_metrics",
]


@dataclass(frozen=True)
class MetricSpec:
    """A reported figure: its name, the plain label an analyst reads, what it means, and
    its unit ("count", "currency", "rate" — shown in percent — or "ratio")."""

    name: str
    label: str
    description: str
    unit: str
    per_year: bool = True


YEAR_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("headcount", "Headcount", "actives at Dec 31", "count"),
    MetricSpec(
        "headcount_growth",
        "Headcount growth",
        "headcount / headcount of the year before − 1",
        "rate",
    ),
    MetricSpec(
        "total_compensation_cost",
        "Total compensation cost",
        "Σ prorated compensation of everyone paid",
        "currency",
    ),
    MetricSpec(
        "total_compensation_cost_growth",
        "Compensation cost growth",
        "cost / cost of the year before − 1 (baseline: census salaries of the start)",
        "rate",
    ),
    MetricSpec("average_salary", "Average salary", "mean annual salary of actives", "currency"),
    MetricSpec("median_salary", "Median salary", "median annual salary of actives", "currency"),
    MetricSpec(
        "average_compensation_growth",
        "Average salary growth",
        "average salary / the year before's − 1",
        "rate",
    ),
    MetricSpec(
        "continuing_salary_growth",
        "Raise rate of continuing staff",
        "mean of salary at Dec 31 / salary at Jan 1 − 1 over the year's continuing actives",
        "rate",
    ),
    MetricSpec(
        "median_merit_increase",
        "Median merit increase",
        "median merit % of the year's merit events",
        "rate",
    ),
    MetricSpec("merit_spend", "Merit spend", "Σ annualized merit increases", "currency"),
    MetricSpec("cola_spend", "COLA spend", "Σ annualized COLA increases", "currency"),
    MetricSpec(
        "promotion_spend", "Promotion spend", "Σ annualized promotion increases", "currency"
    ),
    MetricSpec(
        "new_hire_pay_ratio",
        "New-hire pay ratio",
        "median new-hire / continuing salary per level, headcount-weighted",
        "ratio",
    ),
    MetricSpec(
        "pay_dispersion",
        "Pay dispersion",
        "mean over levels of the salary coefficient of variation",
        "ratio",
    ),
    MetricSpec(
        "gender_pay_gap",
        "Gender pay gap",
        "1 − median female / median male salary of actives",
        "rate",
    ),
)
HORIZON_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "compensation_growth_cagr",
        "Average salary growth a year (CAGR)",
        "(final average salary / baseline average salary)^(1/years) − 1",
        "rate",
        per_year=False,
    ),
    MetricSpec(
        "cumulative_compensation_cost",
        "Cumulative compensation cost",
        "Σ total compensation cost",
        "currency",
        per_year=False,
    ),
)
METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in (*YEAR_METRICS, *HORIZON_METRICS)}


def metric_label(name: str) -> str:
    """The plain label of a metric (its name for anything undeclared)."""
    spec = METRICS.get(name)
    return spec.label if spec is not None else name


_MONEY_SCALES = ((1e9, "B"), (1e6, "M"), (1e3, "K"))


def money_scale(largest: float) -> tuple[float, str]:
    """The divisor and suffix to show amounts up to `largest` in: ($B, $M, $K or $).

    >>> money_scale(1.6e9)
    (1000000000.0, 'B')
    """
    for divisor, suffix in _MONEY_SCALES:
        if abs(largest) >= divisor:
            return divisor, suffix
    return 1.0, ""


def format_money(value: float, compact: bool = False) -> str:
    """Dollars: whole dollars, or compact ($1.60B, $37.1M, $118K) for cards and tables."""
    sign = "−" if value < 0 else ""
    if compact:
        divisor, suffix = money_scale(value)
        if suffix:
            scaled = abs(value) / divisor
            digits = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{sign}${scaled:.{digits}f}{suffix}"
    return f"{sign}${abs(value):,.0f}"


def format_metric(name: str, value: float | None, digits: int = 2, compact: bool = False) -> str:
    """A metric value in its unit: counts whole, currency in dollars, rates in percent.

    >>> format_metric("median_merit_increase", 0.0345)
    '3.45%'
    >>> format_metric("total_compensation_cost", 1.6e9, compact=True)
    '$1.60B'
    """
    if value is None or not math.isfinite(value):
        return "–"
    unit = METRICS[name].unit if name in METRICS else "ratio"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "currency":
        return format_money(value, compact)
    if unit == "rate":
        return f"{value * 100:.{digits}f}%"
    return f"{value:.{max(digits, 3)}f}"


def format_difference(name: str, value: float, compact: bool = False) -> str:
    """A change in a metric: percentage points for rates, signed otherwise."""
    if not math.isfinite(value):
        return "–"
    unit = METRICS[name].unit if name in METRICS else "ratio"
    sign = "+" if value >= 0 else "−"  # the minus sign, not a hyphen, in every unit
    if unit == "count":
        return f"{sign}{abs(value):,.0f}"
    if unit == "currency":
        return f"{sign}{format_money(abs(value), compact)}"
    if unit == "rate":
        return f"{sign}{abs(value) * 100:.2f} pp"
    return f"{sign}{abs(value):.4f}"


@dataclass(frozen=True)
class YearSummary:
    """What the next year's growth metrics need from the year before."""

    year: int
    headcount: int
    total_compensation_cost: float
    average_salary: float
    median_salary: float


def baseline_summary(workforce: Workforce, start_year: int) -> YearSummary:
    """The starting workforce with its census salaries, as the year before the start."""
    salary = workforce.annual_salary
    return YearSummary(
        year=start_year - 1,
        headcount=len(workforce),
        total_compensation_cost=float(salary.sum()),
        average_salary=float(salary.mean()) if len(salary) else math.nan,
        median_salary=float(np.median(salary)) if len(salary) else math.nan,
    )


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator - 1.0 if denominator else math.nan


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else math.nan


def _spend(outcome: YearOutcome, event_type: EventType) -> float:
    events = outcome.events
    chosen = events.event_type == event_type
    return float((events.new_salary[chosen] - events.previous_salary[chosen]).sum())


_SUMMARY = frozenset({"headcount", "total_compensation_cost", "average_salary", "median_salary"})


def _level_metrics(
    salary: npt.NDArray[np.float64], level: npt.NDArray[np.int64], status: npt.NDArray[np.int8]
) -> dict[str, float]:
    """new_hire_pay_ratio and pay_dispersion: both need a pass over the levels."""
    ratios, weights, dispersions = [], [], []
    for value in np.unique(level):
        in_level = level == value
        level_salary = salary[in_level]
        dispersions.append(float(level_salary.std() / level_salary.mean()))
        new_hires = level_salary[status[in_level] == StatusCode.NEW_HIRE_ACTIVE]
        incumbents = level_salary[status[in_level] == StatusCode.CONTINUOUS_ACTIVE]
        if len(new_hires) and len(incumbents):
            ratios.append(float(np.median(new_hires) / np.median(incumbents)))
            weights.append(float(in_level.sum()))
    return {
        "new_hire_pay_ratio": float(np.average(ratios, weights=weights)) if ratios else math.nan,
        "pay_dispersion": float(np.mean(dispersions)) if dispersions else math.nan,
    }


def year_metrics(
    outcome: YearOutcome, previous: YearSummary, only: Collection[str] | None = None
) -> dict[str, float]:
    """The §7 metrics of one simulated year.

    `only` limits the work to the named metrics (the tuning loop's replays need just their
    targets'); the four figures the next year's growth needs are always computed.
    """
    wanted = set(METRICS) if only is None else set(only) | _SUMMARY
    snapshot = outcome.snapshot
    active = snapshot.is_active
    salary = snapshot.annual_salary[active]
    headcount = int(active.sum())
    cost = float(snapshot.prorated_compensation.sum())
    average = float(salary.mean()) if headcount else math.nan
    metrics = {
        "headcount": float(headcount),
        "headcount_growth": _ratio(headcount, previous.headcount),
        "total_compensation_cost": cost,
        "total_compensation_cost_growth": _ratio(cost, previous.total_compensation_cost),
        "average_salary": average,
        "median_salary": _median(salary),
        "average_compensation_growth": _ratio(average, previous.average_salary),
    }
    if "continuing_salary_growth" in wanted:
        continuing = snapshot.status_code == StatusCode.CONTINUOUS_ACTIVE
        metrics["continuing_salary_growth"] = (
            float(
                (
                    snapshot.annual_salary[continuing] / snapshot.start_annual_salary[continuing]
                ).mean()
                - 1.0
            )
            if continuing.any()
            else math.nan
        )
    if "median_merit_increase" in wanted:
        events = outcome.events
        metrics["median_merit_increase"] = _median(
            events.merit_rate[events.event_type == EventType.MERIT_INCREASE]
        )
    for name, event_type in (
        ("merit_spend", EventType.MERIT_INCREASE),
        ("cola_spend", EventType.COLA),
        ("promotion_spend", EventType.PROMOTION),
    ):
        if name in wanted:
            metrics[name] = _spend(outcome, event_type)
    if wanted & {"new_hire_pay_ratio", "pay_dispersion"}:
        metrics.update(
            _level_metrics(salary, snapshot.job_level[active], snapshot.status_code[active])
        )
    if "gender_pay_gap" in wanted:
        gender = snapshot.gender[active]
        female, male = salary[gender == "F"], salary[gender == "M"]
        metrics["gender_pay_gap"] = (
            1.0 - _median(female) / _median(male) if len(female) and len(male) else math.nan
        )
    return {name: metrics[name] for name in METRICS if name in metrics}


def summarize(year: int, metrics: Mapping[str, float]) -> YearSummary:
    return YearSummary(
        year=year,
        headcount=int(metrics["headcount"]),
        total_compensation_cost=metrics["total_compensation_cost"],
        average_salary=metrics["average_salary"],
        median_salary=metrics["median_salary"],
    )


def horizon_metrics(
    per_year: Mapping[int, Mapping[str, float]], baseline: YearSummary
) -> dict[str, float]:
    """Figures over the whole horizon, from the first simulated year to the last."""
    years = sorted(per_year)
    final = per_year[years[-1]]["average_salary"]
    span = years[-1] - baseline.year
    return {
        "compensation_growth_cagr": (final / baseline.average_salary) ** (1.0 / span) - 1.0
        if baseline.average_salary
        else math.nan,
        "cumulative_compensation_cost": float(
            sum(per_year[year]["total_compensation_cost"] for year in years)
        ),
    }


@dataclass(frozen=True)
class RunMetrics:
    baseline: YearSummary
    per_year: dict[int, dict[str, float]]
    horizon: dict[str, float]

    @property
    def years(self) -> list[int]:
        return sorted(self.per_year)

    def value(self, name: str, year: int | None = None) -> float:
        if not METRICS[name].per_year:
            return self.horizon[name]
        return self.per_year[self.years[-1] if year is None else year][name]


def run_metrics(
    result: SimulationResult,
    baseline: YearSummary | None = None,
    previous: YearSummary | None = None,
    earlier_years: Iterable[tuple[int, Mapping[str, float]]] = (),
    only: Collection[str] | None = None,
) -> RunMetrics:
    """Per-year and horizon metrics of a run.

    A continued run passes the stored `baseline`, the stored summary of the year before its
    first new year (`previous`) and the stored metrics of its earlier years. `only` limits
    the per-year work to the named metrics (see `year_metrics`).
    """
    builder = MetricsBuilder(
        baseline or baseline_summary(result.starting_workforce, result.start_year),
        previous,
        earlier_years,
        only,
    )
    for outcome in result.outcomes:
        builder.add(outcome)
    return builder.finish()


class MetricsBuilder:
    """A run's metrics built year by year as the years come, so a simulation that streams
    its years to the store never needs to hold them all (`run_metrics` is built on it)."""

    def __init__(
        self,
        baseline: YearSummary,
        previous: YearSummary | None = None,
        earlier_years: Iterable[tuple[int, Mapping[str, float]]] = (),
        only: Collection[str] | None = None,
    ) -> None:
        self.baseline = baseline
        self.per_year: dict[int, dict[str, float]] = {
            year: dict(values) for year, values in earlier_years
        }
        self._last = previous or baseline
        self._only = only

    def add(self, outcome: YearOutcome) -> None:
        metrics = year_metrics(outcome, self._last, self._only)
        self.per_year[outcome.year] = metrics
        self._last = summarize(outcome.year, metrics)

    def finish(self) -> RunMetrics:
        return RunMetrics(
            self.baseline, self.per_year, horizon_metrics(self.per_year, self.baseline)
        )


def measured_replay(
    run: PlannedRun,
    settings: Settings,
    levers: ResolvedLevers,
    only: Collection[str] | None = None,
) -> RunMetrics:
    """The metrics of a pay replay (see `simulation.engine.replay`), measured year by year:
    no replayed year is held, whatever the workforce's size."""
    from planwise.simulation.engine import replay  # the engine (and SciPy) only when replaying

    builder = MetricsBuilder(
        baseline_summary(run.result.starting_workforce, run.result.start_year), only=only
    )
    replay(run, settings, levers, on_year=builder.add, keep_outcomes=False)
    return builder.finish()


def measured_simulation(
    workforce: Workforce,
    settings: Settings,
    levers: ResolvedLevers,
    *,
    start_year: int,
    years: int,
    seed: int,
    keep_plans: bool = False,
    only: Collection[str] | None = None,
) -> tuple[PlannedRun, RunMetrics]:
    """A simulation in memory measured year by year (no year held); its plans when asked,
    for replays."""
    from planwise.simulation.engine import simulate_planned  # the engine only when simulating

    builder = MetricsBuilder(baseline_summary(workforce, start_year), only=only)
    planned = simulate_planned(
        workforce,
        settings,
        levers,
        start_year=start_year,
        years=years,
        seed=seed,
        on_year=builder.add,
        keep_outcomes=False,
        keep_plans=keep_plans,
    )
    return planned, builder.finish()
