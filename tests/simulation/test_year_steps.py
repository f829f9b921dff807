"""The steps of one simulated year (simulation-model.md §5): order, eligibility, who is drawn."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from sim_support import START_YEAR, event_frame, run, settings_with, snapshot_frame

from planwise.config import EffectiveDates


@functools.cache
def _heavy_turnover() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One year in which 90 % leave: several leavers on every day of the year."""
    result = run(settings_with(termination_rate=0.9, target_growth_rate=0.0), years=1, seed=6)
    return event_frame(result), snapshot_frame(result)


@pytest.mark.parametrize(
    ("step", "month_day"),
    [("cola", "01-01"), ("promotion", "02-01"), ("merit_increase", "04-01")],
)
def test_a_raise_on_the_leaving_day_is_applied_before_the_termination(
    step: str, month_day: str
) -> None:
    events, _ = _heavy_turnover()
    leavers = events[events.termination_reason == "experienced"].set_index("employee_id")
    day = pd.Timestamp(f"{START_YEAR}-{month_day}")
    raised = events[(events.event_type == step)].set_index("employee_id")
    # Leaving on the raise date: still there for it, and the raise comes first.
    same_day = leavers[leavers.effective_date == day]
    got_it = same_day.index.intersection(raised.index)
    assert len(got_it) > 0
    assert (raised.event_sequence.loc[got_it] < same_day.event_sequence.loc[got_it]).all()
    # Leaving the day before: gone, no raise.
    day_before = leavers[leavers.effective_date == day - pd.Timedelta(days=1)]
    assert len(day_before) > 0 or step == "cola"
    assert not day_before.index.intersection(raised.index).size
    if step != "promotion":  # promotions are drawn; COLA and merit reach everyone present
        stayed_for_it = leavers[leavers.effective_date >= day]
        if step == "merit_increase":  # a rating with multiplier 0 gives no merit event
            assert len(stayed_for_it.index.intersection(raised.index)) > 0.9 * len(stayed_for_it)
        else:
            assert stayed_for_it.index.isin(raised.index).all()


def test_new_hires_get_no_raise_in_their_hire_year() -> None:
    events, _ = _heavy_turnover()
    hired = events[events.event_type == "hire"].employee_id
    assert len(hired) > 2000
    their_events = events[events.employee_id.isin(hired)]
    assert set(their_events.event_type) == {"hire", "termination"}


def test_promotions_need_a_year_of_tenure_and_a_level_to_go_to() -> None:
    result = run(seed=12)
    events = event_frame(result)
    snapshots = snapshot_frame(result)
    promoted = events[events.event_type == "promotion"].merge(
        snapshots, on=["year", "employee_id"], validate="1:1"
    )
    assert len(promoted) > 500
    jan1 = pd.to_datetime(promoted.year.astype(str) + "-01-01")
    tenure = np.floor((jan1 - promoted.hire_date).dt.days / 365.25)  # whole years at Jan 1
    assert (tenure >= 1).all()
    assert (promoted.previous_job_level < 5).all()
    # Level-5 people exist all along and are never promoted.
    assert (snapshots.start_job_level == 5).sum() > 100


def test_terminations_follow_the_hazard_weights() -> None:
    snapshots = snapshot_frame(run(seed=21))
    start = snapshots[snapshots.status.isin(["continuous_active", "experienced_termination"])]
    left = start.status == "experienced_termination"
    by_level = left.groupby(start.start_job_level).mean()
    # Level multipliers 1.0 … 0.6: level 1 leaves clearly more often than level 4 and 5.
    assert by_level[1] > by_level[4] > 0 and by_level[1] > by_level[5]
    tenure_years = (
        pd.to_datetime(start.year.astype(str) + "-01-01") - start.hire_date
    ).dt.days / 365.25
    short, long = left[tenure_years < 2].mean(), left[tenure_years >= 20].mean()
    assert short > 2.5 * long  # multipliers 1.8 vs 0.3


@pytest.mark.parametrize(
    "dates",
    [
        pytest.param(EffectiveDates(cola="07-01", promotion="09-15", merit="03-01"), id="shuffled"),
        pytest.param(
            EffectiveDates(cola="12-31", promotion="12-31", merit="12-31"), id="all-dec-31"
        ),
    ],
)
def test_effective_dates_come_from_the_settings(dates: EffectiveDates) -> None:
    result = run(settings_with(effective_dates=dates), years=2, seed=2)
    events = event_frame(result)
    for step, name in [("cola", "cola"), ("promotion", "promotion"), ("merit_increase", "merit")]:
        dated = events[events.event_type == step]
        assert len(dated) > 0
        expected = pd.to_datetime(dated.year.astype(str) + "-" + getattr(dates, name))
        assert (dated.effective_date == expected).all()
