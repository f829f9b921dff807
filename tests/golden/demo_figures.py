"""The demo scenario's metrics as golden rows: how they are computed, written and read.

The demo scenario is what `planwise demo` simulates: a generated census of 10,000 employees
(census seed 20250101, the constants `DEMO_EMPLOYEES` and `DEMO_SEED` of `planwise.cli`),
the built-in default levers over the settings' five years and the settings' seed. Only the
domain API is used (census, parameters, simulation, metrics), never the service or the
store, so the figures pin the model itself.

Each row is (simulation_year, metric, value). The value is `repr(float)`, which round-trips
exactly, so comparing the text compares the floats bit for bit; NaN is written as an empty
value and a horizon metric has an empty year.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from planwise.census import generate_census
from planwise.config import Settings
from planwise.metrics import HORIZON_METRICS, YEAR_METRICS, RunMetrics, run_metrics
from planwise.parameters import default_lever_set, resolve_levers
from planwise.simulation import simulate

DEMO_EMPLOYEES = 10_000
DEMO_CENSUS_SEED = 20250101
GOLDEN_CSV = Path(__file__).with_name("demo_metrics.csv")
REGENERATE_COMMAND = ".venv/bin/python tests/golden/regenerate.py"
COLUMNS = ("simulation_year", "metric", "value")

GoldenRow = tuple[str, str, str]


def demo_run_metrics() -> RunMetrics:
    """Simulate the demo scenario and measure it (about 0.2 s)."""
    settings = Settings()
    workforce = generate_census(DEMO_EMPLOYEES, DEMO_CENSUS_SEED, settings).starting_workforce()
    years = list(range(settings.start_year, settings.start_year + settings.years))
    levers = resolve_levers(
        years,
        settings.level_numbers,
        default_lever_set(settings.start_year, settings.level_numbers),
    )
    result = simulate(
        workforce,
        settings,
        levers,
        start_year=settings.start_year,
        years=settings.years,
        seed=settings.seed,
    )
    return run_metrics(result)


def format_value(value: float) -> str:
    """Exact text of a metric value: `repr` of the float, or "" for NaN."""
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def golden_rows(metrics: RunMetrics) -> list[GoldenRow]:
    """Every per-year metric of every year, in the order of §7, then the horizon metrics."""
    rows = [
        (str(year), spec.name, format_value(metrics.per_year[year][spec.name]))
        for year in metrics.years
        for spec in YEAR_METRICS
    ]
    rows += [("", spec.name, format_value(metrics.horizon[spec.name])) for spec in HORIZON_METRICS]
    return rows


def write_golden_csv(rows: list[GoldenRow], path: Path = GOLDEN_CSV) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def read_golden_csv(path: Path = GOLDEN_CSV) -> list[GoldenRow]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if tuple(header) != COLUMNS:
            raise ValueError(f"{path}: header {header}, expected {list(COLUMNS)}")
        return [(year, metric, value) for year, metric, value in reader]
