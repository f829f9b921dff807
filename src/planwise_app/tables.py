"""Data shaping for display and download: frames out of core objects, no business rules."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from planwise.census import Census
from planwise.config import Settings
from planwise.metrics import METRICS, RunMetrics, metric_label
from planwise.parameters import PARAMETERS, ResolvedLevers

__all__ = [
    "census_by_level",
    "excel_bytes",
    "export_value",
    "frame_of",
    "horizon_sheet",
    "lever_table",
    "metric_comparison",
    "metrics_long",
    "metrics_sheet",
    "metrics_wide",
]


def frame_of(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """A frame of plain rows, typed as the store types them: whole numbers with gaps stay
    whole (nullable integers, not floats shown as `3.0`) and dates are dates."""
    return pd.DataFrame(
        {column: _typed([row[index] for row in rows]) for index, column in enumerate(columns)},
        columns=list(columns),
    )


def _typed(values: list[Any]) -> Any:
    present = [value for value in values if value is not None]
    if not present:
        return values
    if len(present) < len(values) and all(
        isinstance(value, int) and not isinstance(value, bool) for value in present
    ):
        return pd.array(values, dtype="Int64")
    if all(isinstance(value, dt.date) and not isinstance(value, dt.datetime) for value in present):
        return pd.to_datetime(pd.Series(values, dtype=object))
    return values


def census_by_level(census: Census, settings: Settings) -> pd.DataFrame:
    """Starting workforce per job level: headcount, share, pay, band, age and tenure."""
    start = census.frame[census.frame["in_starting_workforce"]]
    as_of = pd.Timestamp(census.as_of_date)
    age = (as_of - pd.to_datetime(start["birth_date"])).dt.days / 365.25
    tenure = (as_of - pd.to_datetime(start["hire_date"])).dt.days / 365.25
    rows = []
    for level in settings.job_levels:
        chosen = start["job_level"] == level.level
        salary = start.loc[chosen, "annual_salary"]
        rows.append(
            {
                "job_level": level.level,
                "name": level.name,
                "headcount": int(chosen.sum()),
                "share": float(chosen.mean()) if len(start) else math.nan,
                "average_salary": float(salary.mean()) if len(salary) else math.nan,
                "median_salary": float(salary.median()) if len(salary) else math.nan,
                "band_min": level.min_salary,
                "band_max": level.max_salary,
                "outside_band": int(
                    ((salary < level.min_salary) | (salary > level.max_salary)).sum()
                ),
                "average_age": float(age[chosen].mean()) if chosen.any() else math.nan,
                "average_tenure": float(tenure[chosen].mean()) if chosen.any() else math.nan,
            }
        )
    return pd.DataFrame(rows)


def lever_table(resolved: ResolvedLevers, level_names: Mapping[int, str]) -> pd.DataFrame:
    """Resolved levers as an analyst reads them: one row per lever and run of years with
    the same values, one column per job level (by name), values in the lever's unit
    ("3.0%", "×1.00"), the locked levels and where the values come from."""
    rows: list[dict[str, object]] = []
    for spec in PARAMETERS:
        values, locked = resolved.values[spec.name], resolved.locked[spec.name]
        sources = resolved.sources[spec.name]
        first = 0
        for row in range(1, len(resolved.years) + 1):
            same = row < len(resolved.years) and (
                (values[row] == values[first]).all() and (locked[row] == locked[first]).all()
            )
            if same:
                continue
            years = resolved.years[first], resolved.years[row - 1]
            entry: dict[str, object] = {
                "lever": spec.label,
                "years": str(years[0]) if years[0] == years[1] else f"{years[0]}–{years[1]}",
            }
            for level in resolved.levels:
                entry[level_names.get(level, f"Level {level}")] = spec.format_value(
                    float(values[first, level])
                )
            locked_levels = [
                level_names.get(level, str(level))
                for level in resolved.levels
                if locked[first:row, level].any()
            ]
            entry["locked"] = ", ".join(locked_levels) or "—"
            entry["from"] = ", ".join(
                sorted(
                    {str(sources[r, level]) for r in range(first, row) for level in resolved.levels}
                )
            )
            rows.append(entry)
            first = row
    return pd.DataFrame(rows)


def metric_comparison(
    reference: RunMetrics, candidate: RunMetrics, year: int | None = None
) -> pd.DataFrame:
    """Each §7 metric of a year (default: the final one) and the horizon, side by side."""
    chosen = reference.years[-1] if year is None else year
    span = f"{reference.years[0]}–{reference.years[-1]}"
    rows = []
    for name, spec in METRICS.items():
        if spec.per_year:
            before = reference.per_year[chosen].get(name, math.nan)
            after = candidate.per_year[chosen].get(name, math.nan)
        else:
            before = reference.horizon.get(name, math.nan)
            after = candidate.horizon.get(name, math.nan)
        rows.append(
            {
                "metric": name,
                "scope": str(chosen) if spec.per_year else span,
                "unit": spec.unit,
                "active": before,
                "edited": after,
                "difference": after - before,
                "description": spec.description,
            }
        )
    return pd.DataFrame(rows)


def metrics_wide(metrics: RunMetrics) -> pd.DataFrame:
    """Years down, §7 metrics across (the per-year metrics of a run)."""
    frame = pd.DataFrame.from_dict(metrics.per_year, orient="index").sort_index()
    frame.index.name = "simulation_year"
    ordered = [name for name, spec in METRICS.items() if spec.per_year and name in frame]
    return frame.loc[:, ordered]


_UNIT_WORDS = {
    "count": "employees",
    "currency": "USD",
    "rate": "rate (0.035 = 3.5%)",
    "ratio": "ratio",
}


def export_value(name: str, value: float | None) -> int | float | None:
    """A metric value for a file: counts as integers, money to the cent, rates and ratios
    to six decimals; missing or infinite values empty."""
    if value is None or not math.isfinite(value):
        return None
    unit = METRICS[name].unit if name in METRICS else "ratio"
    if unit == "count":
        return round(float(value))
    if unit == "currency":
        return round(value, 2)
    return round(value, 6)


def metrics_long(metrics: RunMetrics, run_id: int) -> pd.DataFrame:
    """One row per (year, metric), horizon metrics with an empty year: the CSV layout.

    Each row names the metric (its code and its label) and its unit; counts are integers
    and money is rounded to the cent."""
    rows: list[dict[str, object]] = []
    for year in metrics.years:
        for name, value in metrics.per_year[year].items():
            rows.append({"simulation_year": year, "metric": name, "value": value})
    for name, value in metrics.horizon.items():
        rows.append({"simulation_year": None, "metric": name, "value": value})
    frame = pd.DataFrame(rows)
    frame.insert(0, "run_id", run_id)
    frame["simulation_year"] = frame["simulation_year"].astype("Int64")
    frame["label"] = frame["metric"].map(metric_label)
    frame["value"] = pd.Series(
        [export_value(n, v) for n, v in zip(frame["metric"], frame["value"], strict=True)],
        dtype=object,
    )
    frame["unit"] = frame["metric"].map(
        lambda name: _UNIT_WORDS.get(METRICS[name].unit, "") if name in METRICS else ""
    )
    return frame.loc[:, ["run_id", "simulation_year", "metric", "label", "value", "unit"]]


def metrics_sheet(metrics: RunMetrics) -> pd.DataFrame:
    """The per-year metrics for a workbook: years down, metric labels across, values
    rounded as in `export_value`."""
    wide = metrics_wide(metrics)
    sheet = pd.DataFrame(
        {
            metric_label(name): [export_value(name, value) for value in wide[name]]
            for name in wide.columns
        },
        index=pd.Index(wide.index, name="Year"),
    )
    return sheet


def horizon_sheet(metrics: RunMetrics) -> pd.DataFrame:
    """The figures over the whole horizon, one row each, for a workbook."""
    return pd.DataFrame(
        {
            "metric": [metric_label(name) for name in metrics.horizon],
            "value": [export_value(name, value) for name, value in metrics.horizon.items()],
            "unit": [_UNIT_WORDS.get(METRICS[name].unit, "") for name in metrics.horizon],
        }
    )


def excel_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet per frame."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            cleaned = frame.replace([np.inf, -np.inf], np.nan)
            cleaned.to_excel(writer, sheet_name=name[:31], index=frame.index.name is not None)
    return buffer.getvalue()
