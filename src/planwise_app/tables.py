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
from planwise.metrics import METRICS, RunMetrics
from planwise.parameters import PARAMETERS, ResolvedLevers

__all__ = [
    "census_by_level",
    "excel_bytes",
    "frame_of",
    "lever_table",
    "metric_comparison",
    "metrics_long",
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


def lever_table(resolved: ResolvedLevers, year: int | None = None) -> pd.DataFrame:
    """Resolved levers: one row per (parameter, year), one column per job level.

    Columns `locked` and `source` summarize the row (any locked level; the sources used).
    """
    frame = pd.DataFrame(resolved.rows())
    if year is not None:
        frame = frame[frame["fiscal_year"] == year]
    values = frame.pivot_table(
        index=["parameter_name", "fiscal_year"],
        columns="job_level",
        values="parameter_value",
        aggfunc="first",
    )
    values.columns = [f"level {level}" for level in values.columns]
    grouped = frame.groupby(["parameter_name", "fiscal_year"])
    values["locked"] = grouped["is_locked"].any()
    values["source"] = grouped["source"].agg(lambda s: ", ".join(sorted(set(s))))
    order = {spec.name: position for position, spec in enumerate(PARAMETERS)}
    values = values.reset_index()
    values["_order"] = values["parameter_name"].map(order)
    return values.sort_values(["_order", "fiscal_year"]).drop(columns="_order")


def metric_comparison(
    reference: RunMetrics, candidate: RunMetrics, year: int | None = None
) -> pd.DataFrame:
    """Each §7 metric of a year (default: the final one) and the horizon, side by side."""
    chosen = reference.years[-1] if year is None else year
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
                "scope": str(chosen) if spec.per_year else "horizon",
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


def metrics_long(metrics: RunMetrics, run_id: int) -> pd.DataFrame:
    """One row per (year, metric), horizon metrics with an empty year: the CSV layout."""
    rows: list[dict[str, object]] = []
    for year in metrics.years:
        for name, value in metrics.per_year[year].items():
            rows.append({"run_id": run_id, "simulation_year": year, "metric": name, "value": value})
    for name, value in metrics.horizon.items():
        rows.append({"run_id": run_id, "simulation_year": None, "metric": name, "value": value})
    frame = pd.DataFrame(rows)
    frame["unit"] = frame["metric"].map(lambda name: METRICS[name].unit if name in METRICS else "")
    return frame


def excel_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx workbook (openpyxl) with one sheet per frame."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            cleaned = frame.replace([np.inf, -np.inf], np.nan)
            cleaned.to_excel(writer, sheet_name=name[:31], index=frame.index.name is not None)
    return buffer.getvalue()
