"""Materialization metadata: the figures the core computed, laid out for the Dagster UI."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dagster as dg
from planwise.metrics import METRICS, RunMetrics, format_metric
from planwise.parameters import PARAMETERS, ResolvedLevers

__all__ = [
    "lever_table_markdown",
    "markdown_table",
    "metrics_markdown",
    "numeric",
    "run_metadata",
]


_HEADLINE = ("headcount", "total_compensation_cost", "average_salary", "median_merit_increase")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def metrics_markdown(metrics: RunMetrics) -> str:
    """Metrics down, years across; the horizon figures at the bottom."""
    years = metrics.years
    rows: list[list[object]] = []
    for name, spec in METRICS.items():
        if spec.per_year:
            rows.append(
                [name, *(format_metric(name, metrics.per_year[y].get(name)) for y in years)]
            )
    for name, value in metrics.horizon.items():
        rows.append([name, format_metric(name, value), *([""] * (len(years) - 1))])
    return markdown_table(["metric", *(str(year) for year in years)], rows)


def lever_table_markdown(resolved: ResolvedLevers) -> str:
    """Each lever by job level for every simulated year; locked values marked 🔒."""
    rows: list[list[object]] = []
    for spec in PARAMETERS:
        values, locked = resolved.values[spec.name], resolved.locked[spec.name]
        for row, year in enumerate(resolved.years):
            cells = [
                f"{values[row, level]:g}{' 🔒' if locked[row, level] else ''}"
                for level in resolved.levels
            ]
            rows.append([spec.name, year, *cells])
    header = ["lever", "year", *(f"level {level}" for level in resolved.levels)]
    return markdown_table(header, rows)


def numeric(value: float | None) -> dg.MetadataValue[Any]:
    """A float for the UI's metadata plots; NaN and ±inf become null (JSON has no NaN)."""
    if value is None or not math.isfinite(value):
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(float(value))


def run_metadata(
    run_id: int,
    scenario_id: str,
    parameter_set_id: int,
    seed: int,
    metrics: RunMetrics,
    seconds: float,
) -> dict[str, Any]:
    """Metadata of a stored simulation run: ids, the metrics table, the final-year headline."""
    final = metrics.per_year[metrics.years[-1]]
    figures = {name: final[name] for name in _HEADLINE if name in final}
    return {
        "run_id": dg.MetadataValue.int(run_id),
        "scenario_id": scenario_id,
        "parameter_set_id": dg.MetadataValue.int(parameter_set_id),
        "seed": dg.MetadataValue.int(seed),
        "years": f"{metrics.years[0]}–{metrics.years[-1]}",
        "metrics": dg.MetadataValue.md(metrics_markdown(metrics)),
        **{f"final_{name}": numeric(value) for name, value in figures.items()},
        **{name: numeric(value) for name, value in metrics.horizon.items()},
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
    }
