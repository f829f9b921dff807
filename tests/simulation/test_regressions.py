"""One test per defect of the earlier system (simulation-model.md, top): each stays absent."""

from __future__ import annotations

import functools
import math

import numpy as np
import pandas as pd
import pytest
from sim_support import (
    START_YEAR,
    census_workforce,
    event_frame,
    every_level,
    run,
    settings_with,
    snapshot_frame,
    target_headcount,
)

from planwise.config import EffectiveDates, Settings
from planwise.metrics import baseline_summary, run_metrics
from planwise.parameters import parameter_spec
from planwise.simulation import Purpose, SimulationResult, Workforce, hash_ids, rules, uniform

SETTINGS = Settings()
NO_TURNOVER = {"termination_rate": 0.0, "new_hire_termination_rate": 0.0, "target_growth_rate": 0.0}


@functools.cache
def _default_run() -> tuple[SimulationResult, pd.DataFrame, pd.DataFrame]:
    result = run(seed=42)
    return result, event_frame(result), snapshot_frame(result)


def _people(rows: list[tuple[str, int, float, int, int]]) -> Workforce:
    """(id, level, salary, age, tenure) rows as a workforce on Jan 1 of the start year."""
    jan1 = np.datetime64(f"{START_YEAR}-01-01", "D")
    return Workforce.build(
        employee_id=[row[0] for row in rows],
        birth_date=[jan1 - np.timedelta64(int(row[3] * 365.25 + 100), "D") for row in rows],
        hire_date=[jan1 - np.timedelta64(int(row[4] * 365.25 + 100), "D") for row in rows],
        job_level=[row[1] for row in rows],
        annual_salary=[row[2] for row in rows],
    )


def test_recent_hires_salary_not_annualized_again() -> None:
    _, events, snapshots = _default_run()
    hires = events[events.event_type == "hire"]
    midpoint = np.array([0.0] + [level.midpoint for level in SETTINGS.job_levels])
    # A hire's salary is an annual rate around the band midpoint, whatever the hire date.
    ratio = hires.new_salary.to_numpy() / midpoint[hires.new_job_level.to_numpy()]
    sigma = SETTINGS.hire_salary_sigma
    assert ratio.min() > math.exp(-6 * sigma) and ratio.max() < math.exp(6 * sigma)
    late = hires.effective_date.dt.month == 12
    early = hires.effective_date.dt.month == 1
    assert abs(np.median(ratio[late]) / np.median(ratio[early]) - 1) < 0.02

    # Next year the hire starts from exactly that rate, not from pay / share of the year.
    hire_rate = hires.set_index(["year", "employee_id"]).new_salary
    following = snapshots.assign(year=snapshots.year - 1).set_index(["year", "employee_id"])
    carried = following.start_annual_salary.reindex(hire_rate.index).dropna()
    assert len(carried) > 1000
    assert (carried == hire_rate.loc[carried.index]).all()
    # And no one's pay rate is ever inflated beyond the bands by a multiple.
    assert snapshots.annual_salary.max() < 2 * SETTINGS.job_levels[-1].max_salary
    # Pay for a part year is the part: a December hire earns about a twelfth of the rate.
    december = snapshots[
        snapshots.status.str.startswith("new_hire") & (snapshots.hire_date.dt.month == 12)
    ]
    assert (december.prorated_compensation < december.annual_salary / 11).all()


