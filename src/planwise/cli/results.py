"""Rendering stored run metrics: one run, or two side by side."""

from __future__ import annotations

import csv
import math
import sys
from typing import TYPE_CHECKING

from rich.table import Table

from planwise.cli._common import emit_json, metrics_table, stdout
from planwise.metrics import format_difference, format_metric

if TYPE_CHECKING:
    from planwise.application import RunComparison, RunResults

__all__ = ["render_comparison", "render_results"]


def render_results(results: RunResults, fmt: str) -> None:
    record, metrics = results.run, results.metrics
    run_id = record.run_id
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


def render_comparison(comparison: RunComparison, fmt: str) -> None:
    """Each §7 metric per year for both runs, with the difference B − A."""
    run_a, run_b, rows = comparison.run_a, comparison.run_b, comparison.rows
    if fmt == "json":
        emit_json(
            {
                "run_a": run_a,
                "run_b": run_b,
                "rows": [
                    {
                        "simulation_year": row.year,
                        "metric": row.metric,
                        "run_a": row.run_a,
                        "run_b": row.run_b,
                        "difference": row.difference,
                    }
                    for row in rows
                ],
            }
        )
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(["simulation_year", "metric", f"run_{run_a}", f"run_{run_b}", "difference"])
        writer.writerows(
            [
                "" if row.year is None else row.year,
                row.metric,
                *map(_csv_number, (row.run_a, row.run_b, row.difference)),
            ]
            for row in rows
        )
        return
    table = Table(title=f"Run {run_a} vs run {run_b} (difference = {run_b} − {run_a})")
    for column in ("year", "metric", f"run {run_a}", f"run {run_b}", "difference"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    for row in rows:
        table.add_row(
            "horizon" if row.year is None else str(row.year),
            row.metric,
            format_metric(row.metric, row.run_a),
            format_metric(row.metric, row.run_b),
            format_difference(row.metric, row.difference),
        )
    stdout.print(table)


def _csv_number(value: float) -> str:
    """Exact (`repr`) in CSV; a missing figure is an empty field, as in `results --format csv`."""
    return "" if math.isnan(value) else repr(value)
