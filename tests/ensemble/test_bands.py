"""The spread of a metric over an ensemble: bands, deterministic metrics, paired
differences and exceedance, on members whose values are known by hand."""

from __future__ import annotations

import math

import pytest

from planwise.ensemble import HORIZON, MemberMetrics, band, bands, exceedance, paired_differences


def _member(scenario: str, seed: int, cost: float, headcount: float = 100.0) -> MemberMetrics:
    per_year = {2025: {"total_compensation_cost": cost, "headcount": headcount}}
    return MemberMetrics(scenario, seed, per_year, {"cumulative_compensation_cost": cost})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], (3.0, 1.4, 3.0, 4.6, 1.0, 5.0)),
        ([10.0], (10.0, 10.0, 10.0, 10.0, 10.0, 10.0)),
        ([2.0, math.nan, 4.0], (3.0, 2.2, 3.0, 3.8, 2.0, 4.0)),
    ],
    ids=["five", "one", "nan-left-out"],
)
def test_a_band_is_mean_p10_p50_p90_min_max(
    values: list[float], expected: tuple[float, ...]
) -> None:
    summary = band(values)
    got = (summary.mean, summary.p10, summary.p50, summary.p90, summary.min, summary.max)
    assert got == pytest.approx(expected)


def test_the_order_members_arrive_in_changes_nothing() -> None:
    assert band([5.0, 1.0, 3.0, 2.0, 4.0]) == band([1.0, 2.0, 3.0, 4.0, 5.0])


def test_a_metric_without_spread_is_deterministic_not_a_band() -> None:
    members = [_member("default", seed, 1000.0 + seed) for seed in range(5)]
    table = bands(members)
    assert table["headcount"][2025].deterministic
    assert not table["total_compensation_cost"][2025].deterministic
    assert table["cumulative_compensation_cost"][HORIZON].p50 == 1002.0


def test_paired_differences_are_taken_seed_by_seed() -> None:
    # Each seed moves both scenarios alike: the difference has no spread at all, although
    # each scenario's own band is wide.
    members = [_member("default", seed, 1000.0 * seed) for seed in range(1, 6)]
    members += [_member("lean", seed, 1000.0 * seed - 50.0) for seed in range(1, 6)]
    difference = paired_differences(members, "default", "lean")["total_compensation_cost"][2025]
    assert (difference.min, difference.max) == (-50.0, -50.0)
    assert bands(members[:5])["total_compensation_cost"][2025].max == 5000.0


def test_exceedance_is_the_share_of_members_above_the_threshold() -> None:
    members = [_member("default", seed, cost) for seed, cost in enumerate([1, 2, 3, 4, 5])]
    assert exceedance(members, "total_compensation_cost", 3.5) == {2025: 0.4}
    assert exceedance(members, "cumulative_compensation_cost", 0.0) == {HORIZON: 1.0}
