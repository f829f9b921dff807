"""Golden figures: the demo scenario's metrics, bit for bit, every year and the horizon.

`planwise demo` is what people see first, and its figures are quoted in documents. They
must not move unless the model changes on purpose: a refactor, a dependency upgrade or a
"harmless" reordering of random draws that moves any figure by one ulp fails here. The
comparison is on the exact text `repr(float)` (shortest round-trip form), so it is exact;
NaN is written as an empty value and compares equal to itself.
"""

from __future__ import annotations

import math

import pytest
from demo_figures import (
    GOLDEN_CSV,
    REGENERATE_COMMAND,
    GoldenRow,
    demo_run_metrics,
    golden_rows,
    read_golden_csv,
)

from planwise.metrics import HORIZON_METRICS, YEAR_METRICS

CHANGED = (
    "The demo scenario's figures differ from {path}. The model changed on purpose? "
    "Regenerate with `{command}`, review the diff and commit it."
)


def _changed_message() -> str:
    return CHANGED.format(path=GOLDEN_CSV.name, command=REGENERATE_COMMAND)


@pytest.fixture(scope="module")
def computed() -> list[GoldenRow]:
    """The demo scenario simulated now (10,000 employees × 5 years, about 0.2 s)."""
    return golden_rows(demo_run_metrics())


@pytest.fixture(scope="module")
def recorded() -> list[GoldenRow]:
    return read_golden_csv()


def _by_year(rows: list[GoldenRow], metric: str) -> dict[str, str]:
    return {year: value for year, name, value in rows if name == metric}


def test_the_file_holds_every_metric_of_every_year_in_order(
    computed: list[GoldenRow], recorded: list[GoldenRow]
) -> None:
    assert [row[:2] for row in recorded] == [row[:2] for row in computed], _changed_message()


@pytest.mark.parametrize("metric", [spec.name for spec in (*YEAR_METRICS, *HORIZON_METRICS)])
def test_demo_figure_is_unchanged(
    computed: list[GoldenRow], recorded: list[GoldenRow], metric: str
) -> None:
    assert _by_year(computed, metric) == _by_year(recorded, metric), _changed_message()


def test_the_file_is_exact_floats_and_empty_for_nan(recorded: list[GoldenRow]) -> None:
    """Hand-edited or rounded values would make the bit-for-bit comparison meaningless."""
    for year, metric, value in recorded:
        assert year == "" or year.isdigit(), (year, metric)
        if value:
            number = float(value)
            assert not math.isnan(number) and repr(number) == value, (year, metric, value)


def test_horizon_figures_have_no_year(recorded: list[GoldenRow]) -> None:
    horizon = {spec.name for spec in HORIZON_METRICS}
    assert {metric for year, metric, _ in recorded if year == ""} == horizon
