"""Resolution precedence (scenario → default scenario → built-in, nearest earlier year),
the locks it carries, and the row diff of two sets."""

from __future__ import annotations

import pytest

from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    Lever,
    LeverSet,
    default_lever_set,
    diff_lever_sets,
    resolve_levers,
)

YEARS = (2025, 2026, 2027)
LEVELS = (1, 2)
BUILT_IN_MERIT_LEVEL_1 = 0.030


def merit(*rows: tuple[int, int, float] | tuple[int, int, float, bool]) -> tuple[Lever, ...]:
    """merit_base rows as (year, level, value[, locked])."""
    return tuple(
        Lever("merit_base", row[0], row[1], row[2], is_locked=len(row) == 4 and bool(row[-1]))
        for row in rows
    )


# id, scenario rows (None: no scenario set), default-scenario rows, (year, level) asked,
# expected value, expected source, expected lock
PRECEDENCE = [
    (
        "scenario-row-of-the-year",
        merit((2026, 1, 0.05)),
        merit((2026, 1, 0.04)),
        (2026, 1),
        0.05,
        "scenario",
        False,
    ),
    (
        "scenario-earlier-year-carries-forward",
        merit((2025, 1, 0.05)),
        (),
        (2027, 1),
        0.05,
        "scenario",
        False,
    ),
    (
        "nearest-earlier-of-several-years",
        merit((2025, 1, 0.05), (2026, 1, 0.06)),
        (),
        (2027, 1),
        0.06,
        "scenario",
        False,
    ),
    (
        "scenario-earlier-year-beats-default-row-of-the-year",
        merit((2025, 1, 0.05)),
        merit((2027, 1, 0.04)),
        (2027, 1),
        0.05,
        "scenario",
        False,
    ),
    (
        "scenario-later-year-does-not-reach-back",
        merit((2027, 1, 0.07)),
        merit((2025, 1, 0.04)),
        (2026, 1),
        0.04,
        "default scenario",
        False,
    ),
    (
        "scenario-row-of-another-level-falls-to-default",
        merit((2025, 2, 0.05)),
        merit((2025, 1, 0.04)),
        (2025, 1),
        0.04,
        "default scenario",
        False,
    ),
    (
        "default-earlier-year-carries-forward",
        (),
        merit((2025, 1, 0.04)),
        (2027, 1),
        0.04,
        "default scenario",
        False,
    ),
    (
        "no-scenario-set-uses-default",
        None,
        merit((2025, 1, 0.04)),
        (2025, 1),
        0.04,
        "default scenario",
        False,
    ),
    ("built-in-when-no-rows", (), (), (2025, 1), BUILT_IN_MERIT_LEVEL_1, "built-in", False),
    (
        "built-in-before-the-first-row",
        merit((2026, 1, 0.05)),
        merit((2027, 1, 0.04)),
        (2025, 1),
        BUILT_IN_MERIT_LEVEL_1,
        "built-in",
        False,
    ),
    (
        "lock-follows-the-scenario-row",
        merit((2025, 1, 0.05, True)),
        (),
        (2027, 1),
        0.05,
        "scenario",
        True,
    ),
    (
        "lock-follows-the-default-row",
        (),
        merit((2025, 1, 0.04, True)),
        (2026, 1),
        0.04,
        "default scenario",
        True,
    ),
]


@pytest.mark.parametrize(
    ("scenario_rows", "default_rows", "asked", "value", "source", "locked"),
    [case[1:] for case in PRECEDENCE],
    ids=[case[0] for case in PRECEDENCE],
)
def test_resolution_precedence(
    scenario_rows: tuple[Lever, ...] | None,
    default_rows: tuple[Lever, ...],
    asked: tuple[int, int],
    value: float,
    source: str,
    locked: bool,
) -> None:
    scenario = None if scenario_rows is None else LeverSet("stretch", scenario_rows)
    resolved = resolve_levers(YEARS, LEVELS, scenario, LeverSet(DEFAULT_SCENARIO, default_rows))
    year, level = asked
    row = YEARS.index(year)
    assert resolved.value("merit_base", year, level) == value
    assert resolved.sources["merit_base"][row, level] == source
    assert bool(resolved.locked["merit_base"][row, level]) is locked


def test_the_default_scenario_resolves_without_a_second_layer() -> None:
    # Resolving `default` itself: its own rows, then the built-in values, never a stale copy.
    own = LeverSet(DEFAULT_SCENARIO, merit((2026, 1, 0.05)))
    stale = LeverSet(DEFAULT_SCENARIO, merit((2025, 1, 0.09)))
    resolved = resolve_levers(YEARS, LEVELS, own, stale)
    assert resolved.value("merit_base", 2025, 1) == BUILT_IN_MERIT_LEVEL_1
    assert resolved.value("merit_base", 2026, 1) == 0.05


def test_the_resolved_table_has_one_row_per_parameter_year_and_level() -> None:
    resolved = resolve_levers(YEARS, LEVELS, default_lever_set(2025, LEVELS))
    rows = resolved.rows()
    assert len(rows) == 5 * len(YEARS) * len(LEVELS)
    assert {row["source"] for row in rows} == {"scenario"}
    assert resolved.for_year(2026)["promotion_probability"][1:].tolist() == [0.12, 0.08]


def test_diff_reports_changed_added_removed_and_lock_only_rows() -> None:
    before = LeverSet(
        "default",
        (
            Lever("merit_base", 2025, 1, 0.03),
            Lever("merit_base", 2025, 2, 0.03),
            Lever("cola_rate", 2025, 1, 0.02),
            Lever("cola_rate", 2025, 2, 0.02),
        ),
    )
    after = LeverSet(
        "default",
        (
            Lever("merit_base", 2025, 1, 0.04),
            Lever("merit_base", 2025, 2, 0.03),
            Lever("cola_rate", 2025, 1, 0.02, is_locked=True),
            Lever("promotion_raise", 2026, 1, 0.1),
        ),
    )
    kinds = {(d.parameter_name, d.job_level): d.kind for d in diff_lever_sets(before, after)}
    assert kinds == {
        ("merit_base", 1): "changed",
        ("cola_rate", 1): "lock",
        ("cola_rate", 2): "removed",
        ("promotion_raise", 1): "added",
    }
    assert diff_lever_sets(after, after) == ()
