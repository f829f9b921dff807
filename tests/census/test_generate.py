"""The synthetic census generator (simulation-model.md §1, last paragraph)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planwise.census import CENSUS_COLUMNS, Census, generate_census
from planwise.census.generate import GENERATED_LEVEL_MIX
from planwise.config import Settings

SETTINGS = Settings()
AS_OF = pd.Timestamp(SETTINGS.census_as_of)


@pytest.fixture(scope="module")
def census() -> Census:
    return generate_census(20_000, 2025, SETTINGS)


def calendar_ages(birth: pd.Series) -> pd.Series:
    before_birthday = (birth.dt.month > AS_OF.month) | (
        (birth.dt.month == AS_OF.month) & (birth.dt.day > AS_OF.day)
    )
    return AS_OF.year - birth.dt.year - before_birthday.astype(int)


def test_level_mix_is_about_45_28_15_9_3_percent(census: Census) -> None:
    shares = census.frame["job_level"].value_counts(normalize=True).sort_index()
    assert shares.index.tolist() == [1, 2, 3, 4, 5]
    # 20k draws: the standard error is under 0.4 points, so 1.5 points is about 4 sigma.
    np.testing.assert_allclose(shares.to_numpy(), GENERATED_LEVEL_MIX, atol=0.015)
    assert GENERATED_LEVEL_MIX == (0.45, 0.28, 0.15, 0.09, 0.03)


def test_salaries_lie_inside_their_level_band_centred_on_the_midpoint(census: Census) -> None:
    frame = census.frame
    for level in SETTINGS.job_levels:
        pay = frame.loc[frame["job_level"] == level.level, "annual_salary"]
        assert pay.between(level.min_salary, level.max_salary).all(), level.name
        assert abs(pay.median() / level.midpoint - 1) < 0.03, level.name


def test_ages_are_22_to_65_at_the_as_of_date(census: Census) -> None:
    ages = calendar_ages(census.frame["birth_date"])
    assert ages.min() == 22
    assert ages.max() == 65


def test_tenure_is_never_longer_than_the_years_since_age_18(census: Census) -> None:
    frame = census.frame
    tenure_days = (AS_OF - frame["hire_date"]).dt.days
    adult_days = (AS_OF - frame["birth_date"]).dt.days - 18 * 365.25
    assert (tenure_days >= 0).all()
    assert (tenure_days <= adult_days + 1).all()  # +1: both dates are rounded to whole days


def test_tenure_is_roughly_exponential_with_a_mean_near_5_years(census: Census) -> None:
    tenure_years = (AS_OF - census.frame["hire_date"]).dt.days / 365.25
    assert 4.3 < tenure_years.mean() < 5.2  # a little under 5: capped by age for the young
    assert 0.55 < (tenure_years < 5).mean() < 0.7  # exponential: 1 - e^-1 ≈ 63 % below the mean


def test_everyone_is_active_with_unique_ids_and_canonical_columns(census: Census) -> None:
    frame = census.frame
    assert tuple(frame.columns) == CENSUS_COLUMNS
    assert frame["employee_id"].is_unique
    assert frame["in_starting_workforce"].all() and frame["active"].all()
    assert frame["termination_date"].isna().all()
    assert (frame["hire_date"] <= AS_OF).all()
    assert set(frame["gender"]) == {"F", "M"}
    assert census.starting_headcount == len(census) == 20_000
    assert census.as_of_date == SETTINGS.census_as_of


def test_the_same_seed_gives_the_same_census() -> None:
    first, second = generate_census(500, 11, SETTINGS), generate_census(500, 11, SETTINGS)
    pd.testing.assert_frame_equal(first.frame, second.frame)
    assert first.census_id == second.census_id


def test_another_seed_gives_another_census() -> None:
    first, other = generate_census(500, 11, SETTINGS), generate_census(500, 12, SETTINGS)
    assert first.census_id != other.census_id
    assert not np.array_equal(first.frame["annual_salary"], other.frame["annual_salary"])
    assert first.frame["employee_id"].equals(other.frame["employee_id"])  # ids depend on size
