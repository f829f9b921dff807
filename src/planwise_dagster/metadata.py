"""Materialization metadata: the figures the core computed, laid out for the Dagster UI.

Each asset's metadata is built by one function here, so a materialization the asset writes
and one the store sensor reports for work done outside Dagster (planwise_dagster.sensors)
carry the same keys. Keys stay snake_case (they are keys); the tables a person reads use
the labels, units and formats declared in the core (planwise.metrics, the lever
declarations) and job levels by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg
from planwise.application import LeverView
from planwise.config import Settings
from planwise.metrics import METRICS, RunMetrics, format_metric, metric_label
from planwise.parameters import PARAMETERS, ResolvedLevers, parameter_spec

if TYPE_CHECKING:
    from planwise.census import Census

__all__ = [
    "LevelNames",
    "census_metadata",
    "level_names",
    "lever_key_label",
    "lever_table_markdown",
    "levers_metadata",
    "markdown_list",
    "markdown_table",
    "metrics_markdown",
    "numeric",
    "optional_int",
    "run_metadata",
    "year_span",
]

LevelNames = Mapping[int, str]
"""Job level number → its name in planwise.yaml (Staff … VP)."""

_HEADLINE = ("headcount", "total_compensation_cost", "average_salary", "median_merit_increase")
_LOCKED = " 🔒"
_LEVER_KEY = re.compile(r"^(?P<name>\w+)\[L(?P<level>\d+)\]$")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows)
    return "\n".join(lines)


def markdown_list(items: Sequence[str], empty: str = "none") -> str:
    return "\n".join(f"- {item}" for item in items) if items else empty


def numeric(value: float | None) -> dg.MetadataValue[Any]:
    """A float for the UI's metadata plots; NaN and ±inf become null (JSON has no NaN)."""
    if value is None or not math.isfinite(value):
        return dg.MetadataValue.null()
    return dg.MetadataValue.float(float(value))


def optional_int(value: int | None) -> dg.MetadataValue[Any]:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.int(value)


def level_names(settings: Settings) -> dict[int, str]:
    return {level.level: level.name for level in settings.job_levels}


def _level(level: int, names: LevelNames) -> str:
    return names.get(level, f"Level {level}")


def lever_key_label(key: str, names: LevelNames) -> str:
    """A lever as the optimizer names it, in words: `merit_base[L2]` → `Merit · Manager`,
    `cola_rate` (moved at every level in proportion) → `COLA`."""
    match = _LEVER_KEY.match(key)
    name, level = (match["name"], int(match["level"])) if match else (key, None)
    try:
        label = parameter_spec(name).label
    except KeyError:
        return key
    return label if level is None else f"{label} · {_level(level, names)}"


def year_span(first: int, last: int) -> str:
    """`2025–2029`, or `2025` for one year (the `years` of a run's metadata)."""
    return str(first) if first == last else f"{first}–{last}"


def _span(years: Sequence[int]) -> str:
    return year_span(years[0], years[-1])


def metrics_markdown(metrics: RunMetrics) -> str:
    """Metrics down, years across, in their units; the horizon figures in a table of their
    own (they belong to no single year)."""
    years = metrics.years
    rows = [
        [spec.label, *(format_metric(name, metrics.per_year[year].get(name)) for year in years)]
        for name, spec in METRICS.items()
        if spec.per_year
    ]
    table = markdown_table(["Metric", *(str(year) for year in years)], rows)
    if not metrics.horizon:
        return table
    horizon = [
        [metric_label(name), format_metric(name, value)] for name, value in metrics.horizon.items()
    ]
    return f"{table}\n\n{markdown_table(['Over the horizon', _span(years)], horizon)}"


def lever_table_markdown(resolved: ResolvedLevers, names: LevelNames) -> str:
    """Each lever by job level, one row per run of years with the same values; locked
    values marked 🔒."""
    rows: list[list[object]] = []
    for spec in PARAMETERS:
        values, locked = resolved.values[spec.name], resolved.locked[spec.name]
        cells_by_year = [
            tuple(
                spec.format_value(float(values[row, level]))
                + (_LOCKED if locked[row, level] else "")
                for level in resolved.levels
            )
            for row in range(len(resolved.years))
        ]
        start = 0
        for row in range(1, len(resolved.years) + 1):
            if row == len(resolved.years) or cells_by_year[row] != cells_by_year[start]:
                rows.append([spec.label, _span(resolved.years[start:row]), *cells_by_year[start]])
                start = row
    header = ["Lever", "Years", *(_level(level, names) for level in resolved.levels)]
    return markdown_table(header, rows)


def run_metadata(
    run_id: int,
    scenario_id: str,
    parameter_set_id: int,
    seed: int,
    metrics: RunMetrics,
    seconds: float | None = None,
) -> dict[str, Any]:
    """Metadata of a stored simulation run: ids, the metrics table, the final-year headline
    and the horizon figures (numbers, for the UI's plots); `seconds` when it was timed."""
    final = metrics.per_year[metrics.years[-1]]
    figures = {name: final[name] for name in _HEADLINE if name in final}
    metadata: dict[str, Any] = {
        "run_id": dg.MetadataValue.int(run_id),
        "scenario_id": scenario_id,
        "parameter_set_id": dg.MetadataValue.int(parameter_set_id),
        "seed": dg.MetadataValue.int(seed),
        "years": _span(metrics.years),
        "metrics": dg.MetadataValue.md(metrics_markdown(metrics)),
        **{f"final_{name}": numeric(value) for name, value in figures.items()},
        **{name: numeric(value) for name, value in metrics.horizon.items()},
    }
    if seconds is not None:
        metadata["seconds"] = dg.MetadataValue.float(round(seconds, 3))
    return metadata


def census_metadata(census: Census) -> dict[str, Any]:
    """Metadata of the active census: which one, its rows, its starting headcount."""
    return {
        "census_id": census.census_id,
        "row_count": dg.MetadataValue.int(len(census)),
        "starting_headcount": dg.MetadataValue.int(census.starting_headcount),
        "as_of_date": census.as_of_date.isoformat(),
    }


def levers_metadata(view: LeverView, names: LevelNames) -> dict[str, Any]:
    """Metadata of a scenario's parameter set: where it came from, who applied it and when,
    its values by level, and the values outside their usual range."""
    record = view.record
    activated = record.activated_at
    return {
        "parameter_set_id": dg.MetadataValue.int(view.parameter_set_id),
        "scenario_id": view.scenario_id,
        "source": str(record.source),
        "created_by": record.created_by,
        "note": record.note or "",
        "activated_at": "" if activated is None else f"{activated:%Y-%m-%d %H:%M} UTC",
        "activated_by": record.activated_by or "",
        "locked_values": dg.MetadataValue.int(sum(lever.is_locked for lever in view.lever_set)),
        "levers": dg.MetadataValue.md(lever_table_markdown(view.resolved, names)),
        "range_warnings": dg.MetadataValue.md(
            markdown_list([warning.message for warning in view.range_warnings])
        ),
    }
