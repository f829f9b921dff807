"""Rendering stored run metrics: one run, or two side by side."""

from __future__ import annotations

import csv
import math
import sys

import duckdb
from rich.table import Table

from planwise.cli._common import emit_json, metrics_table, stdout
from planwise.errors import UserError
from planwise.metrics import METRICS, format_difference, format_metric
from planwise.storage import runs

__all__ = ["render_comparison", "render_results"]


def render_results(connection: duckdb.DuckDBPyConnection, run_id: int, fmt: str) -> None:
    record = runs.load_run(connection, run_id)
    metrics = runs.load_run_metrics(connection, run_id)
    if fmt == "json":
        emit_json(
            {
                "run_id": run_id,
                "scenario_id": record.scenario_id,
                "parameter_set_id": record.parameter_set_id,
                "seed": record.seed,
                "years": metrics.years,
                "metrics": metrics.per_year,
                "horizon": metrics.horizon,
            }
        )
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["run_id", "simulation_year", "metric", "value"])
        for year in metrics.years:
            for name, value in metrics.per_year[year].items():
                writer.writerow([run_id, year, name, _csv_number(value)])
        for name, value in metrics.horizon.items():
            writer.writerow([run_id, "", name, _csv_number(value)])
    else:
        title = (
            f"Run {run_id} · scenario {record.scenario_id} · parameter set "
            f"{record.parameter_set_id} · seed {record.seed}"
        )
        stdout.print(metrics_table(metrics, title))


def render_comparison(
    connection: duckdb.DuckDBPyConnection, run_a: int, run_b: int, fmt: str
) -> None:
    """Each §7 metric per year for both runs, with the difference B − A."""
    first = runs.load_run_metrics(connection, run_a)
    second = runs.load_run_metrics(connection, run_b)
    years = [year for year in first.years if year in second.per_year]
    if not years:
        raise UserError(
            f"Runs {run_a} ({_span(first.years)}) and {run_b} ({_span(second.years)}) share no "
            "simulated year, so there is nothing to compare year by year."
        )
    rows: list[tuple[int | None, str, float, float, float]] = []
    for year in years:
        for name, spec in METRICS.items():
            if spec.per_year:
                a = first.per_year[year].get(name, math.nan)
                b = second.per_year[year].get(name, math.nan)
                rows.append((year, name, a, b, b - a))
    for name in dict.fromkeys([*first.horizon, *second.horizon]):
        a, b = first.horizon.get(name, math.nan), second.horizon.get(name, math.nan)
        rows.append((None, name, a, b, b - a))
    if fmt == "json":
        emit_json(
            {
                "run_a": run_a,
                "run_b": run_b,
                "rows": [
                    {"simulation_year": y, "metric": n, "run_a": a, "run_b": b, "difference": d}
                    for y, n, a, b, d in rows
                ],
            }
        )
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["simulation_year", "metric", f"run_{run_a}", f"run_{run_b}", "difference"])
        writer.writerows(
            ["" if row_year is None else row_year, name, *map(_csv_number, values)]
            for row_year, name, *values in rows
        )
        return
    table = Table(title=f"Run {run_a} vs run {run_b} (difference = {run_b} − {run_a})")
    for column in ("year", "metric", f"run {run_a}", f"run {run_b}", "difference"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for row_year, name, a, b, difference in rows:
        table.add_row(
            "horizon" if row_year is None else str(row_year),
            name,
            format_metric(name, a),
            format_metric(name, b),
            format_difference(name, difference),
        )
    stdout.print(table)


def _csv_number(value: float) -> str:
    """Exact (`repr`) in CSV; a missing figure is an empty field, as in `results --format csv`."""
    return "" if math.isnan(value) else repr(value)


def _span(years: list[int]) -> str:
    return f"{years[0]}–{years[-1]}" if years else "no years"
