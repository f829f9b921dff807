"""Rendering stored run metrics: one run, or two side by side."""

from __future__ import annotations

import csv
import math
import sys

import duckdb
from rich.table import Table

from planwise.cli._common import emit_json, format_metric, metrics_table, stdout
from planwise.metrics import METRICS
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
                writer.writerow([run_id, year, name, "" if math.isnan(value) else repr(value)])
        for name, value in metrics.horizon.items():
            writer.writerow([run_id, "", name, "" if math.isnan(value) else repr(value)])
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
    rows = []
    for year in years:
        for name, spec in METRICS.items():
            if spec.per_year:
                a = first.per_year[year].get(name, math.nan)
                b = second.per_year[year].get(name, math.nan)
                rows.append((year, name, a, b, b - a))
    for name in first.horizon:
        a, b = first.horizon[name], second.horizon.get(name, math.nan)
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
        writer.writerows(rows)
        return
    table = Table(title=f"Run {run_a} vs run {run_b} (difference = {run_b} − {run_a})")
    for column in ("year", "metric", f"run {run_a}", f"run {run_b}", "difference"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for year, name, a, b, difference in rows:
        table.add_row(
            "horizon" if year is None else str(year),
            name,
            format_metric(name, a),
            format_metric(name, b),
            format_metric(name, difference),
        )
    stdout.print(table)
