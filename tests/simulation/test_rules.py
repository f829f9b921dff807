"""Property tests of the business rules (simulation-model.md §3, §5): one pure function each."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import ndtri

from planwise.config import Settings
from planwise.simulation import rules

PROPERTY = settings(max_examples=50, deadline=None)
"""Enough examples to find boundary cases; no deadline, since CI machines are shared."""

UNIT = st.floats(min_value=2.0**-54, max_value=1.0 - 2.0**-53)
"""The values keyed draws take: the open interval (0, 1)."""

DAYS_IN_YEAR = st.sampled_from([365, 366])


def unit_arrays(min_size: int = 1, max_size: int = 60) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=UNIT)


@st.composite
def shares(draw: st.DrawFn, min_size: int = 1, max_size: int = 8) -> list[float]:
    """Non-negative shares summing to 1 (within rounding), at least one positive."""
    raw = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=100.0)),
            min_size=min_size,
            max_size=max_size,
        )
    )
    assume(sum(raw) > 0)
    total = sum(raw)
    return [value / total for value in raw]


# -- rounding and counts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(0.5, 1, id="half-rounds-up"),
        pytest.param(2.5, 3, id="not-bankers"),
        pytest.param(2.4999999, 2, id="below-half"),
        pytest.param(0.49999999999999994, 0, id="largest-double-below-half"),
        pytest.param(3090.0, 3090, id="integer"),
        pytest.param(0.0, 0, id="zero"),
    ],
)
def test_round_half_up_table(value: float, expected: int) -> None:
    assert rules.round_half_up(value) == expected


@given(st.floats(min_value=0.0, max_value=1e9))
@PROPERTY
def test_round_half_up_matches_exact_decimal_rounding(value: float) -> None:
    exact = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert rules.round_half_up(value) == int(exact)


@given(
    start=st.integers(0, 1_000_000),
    termination_rate=st.floats(0.0, 0.99),
    growth_rate=st.floats(-0.5, 1.0),
    new_hire_termination_rate=st.floats(0.0, 0.95),
)
@PROPERTY
def test_hire_counts_identity_ends_exactly_at_the_target(
    start: int, termination_rate: float, growth_rate: float, new_hire_termination_rate: float
) -> None:
    counts = rules.hire_counts(start, termination_rate, growth_rate, new_hire_termination_rate)
    assert counts.start == start
    assert counts.experienced_terminations == rules.round_half_up(termination_rate * start)
    assert counts.target_end == rules.round_half_up(start * (1.0 + growth_rate))
    assert min(counts.hires, counts.new_hire_terminations, counts.reductions) >= 0
    end = (
        start
        - counts.experienced_terminations
        - counts.reductions
        + counts.hires
        - counts.new_hire_terminations
    )
    assert end == counts.target_end
    assert counts.net_hires == counts.target_end - (start - counts.experienced_terminations)
    if counts.net_hires > 0:
        assert counts.reductions == 0
        assert counts.hires - counts.new_hire_terminations == counts.net_hires
        assert abs(counts.hires * (1 - new_hire_termination_rate) - counts.net_hires) <= 0.5 + 1e-9
    else:
        assert counts.hires == counts.new_hire_terminations == 0
        assert counts.reductions == -counts.net_hires
        # Never more leavers than people: the target is never negative.
        assert counts.experienced_terminations + counts.reductions <= start


@given(count=st.integers(0, 1_000_000), mix=shares())
@PROPERTY
def test_allocate_levels_sums_exactly_and_stays_within_one_of_each_quota(
    count: int, mix: list[float]
) -> None:
    allocated = rules.allocate_levels(count, mix)
    assert allocated.dtype == np.int64
    assert len(allocated) == len(mix)
    assert int(allocated.sum()) == count
    assert (allocated >= 0).all()
    quotas = np.asarray(mix) * count
    assert (np.abs(allocated - quotas) < 1.0 + 1e-6).all()
    assert (allocated[np.asarray(mix) == 0] == 0).all()


def test_allocate_levels_default_mix_hands_out_the_largest_remainders() -> None:
    mix = list(Settings().hire_level_mix.values())  # 40/30/20/8/2 %
    # 47 hires: quotas 18.8, 14.1, 9.4, 3.76, 0.94 → floors 45; remainders .94 and .8 win.
    assert rules.allocate_levels(47, mix).tolist() == [19, 14, 9, 4, 1]
    assert rules.allocate_levels(0, mix).tolist() == [0, 0, 0, 0, 0]


# -- weighted choice --------------------------------------------------------------------------


@st.composite
def choice_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    size = draw(st.integers(1, 60))
    uniforms = draw(hnp.arrays(np.float64, size, elements=UNIT))
    weights = draw(
        hnp.arrays(
            np.float64,
            size,
            elements=st.one_of(st.just(0.0), st.floats(min_value=1e-3, max_value=100.0)),
        )
    )
    count = draw(st.integers(0, size))
    tiebreak = draw(hnp.arrays(np.uint64, size, elements=st.integers(0, 2**64 - 1), unique=True))
    return uniforms, weights, count, tiebreak


@given(choice_inputs())
@PROPERTY
def test_choose_largest_keys_returns_exactly_count_distinct_indices_zero_weights_last(
    inputs: tuple[np.ndarray, np.ndarray, int, np.ndarray],
) -> None:
    uniforms, weights, count, tiebreak = inputs
    chosen = rules.choose_largest_keys(uniforms, weights, count, tiebreak)
    assert len(chosen) == count
    assert len(np.unique(chosen)) == count
    assert ((chosen >= 0) & (chosen < len(weights))).all()
    positive = int((weights > 0).sum())
    chosen_positive = int((weights[chosen] > 0).sum())
    assert chosen_positive == min(count, positive)
    # Exactly the `count` largest keys log(u) / w (u^(1/w) in Efraimidis–Spirakis).
    keys = np.where(weights > 0, np.log(uniforms) / np.where(weights > 0, weights, 1.0), -np.inf)
    if count > 0:
        outside = np.setdiff1d(np.arange(len(weights)), chosen)
        if len(outside):
            assert keys[chosen].min() >= keys[outside].max()


@given(choice_inputs())
@PROPERTY
def test_choose_largest_keys_does_not_depend_on_the_array_order(
    inputs: tuple[np.ndarray, np.ndarray, int, np.ndarray],
) -> None:
    uniforms, weights, count, tiebreak = inputs
    reverse = np.arange(len(weights))[::-1]
    chosen = rules.choose_largest_keys(uniforms, weights, count, tiebreak)
    reversed_chosen = rules.choose_largest_keys(
        uniforms[reverse], weights[reverse], count, tiebreak[reverse]
    )
    assert sorted(chosen.tolist()) == sorted(reverse[reversed_chosen].tolist())


def test_choose_largest_keys_follows_the_weights() -> None:
    size = 20_000
    uniforms = (np.arange(size) * 0.6180339887498949 + 0.1) % 1.0
    uniforms = np.clip(uniforms, 1e-12, 1 - 1e-12)
    weights = np.where(np.arange(size) % 2 == 0, 1.0, 3.0)
    chosen = rules.choose_largest_keys(uniforms, weights, 1_000, np.arange(size, dtype=np.uint64))
    heavy_share = float((weights[chosen] == 3.0).mean())
    # A small sample without replacement picks in proportion to weight: 3 / (1 + 3).
    assert 0.70 < heavy_share < 0.80


# -- days ------------------------------------------------------------------------------------


@given(uniforms=unit_arrays(), days_in_year=DAYS_IN_YEAR)
@PROPERTY
def test_uniform_day_is_a_day_of_the_year(uniforms: np.ndarray, days_in_year: int) -> None:
    day = rules.uniform_day(uniforms, days_in_year)
    assert ((day >= 0) & (day <= days_in_year - 1)).all()


def test_uniform_day_covers_every_day_equally() -> None:
    grid = (np.arange(366 * 100) + 0.5) / (366 * 100)
    assert np.bincount(rules.uniform_day(grid, 366), minlength=366).tolist() == [100] * 366


@given(data=st.data(), days_in_year=DAYS_IN_YEAR)
@PROPERTY
def test_new_hire_termination_day_is_after_the_hire_and_by_december_31(
    data: st.DataObject, days_in_year: int
) -> None:
    size = data.draw(st.integers(1, 100))
    hire_day = data.draw(
        hnp.arrays(np.int64, size, elements=st.integers(0, days_in_year - 2))
    )  # a Dec-31 hire cannot leave in its year
    uniforms = data.draw(hnp.arrays(np.float64, size, elements=UNIT))
    day = rules.new_hire_termination_day(uniforms, hire_day, days_in_year)
    assert (day > hire_day).all()
    assert (day <= days_in_year - 1).all()


def test_new_hire_termination_day_reaches_both_ends_of_its_range() -> None:
    hire_day = np.array([100, 100, 363])
    day = rules.new_hire_termination_day(np.array([1e-12, 1 - 1e-12, 0.5]), hire_day, 365)
    assert day.tolist() == [101, 364, 364]


# -- raises ----------------------------------------------------------------------------------


@given(
    salary=hnp.arrays(np.float64, 20, elements=st.floats(1_000, 2_000_000)),
    promotion_raise=st.floats(0.0, 1.0),
    band_minimum=st.floats(1_000, 600_000),
)
@PROPERTY
def test_promote_pays_the_raise_but_at_least_the_new_band_minimum(
    salary: np.ndarray, promotion_raise: float, band_minimum: float
) -> None:
    raise_array = np.full(len(salary), promotion_raise)
    minimum = np.full(len(salary), band_minimum)
    new = rules.promote(salary, raise_array, minimum)
    assert (new >= minimum).all()
    assert (new >= salary * (1 + promotion_raise)).all()
    assert ((new == minimum) | (new == salary * (1 + promotion_raise))).all()


@given(
    base=hnp.arrays(np.float64, 10, elements=st.floats(0.0, 1.0)),
    age=hnp.arrays(np.float64, 10, elements=st.floats(0.0, 5.0)),
    tenure=hnp.arrays(np.float64, 10, elements=st.floats(0.0, 5.0)),
)
@PROPERTY
def test_promotion_probability_is_the_capped_product(
    base: np.ndarray, age: np.ndarray, tenure: np.ndarray
) -> None:
    probability = rules.promotion_probability(base, age, tenure)
    assert ((probability >= 0) & (probability <= 1)).all()
    np.testing.assert_array_equal(probability, np.minimum(1.0, base * age * tenure))


@given(
    salary=hnp.arrays(np.float64, 10, elements=st.floats(1_000, 1_000_000)),
    cola=st.floats(0.0, 0.15),
)
@PROPERTY
def test_apply_cola_multiplies_by_one_plus_the_rate(salary: np.ndarray, cola: float) -> None:
    new = rules.apply_cola(salary, np.full(len(salary), cola))
    np.testing.assert_array_equal(new, salary * (1 + cola))
    assert (new >= salary).all()


@given(uniforms=unit_arrays(), rating_shares=shares(min_size=1, max_size=7))
@PROPERTY
def test_performance_rating_is_a_valid_index_of_a_rating(
    uniforms: np.ndarray, rating_shares: list[float]
) -> None:
    rating = rules.performance_rating(uniforms, rating_shares)
    assert ((rating >= 0) & (rating < len(rating_shares))).all()
    # Monotone: a larger draw never gives a lower rating.
    order = np.argsort(uniforms, kind="stable")
    assert (np.diff(rating[order]) >= 0).all()


@pytest.mark.parametrize(
    "rating_shares",
    [
        pytest.param([0.7, 0.2, 0.1, 0.0], id="trailing-zero-share-sum-rounds-below-one"),
        pytest.param([0.0, 0.5, 0.5], id="leading-zero-share"),
        pytest.param([0.3, 0.0, 0.7], id="middle-zero-share"),
    ],
)
def test_a_rating_with_zero_share_is_never_drawn(rating_shares: list[float]) -> None:
    extremes = np.array([2.0**-54, 0.3, 0.5, 0.7, 0.9999999999999999, 1.0 - 2.0**-53])
    rating = rules.performance_rating(extremes, rating_shares)
    assert (np.asarray(rating_shares)[rating] > 0).all()


@given(rating_shares=shares(min_size=1, max_size=7))
@PROPERTY
def test_performance_rating_distribution_matches_the_shares(rating_shares: list[float]) -> None:
    size = 100_000
    grid = (np.arange(size) + 0.5) / size
    counts = np.bincount(
        rules.performance_rating(grid, rating_shares), minlength=len(rating_shares)
    )
    assert len(counts) == len(rating_shares)
    assert (np.abs(counts / size - np.asarray(rating_shares)) <= 1.0 / size + 1e-9).all()


def test_merit_multipliers_are_rescaled_to_an_expected_value_of_one() -> None:
    settings = Settings()
    shares_ = [rating.share for rating in settings.performance_ratings]
    assert math.isclose(sum(shares_), 1.0, abs_tol=1e-12)
    expected = sum(s * m for s, m in zip(shares_, settings.merit_multipliers, strict=True))
    assert math.isclose(expected, 1.0, rel_tol=1e-12)
    rating = np.array([0, 1, 2, 3, 4])
    merit = rules.merit_rate(np.full(5, 0.034), rating, settings.merit_multipliers)
    np.testing.assert_allclose(merit, 0.034 * np.array([0.0, 0.5, 1.0, 1.4, 1.8]) / 0.995)


# -- hires -----------------------------------------------------------------------------------


@given(uniforms=unit_arrays(), sigma=st.floats(0.0, 1.0))
@PROPERTY
def test_salary_spread_is_lognormal_with_median_one(uniforms: np.ndarray, sigma: float) -> None:
    spread = rules.salary_spread(uniforms, sigma)
    assert (spread > 0).all() and np.isfinite(spread).all()
    np.testing.assert_allclose(np.log(spread), sigma * ndtri(uniforms), rtol=1e-12, atol=1e-12)
    assert rules.salary_spread(np.array([0.5]), sigma)[0] == 1.0


def test_hire_salary_is_midpoint_times_adjustment_times_spread() -> None:
    salary = rules.hire_salary(np.array([65_000.0, 100_000.0]), np.array([1.1, 0.9]), np.ones(2))
    np.testing.assert_allclose(salary, [71_500.0, 90_000.0])


@given(uniforms=unit_arrays(), age_shares=shares(min_size=5, max_size=5))
@PROPERTY
def test_hire_age_falls_inside_its_band(uniforms: np.ndarray, age_shares: list[float]) -> None:
    bands = Settings().hire_age_bands
    minimum = [band.min_age for band in bands]
    maximum = [band.max_age for band in bands]
    age = rules.hire_age_years(uniforms, minimum, maximum, age_shares)
    whole = np.floor(age).astype(int)
    band = np.searchsorted(np.asarray(minimum), whole, side="right") - 1
    assert (band >= 0).all()
    assert (whole <= np.asarray(maximum)[band]).all()
    assert (np.asarray(age_shares)[band] > 0).all()


def test_hire_age_distribution_matches_the_default_bands() -> None:
    bands = Settings().hire_age_bands
    size = 50_000
    grid = (np.arange(size) + 0.5) / size
    age = rules.hire_age_years(
        grid, [b.min_age for b in bands], [b.max_age for b in bands], [b.share for b in bands]
    )
    whole = np.floor(age)
    for band in bands:
        inside = (whole >= band.min_age) & (whole <= band.max_age)
        assert abs(inside.mean() - band.share) < 1e-3
        # Uniform within the band: each whole year of it gets its equal part.
        years = np.bincount(whole[inside].astype(int) - band.min_age)
        assert np.ptp(years) <= 2
    assert whole.min() == 22 and whole.max() == 55


# -- bands, ages, weights ----------------------------------------------------------------------


@given(values=hnp.arrays(np.int64, st.integers(1, 50), elements=st.integers(0, 120)))
@PROPERTY
def test_band_multiplier_takes_the_band_each_value_falls_in(values: np.ndarray) -> None:
    bands = Settings().termination_age_multipliers
    lowers = [band.lower for band in bands]
    multipliers = [band.multiplier for band in bands]
    result = rules.band_multiplier(values, lowers, multipliers)
    for value, multiplier in zip(values.tolist(), result.tolist(), strict=True):
        expected = [band.multiplier for band in bands if band.lower <= value][-1]
        assert multiplier == expected


@pytest.mark.parametrize(
    ("tenure", "multiplier"),
    [
        pytest.param(0, 1.8, id="first-year"),
        pytest.param(1, 1.8, id="second-year"),
        pytest.param(2, 0.6, id="band-boundary-is-inclusive"),
        pytest.param(19, 0.4, id="last-of-10-19"),
        pytest.param(20, 0.3, id="twenty-plus"),
        pytest.param(45, 0.3, id="beyond-the-last-lower-bound"),
    ],
)
def test_band_multiplier_table_for_termination_tenure(tenure: int, multiplier: float) -> None:
    bands = Settings().termination_tenure_multipliers
    result = rules.band_multiplier(
        np.array([tenure]), [b.lower for b in bands], [b.multiplier for b in bands]
    )
    assert result.tolist() == [multiplier]


@given(
    start=st.dates(dt.date(1920, 1, 1), dt.date(2030, 12, 31)),
    on=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
)
@PROPERTY
def test_completed_years_floors_days_over_365_25(start: dt.date, on: dt.date) -> None:
    assume(start <= on)
    result = rules.completed_years(np.array([start], dtype="datetime64[D]"), np.datetime64(on))
    assert result.tolist() == [math.floor(Fraction((on - start).days) / Fraction("365.25"))]


def test_termination_weight_is_the_product_of_the_multipliers() -> None:
    weight = rules.termination_weight(
        np.array([0.7, 1.6]), np.array([1.8, 0.3]), np.array([1, 0.6])
    )
    np.testing.assert_allclose(weight, [0.7 * 1.8 * 1.0, 1.6 * 0.3 * 0.6])


# -- proration -------------------------------------------------------------------------------


@st.composite
def pay_histories(
    draw: st.DrawFn,
) -> tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray], int]:
    days_in_year = draw(DAYS_IN_YEAR)
    size = draw(st.integers(1, 30))
    changes = sorted(draw(st.lists(st.integers(0, days_in_year - 1), max_size=4)))
    first = draw(hnp.arrays(np.int64, size, elements=st.integers(0, days_in_year - 1)))
    length = draw(hnp.arrays(np.int64, size, elements=st.integers(0, days_in_year - 1)))
    last = np.minimum(first + length, days_in_year - 1)
    salary = draw(hnp.arrays(np.float64, size, elements=st.floats(10_000, 1_000_000)))
    salaries = [salary]
    for _ in changes:
        raise_ = draw(hnp.arrays(np.float64, size, elements=st.floats(0.0, 0.9)))
        salaries.append(salaries[-1] * (1 + raise_))
    return first, last, [0, *changes], salaries, days_in_year


@given(pay_histories())
@PROPERTY
def test_prorate_is_the_exact_segment_sum_and_never_above_the_highest_rate(
    history: tuple[np.ndarray, np.ndarray, list[int], list[np.ndarray], int],
) -> None:
    first, last, change_days, salaries, days_in_year = history
    pay = rules.prorate(first, last, change_days, salaries, days_in_year)
    highest = np.max(np.stack(salaries), axis=0)
    assert (pay <= highest).all()
    assert (pay >= 0).all()
    bounds = [*change_days, days_in_year]
    for person in range(len(first)):
        exact = Fraction(0)
        for k, salary in enumerate(salaries):
            start = max(bounds[k], int(first[person]))
            stop = min(bounds[k + 1], int(last[person]) + 1)
            exact += Fraction(float(salary[person])) * max(stop - start, 0)
        exact /= days_in_year
        assert math.isclose(pay[person], float(exact), rel_tol=1e-12)


@given(
    salary=hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(1_000, 5_000_000)),
    change_days=st.lists(st.integers(0, 364), max_size=4).map(sorted),
)
@PROPERTY
def test_prorate_pays_an_unchanged_full_year_rate_exactly(
    salary: np.ndarray, change_days: list[int]
) -> None:
    size = len(salary)
    pay = rules.prorate(
        np.zeros(size, np.int64),
        np.full(size, 364),
        [0, *change_days],
        [salary] * (len(change_days) + 1),
        365,
    )
    assert (pay == salary).all()


def test_prorate_splits_a_year_at_each_change() -> None:
    # 31 days at 100, then 334 at 200; a leaver on day 99 (Apr 10) and a hire from day 300.
    pay = rules.prorate(
        np.array([0, 0, 300]),
        np.array([364, 99, 364]),
        [0, 31],
        [np.full(3, 100.0), np.full(3, 200.0)],
        365,
    )
    np.testing.assert_allclose(
        pay, [(31 * 100 + 334 * 200) / 365, (31 * 100 + 69 * 200) / 365, 65 * 200 / 365]
    )