def test_levels_never_rederived_from_pay() -> None:
    settings = settings_with(**NO_TURNOVER)
    people = _people(
        [
            ("RICH_STAFF", 1, 500_000.0, 40, 0),  # far above the level-1 band; tenure < 1
            ("CHEAP_SENIOR", 3, 60_000.0, 40, 12),  # below the level-3 band (level 1's pay)
            ("PROMOTED", 1, 55_000.0, 30, 3),  # certain promotion to level 2 in the first year
        ]
    )
    # Only level 1 promotes, only in the first year: certainly so at age 30, tenure 3.
    updates = every_level(settings, "promotion_probability", 0.0)
    updates[("promotion_probability", START_YEAR, 1)] = 1.0
    updates[("promotion_probability", START_YEAR + 1, 1)] = 0.0
    result = run(settings, workforce=people, lever_updates=updates)
    events = event_frame(result)
    promotion = events[events.event_type == "promotion"]
    assert promotion.employee_id.tolist() == ["PROMOTED"]
    assert promotion.new_salary.iloc[0] == SETTINGS.job_levels[1].min_salary  # 80K floor
    for outcome in result.outcomes:
        snapshot = outcome.snapshot
        level = dict(zip(snapshot.employee_id, snapshot.job_level.tolist(), strict=True))
        assert level == {"RICH_STAFF": 1, "CHEAP_SENIOR": 3, "PROMOTED": 2}
    final = dict(
        zip(result.final_workforce.employee_id, result.final_workforce.job_level, strict=True)
    )
    assert final == {"RICH_STAFF": 1, "CHEAP_SENIOR": 3, "PROMOTED": 2}


def test_levels_never_rederived_from_pay_without_promotions() -> None:
    settings = settings_with(**NO_TURNOVER)
    people = _people(
        [
            ("RICH_STAFF", 1, 500_000.0, 40, 12),
            ("CHEAP_SENIOR", 3, 60_000.0, 40, 12),
            ("CHEAP_VP", 5, 51_000.0, 50, 20),
        ]
    )
    updates = every_level(settings, "promotion_probability", 0.0)
    result = run(settings, workforce=people, lever_updates=updates)
    for outcome in result.outcomes:
        assert outcome.snapshot.job_level.tolist() == [1, 3, 5]
    assert result.final_workforce.job_level.tolist() == [1, 3, 5]
    # Their raises follow their own level's levers all along.
    assert result.final_workforce.annual_salary[0] > 500_000.0 * 1.02**5


@pytest.mark.parametrize(
    "dates",
    [
        pytest.param(EffectiveDates(), id="promotion-feb-then-merit-apr"),
        pytest.param(EffectiveDates(promotion="04-01", merit="04-01"), id="same-day"),
        pytest.param(EffectiveDates(promotion="07-01", merit="03-01"), id="merit-first"),
    ],
)
def test_merit_applied_after_promotion_not_overwriting_it(dates: EffectiveDates) -> None:
    settings = settings_with(effective_dates=dates)
    result = run(settings, seed=3, years=2)
    events = event_frame(result)
    promotions = events[events.event_type == "promotion"].set_index(["year", "employee_id"])
    merits = events[events.event_type == "merit_increase"].set_index(["year", "employee_id"])
    both = promotions.index.intersection(merits.index)
    assert len(both) > 50
    promotion, merit = promotions.loc[both], merits.loc[both]
    base = np.array([0.0, *parameter_spec("merit_base").defaults])
    multiplier = np.array([np.nan, *settings.merit_multipliers])
    rate = base[merit.previous_job_level] * multiplier[merit.performance_rating]
    np.testing.assert_allclose(merit.merit_rate, rate, rtol=1e-12)
    if dates.merit >= dates.promotion:
        # Merit on the promoted pay, at the new level's merit base; the promotion stays.
        assert (merit.previous_salary == promotion.new_salary).all()
        assert (merit.previous_job_level == promotion.new_job_level).all()
        final = merit.new_salary
    else:
        # Merit first; the promotion then raises the merited pay.
        assert (promotion.previous_salary == merit.new_salary).all()
        assert (merit.previous_job_level == promotion.previous_job_level).all()
        final = promotion.new_salary
    snapshot = snapshot_frame(result).set_index(["year", "employee_id"])
    assert (snapshot.annual_salary.loc[both] == final).all()
    assert (final > promotion.previous_salary).all()


