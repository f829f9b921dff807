"""Rendering stored run metrics: one run, or two side by side, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from planwise.cli._common import (
    difference_text,
    emit_json,
    metric_text,
    metrics_tables,
    new_table,
    print_tables,
)

if TYPE_CHECKING:
    from rich.table import Table

    from planwise.application import ComparisonRow, RunComparison, RunResults

__all__ = ["CSV_HELP", "csv_number", "render_comparison", "render_results"]

CSV_HELP = (
    "In CSV, counts are whole numbers, money is rounded to the cent and rates and ratios keep "
    "full precision (0.0345 is 3.45%); a missing figure is an empty field."
)


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
                writer.writerow([run_id, year, name, csv_number(name, value)])
        for name, value in metrics.horizon.items():
            writer.writerow([run_id, "", name, csv_number(name, value)])
    else:
        title = (
            f"Run {run_id} · scenario {record.scenario_id} · parameter set "
            f"{record.parameter_set_id} · seed {record.seed}"
        )
        print_tables(metrics_tables(metrics, title))


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
                *(csv_number(row.metric, value) for value in (row.run_a, row.run_b)),
                csv_number(row.metric, row.difference),
            ]
            for row in rows
        )
        return
    yearly = [row for row in rows if row.year is not None]
    horizon = [row for row in rows if row.year is None]
    tables = [
        _comparison_table(
            yearly, run_a, run_b, f"Run {run_a} vs run {run_b} (difference = {run_b} − {run_a})"
        )
    ]
    if horizon:
        tables.append(_comparison_table(horizon, run_a, run_b, "Over the horizon"))
    print_tables(tables)


def _comparison_table(rows: Sequence[ComparisonRow], run_a: int, run_b: int, title: str) -> Table:
    from planwise.metrics import metric_label

    table = new_table(title)
    with_years = any(row.year is not None for row in rows)
    if with_years:
        table.add_column("Year", no_wrap=True)
    table.add_column("Metric", no_wrap=True)
    for header in (f"Run {run_a}", f"Run {run_b}", "Difference"):
        table.add_column(header, justify="right", no_wrap=True)
    for position, row in enumerate(rows):
        following = rows[position + 1] if position + 1 < len(rows) else None
        first_of_year = position == 0 or rows[position - 1].year != row.year
        cells = [
            metric_label(row.metric),
            metric_text(row.metric, row.run_a),
            metric_text(row.metric, row.run_b),
            difference_text(row.metric, row.difference),
        ]
        if with_years:
            cells.insert(0, str(row.year) if first_of_year else "")
        table.add_row(*cells, end_section=following is not None and following.year != row.year)
    return table


def csv_number(metric: str, value: float) -> str:
    """A figure for CSV: counts whole, money to the cent, rates and ratios exact (`repr`);
    a missing figure is an empty field.

    >>> csv_number("headcount", 10300.0), csv_number("average_salary", 117804.123456)
    ('10300', '117804.12')
    """
    from planwise.metrics import METRICS

    if not math.isfinite(value):
        return ""
    unit = METRICS[metric].unit if metric in METRICS else "ratio"
    if unit == "count" and float(value).is_integer():
        return str(int(value))
    if unit == "currency":
        cents = f"{value:.2f}"
        return "0.00" if cents == "-0.00" else cents
    return repr(float(value))