def test_draws_differ_by_purpose_year_and_seed() -> None:
    settings = settings_with(**NO_TURNOVER)
    workforce = census_workforce(3000, 7)  # the people `run` simulates
    first = run(settings, seed=42, years=2)
    other_seed = run(settings, seed=43, years=1)

    def ratings(outcome_events: pd.DataFrame, year: int) -> pd.Series:
        merit = outcome_events[
            (outcome_events.event_type == "merit_increase") & (outcome_events.year == year)
        ]
        return merit.set_index("employee_id").performance_rating

    events = event_frame(first)
    same_person = ratings(events, 2025).align(ratings(events, 2026), join="inner")
    # Independent ratings agree with probability Σ share² ≈ 0.37; a reused draw, always.
    agreement = float((same_person[0] == same_person[1]).mean())
    assert 0.30 < agreement < 0.45
    other = ratings(event_frame(other_seed), 2025).align(ratings(events, 2025), join="inner")
    assert 0.30 < float((other[0] == other[1]).mean()) < 0.45

    # Promotion, rating and termination draws of one person are distinct numbers.
    hashes = hash_ids(workforce.employee_id)
    by_purpose = {purpose: uniform(42, hashes, 2025, purpose) for purpose in Purpose}
    stacked = np.stack(list(by_purpose.values()))
    assert all(len(np.unique(stacked[:, person])) == len(Purpose) for person in range(100))
    assert np.abs(np.corrcoef(stacked) - np.eye(len(Purpose))).max() < 0.1


def test_last_years_hires_can_be_terminated() -> None:
    _, _, snapshots = _default_run()
    for year in range(START_YEAR + 1, START_YEAR + 5):
        start = snapshots[
            (snapshots.year == year)
            & snapshots.status.isin(["continuous_active", "experienced_termination"])
        ]
        last_years_hires = start[start.employee_id.str.startswith(f"NH_{year - 1}_")]
        assert len(last_years_hires) > 100
        left = last_years_hires.status == "experienced_termination"
        assert left.sum() > 0
        # Short tenure (< 2 years: × 1.8) makes them likelier than average to leave.
        assert left.mean() > (start.status == "experienced_termination").mean()


@pytest.mark.parametrize("employees", [1, 2, 7, 33, 100, 999])
@pytest.mark.parametrize("growth", [0.03, 0.1, -0.02, -0.3])
def test_hires_hit_headcount_target_exactly(employees: int, growth: float) -> None:
    settings = settings_with(target_growth_rate=growth)
    result = run(settings, workforce=census_workforce(employees, 5), seed=employees)
    mix = list(settings.hire_level_mix.values())
    start = employees
    for outcome in result.outcomes:
        snapshot = outcome.snapshot
        end = int(snapshot.is_active.sum())
        assert end == target_headcount(start, growth)
        hired = snapshot.status_code >= 2
        per_level = np.bincount(snapshot.start_job_level[hired], minlength=6)[1:]
        assert per_level.tolist() == rules.allocate_levels(outcome.counts.hires, mix).tolist()
        start = end


def test_new_hire_termination_after_hire_date() -> None:
    settings = settings_with(new_hire_termination_rate=0.9)
    result = run(settings, employees=2000, seed=8)
    events, snapshots = event_frame(result), snapshot_frame(result)
    leavers = snapshots[snapshots.status == "new_hire_termination"]
    assert len(leavers) > 5000
    assert (leavers.termination_date > leavers.hire_date).all()
    assert (leavers.termination_date.dt.year == leavers.year).all()
    # Late hires leave late; nobody leaves before arriving, even the Dec 30 hires.
    december = leavers[leavers.hire_date.dt.month == 12]
    assert len(december) > 100
    assert (december.termination_date.dt.month == 12).all()
    # A Dec 31 hire has no later day to leave on, so is never among the leavers.
    new_hires = snapshots[snapshots.status.str.startswith("new_hire")]
    hired_december_31 = new_hires[
        (new_hires.hire_date.dt.month == 12) & (new_hires.hire_date.dt.day == 31)
    ]
    assert len(hired_december_31) > 0
    assert (hired_december_31.status == "new_hire_active").all()
    terminations = events[events.termination_reason == "new_hire"]
    hired = events[events.event_type == "hire"].set_index("employee_id").effective_date
    assert (
        terminations.effective_date.to_numpy() > hired.loc[terminations.employee_id].to_numpy()
    ).all()


@pytest.mark.parametrize(
    ("merit_date", "expected_month"),
    [pytest.param("11-15", 11, id="mid-november"), pytest.param("12-31", 12, id="december-31")],
)
def test_raise_timing_shares_sum_to_one(merit_date: str, expected_month: int) -> None:
    settings = settings_with(effective_dates=EffectiveDates(merit=merit_date))
    result = run(settings, employees=2000, seed=4, years=4)  # 2028 is a leap year
    events = event_frame(result)
    merits = events[events.event_type == "merit_increase"]
    assert len(merits) > 1000
    assert (merits.effective_date.dt.month == expected_month).all()
    snapshots = snapshot_frame(result)
    full_year = snapshots[snapshots.status == "continuous_active"].set_index(
        ["year", "employee_id"]
    )
    # Each rate is paid for its share of the year: from its date to the next change (or to
    # Dec 31), the start rate up to the first change. The shares add up to the whole year.
    history = events.set_index(["year", "employee_id"]).loc[
        full_year.index.intersection(events.set_index(["year", "employee_id"]).index.unique())
    ]
    history = history.sort_values(["year", "employee_id", "event_sequence"]).reset_index()
    days_in_year = np.where(history.year % 4 == 0, 366, 365)
    day = (history.effective_date - pd.to_datetime(history.year.astype(str) + "-01-01")).dt.days
    following = history.groupby(["year", "employee_id"]).effective_date.shift(-1)
    next_day = (following - pd.to_datetime(history.year.astype(str) + "-01-01")).dt.days
    next_day = next_day.fillna(pd.Series(days_in_year, index=history.index))
    first = history.event_sequence == 1
    share = (next_day - day) / days_in_year
    start_share = np.where(first, day / days_in_year, 0.0)
    total_share = pd.Series(share + start_share).groupby([history.year, history.employee_id]).sum()
    np.testing.assert_allclose(total_share, 1.0, rtol=1e-12)
    pay = (
        (history.new_salary * share + history.previous_salary * start_share)
        .groupby([history.year, history.employee_id])
        .sum()
    )
    assert len(pay) > 5000
    np.testing.assert_allclose(full_year.prorated_compensation.loc[pay.index], pay, rtol=1e-12)
    # The merit raise counts for its 47 days (Nov 15) or its 1 day (Dec 31), not more.
    merit_share = share[history.event_type == "merit_increase"]
    expected_days = 47 if expected_month == 11 else 1
    assert (
        merit_share * days_in_year[history.event_type == "merit_increase"] == expected_days
    ).all()


def test_termination_reduces_prorated_pay() -> None:
    _, _, snapshots = _default_run()
    leavers = snapshots[snapshots.status == "experienced_termination"]
    assert len(leavers) > 1000
    worked_days = (
        leavers.termination_date - pd.to_datetime(leavers.year.astype(str) + "-01-01")
    ).dt.days + 1
    days_in_year = np.where(leavers.year % 4 == 0, 366, 365)
    assert (
        leavers.prorated_compensation
        <= leavers.annual_salary * worked_days / days_in_year * (1 + 1e-12)
    ).all()
    before_december_31 = worked_days < days_in_year
    assert (
        leavers.prorated_compensation[before_december_31]
        < leavers.annual_salary[before_december_31]
    ).all()
    # Dates are uniform over the year, so leavers are paid about half a year on average.
    assert 0.4 < (leavers.prorated_compensation / leavers.annual_salary).mean() < 0.6
    # A Jan 1 leaver earns one day.
    jan1 = worked_days == 1
    np.testing.assert_allclose(
        leavers.prorated_compensation[jan1],
        leavers.annual_salary[jan1] / days_in_year[jan1],
        rtol=1e-12,
    )


def test_promoted_people_not_paid_twice() -> None:
    result, events, snapshots = _default_run()
    assert not snapshots.duplicated(["year", "employee_id"]).any()
    promoted = events[events.event_type == "promotion"]
    assert not promoted.duplicated(["year", "employee_id"]).any()
    keyed = snapshots.set_index(["year", "employee_id"])
    rows = keyed.loc[list(zip(promoted.year, promoted.employee_id, strict=True))]
    full_year = rows[rows.status == "continuous_active"]
    assert len(full_year) > 500
    # Paid between the start and the end rate, never old pay plus new pay.
    assert (full_year.prorated_compensation <= full_year.annual_salary).all()
    assert (full_year.prorated_compensation >= full_year.start_annual_salary).all()
    metrics = run_metrics(result).per_year
    for outcome in result.outcomes:
        assert metrics[outcome.year]["total_compensation_cost"] == pytest.approx(
            float(outcome.snapshot.prorated_compensation.sum()), rel=1e-12
        )


def test_growth_uses_same_population() -> None:
    # Only COLA raises incumbents; hires are paid far above them (a mix effect).
    settings = settings_with(effective_dates=EffectiveDates(cola="03-01"), target_growth_rate=0.05)
    levels = settings.level_numbers
    updates = every_level(settings, "merit_base", 0.0) | every_level(
        settings, "promotion_probability", 0.0
    )
    updates |= every_level(settings, "new_hire_salary_adjustment", 1.8)
    updates |= {("cola_rate", START_YEAR, level): 0.025 for level in levels}
    result = run(settings, lever_updates=updates)
    metrics = run_metrics(result)
    baseline = baseline_summary(result.starting_workforce, START_YEAR)
    assert baseline.average_salary == pytest.approx(result.starting_workforce.annual_salary.mean())

    previous_average = baseline.average_salary
    for outcome in result.outcomes:
        values = metrics.per_year[outcome.year]
        # Raise rate of the people present all year: exactly the COLA, whatever the mix.
        assert values["continuing_salary_growth"] == pytest.approx(0.025, abs=1e-12)
        # The all-actives average moves with the mix, against the year before's average
        # (year 1: the census salaries of the same starting workforce).
        assert values["average_compensation_growth"] == pytest.approx(
            values["average_salary"] / previous_average - 1, rel=1e-12
        )
        assert values["average_compensation_growth"] > 0.04
        previous_average = values["average_salary"]
    first = metrics.per_year[START_YEAR]
    assert first["total_compensation_cost_growth"] == pytest.approx(
        first["total_compensation_cost"] / result.starting_workforce.annual_salary.sum() - 1
    )
    # Over the horizon: the ratio of averages compounded, not a mean of yearly means.
    final = metrics.per_year[START_YEAR + 4]["average_salary"]
    assert metrics.horizon["compensation_growth_cagr"] == pytest.approx(
        (final / baseline.average_salary) ** (1 / 5) - 1, rel=1e-12
    )


def test_continuing_growth_ignores_leavers_and_hires() -> None:
    result, _, snapshots = _default_run()
    metrics = run_metrics(result)
    for year in range(START_YEAR, START_YEAR + 5):
        rows = snapshots[(snapshots.year == year) & (snapshots.status == "continuous_active")]
        expected = (rows.annual_salary / rows.start_annual_salary).mean() - 1
        assert metrics.per_year[year]["continuing_salary_growth"] == pytest.approx(
            expected, rel=1e-12
        )
