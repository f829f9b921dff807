"""Shaping for the Auto-Optimize and History tabs: the targets mapping from the controls,
and frames out of an optimization result, of stored optimizations and of their
iterations — in the words and units an analyst reads.

No optimization logic here: `planwise.application` runs the loop and `planwise.optimization`
validates, solves and reports.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from planwise.application import OptimizationRecord, lever_key_label, plain_word
from planwise.metrics import METRICS, format_difference, format_metric, metric_label
from planwise.optimization import (
    IterationRecord,
    Mode,
    OptimizationResult,
    Priority,
    RobustnessRow,
    Target,
    Targets,
)
from planwise.parameters import PARAMETERS

__all__ = [
    "DEFAULT_GROWTH",
    "EDITOR_COLUMNS",
    "GROWTH_METRICS",
    "GrowthTarget",
    "StartingPoint",
    "display_value",
    "editor_frame",
    "iteration_config",
    "iteration_frame",
    "lever_path_frame",
    "metric_of",
    "optimization_frame",
    "residual_frame",
    "robustness_frame",
    "sensitivity_frame",
    "starting_point",
    "target_frame",
    "target_label",
    "targets_frame",
    "targets_mapping",
    "typed_rows",
    "year_words",
]

EDITOR_COLUMNS = ("metric", "target_value", "tolerance", "priority", "year", "unit")
"""The multi-target editor's columns: values in the metric's unit as an analyst types it
(rates in %, tolerances of rates in pp, money in $), and that unit (read only)."""
YEAR_WORDS = ("final", "each", "average")


def _shown_factor(metric: str) -> float:
    """Rates are typed and shown in percent (tolerances in pp); other units as they are."""
    return 100.0 if METRICS[metric].unit == "rate" else 1.0


def _unit_word(metric: str) -> str:
    return {"rate": "% (± pp)", "currency": "$", "count": "employees", "ratio": "ratio"}.get(
        METRICS[metric].unit, ""
    )


@dataclass(frozen=True)
class GrowthTarget:
    """The reference story's single control: a growth metric, a target % and a tolerance."""

    metric: str
    target_percent: float
    tolerance_points: float
    priority: Priority = Priority.HIGH

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "metric": self.metric,
            "target_value": round(self.target_percent / 100.0, 12),
            "tolerance": round(self.tolerance_points / 100.0, 12),
            "priority": str(self.priority),
        }
        if METRICS[self.metric].per_year:
            entry["year"] = "final"
        return entry


GROWTH_METRICS = tuple(
    name for name, spec in METRICS.items() if spec.unit == "rate" and "growth" in name
)
DEFAULT_GROWTH = GrowthTarget("compensation_growth_cagr", 4.0, 0.05, Priority.HIGH)


@dataclass(frozen=True)
class StartingPoint:
    """What the form starts from: an optimization's targets, the workspace's targets.yaml,
    or the defaults without one.

    The first growth target fills the growth controls; the other targets are the editor's
    rows (in display units); the `optimization:` block (levers, bounds, …) is kept as the
    base.
    """

    growth: GrowthTarget | None
    rows: pd.DataFrame
    options: dict[str, Any]
    max_iterations: int = 10
    mode: Mode = Mode.BALANCED
    robustness_seeds: int = 0

    def mapping(self) -> dict[str, Any]:
        """The targets mapping of the untouched form."""
        return targets_mapping(
            self.growth,
            self.rows,
            options=self.options,
            max_iterations=self.max_iterations,
            mode=str(self.mode),
            robustness_seeds=self.robustness_seeds,
        )


def starting_point(targets: Targets | None) -> StartingPoint:
    if targets is None:
        return StartingPoint(DEFAULT_GROWTH, editor_frame([]), {}, robustness_seeds=3)
    growth: GrowthTarget | None = None
    others = []
    for target in targets.targets:
        if growth is None and target.metric in GROWTH_METRICS:
            growth = GrowthTarget(
                target.metric,
                round(target.target_value * 100, 10),
                round(target.tolerance * 100, 10),
                target.priority,
            )
        else:
            others.append(target)
    options = dict(targets.source.get("optimization") or {})
    return StartingPoint(
        growth,
        editor_frame(others),
        options,
        max_iterations=targets.max_iterations,
        mode=targets.mode,
        robustness_seeds=targets.robustness_seeds,
    )


def editor_frame(targets: Sequence[Target]) -> pd.DataFrame:
    """The multi-target editor's rows, values in display units."""
    rows = [
        {
            "metric": target.metric,
            "target_value": round(target.target_value * _shown_factor(target.metric), 10),
            "tolerance": round(target.tolerance * _shown_factor(target.metric), 10),
            "priority": str(target.priority),
            "year": str(target.year),
            "unit": _unit_word(target.metric),
        }
        for target in targets
    ]
    return typed_rows(pd.DataFrame(rows, columns=list(EDITOR_COLUMNS)))


def typed_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Editor rows with the editor's column types, their unit column filled in."""
    frame = frame.reindex(columns=list(EDITOR_COLUMNS))
    frame["unit"] = [
        _unit_word(str(metric)) if str(metric) in METRICS else "" for metric in frame["metric"]
    ]
    numbers = {"target_value": "float64", "tolerance": "float64"}
    return frame.astype(
        {"metric": "object", "priority": "object", "year": "object", "unit": "object", **numbers}
    )


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _year(value: object) -> str | int:
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def targets_mapping(
    growth: GrowthTarget | None,
    rows: pd.DataFrame,
    *,
    options: Mapping[str, Any],
    max_iterations: int,
    mode: str,
    robustness_seeds: int,
) -> dict[str, Any]:
    """The targets file's mapping (tuning-loop.md) for `load_targets`, which validates it.

    Editor rows hold values in display units (rates in %, their tolerances in pp) and
    become the file's units here. Rows without a metric are skipped; a blank tolerance
    takes the default relative one; repeated metrics get a numbered name so each stays a
    separate target.
    """
    entries: dict[str, dict[str, Any]] = {}

    def add(entry: dict[str, Any]) -> None:
        name = str(entry["metric"])
        number = 2
        while name in entries:
            name = f"{entry['metric']}_{number}"
            number += 1
        entries[name] = entry

    if growth is not None:
        add(growth.entry())
    for row in rows.to_dict("records"):
        if _blank(row.get("metric")):
            continue
        metric = str(row["metric"])
        factor = _shown_factor(metric) if metric in METRICS else 1.0
        entry: dict[str, Any] = {"metric": metric}
        entry["target_value"] = (
            None
            if _blank(row.get("target_value"))
            else round(float(row["target_value"]) / factor, 12)
        )
        if not _blank(row.get("tolerance")):
            entry["tolerance"] = round(float(row["tolerance"]) / factor, 12)
        if not _blank(row.get("priority")):
            entry["priority"] = str(row["priority"])
        if not _blank(row.get("year")):
            entry["year"] = _year(row["year"])
        add(entry)
    return {
        "optimization": {
            **options,
            "max_iterations": max_iterations,
            "mode": mode,
            "robustness_seeds": robustness_seeds,
        },
        "targets": entries,
    }


# --- words for targets, levers and values ------------------------------------------------


def target_label(metric: str, year: object = None, name: str | None = None) -> str:
    """A target as an analyst reads it: the metric's label, a number for a repeated
    metric (`median_merit_increase_2` → "#2"), another name the file gave it, and the year
    when it is not the final one."""
    label = metric_label(metric)
    if name is not None and name != metric:
        number = name.removeprefix(f"{metric}_")
        label += f" #{number}" if number.isdigit() else f" ({name})"
    shown = "" if year in (None, "", "final", "horizon", "None") else f" · {year}"
    return f"{label}{shown}"


def year_words(year: object) -> str:
    """A target's year as words: "final year", "each year", "average of the years", 2027."""
    return {"final": "final year", "each": "each year", "average": "average of the years"}.get(
        str(year), str(year)
    )


def display_value(metric: str, value: float | None) -> str:
    return format_metric(metric, value, digits=3)


def _component_label(key: str, metric_of: Mapping[str, str]) -> str:
    """An iteration's `target@year` key in words."""
    name, _, year = key.partition("@")
    metric = metric_of.get(name, name)
    if metric not in METRICS:
        return key
    return target_label(metric, year)


def target_frame(result: OptimizationResult) -> pd.DataFrame:
    """The per-target table: start, final, target, ± tolerance (in the metric's unit)."""
    rows = []
    for row in result.target_rows:
        rows.append(
            {
                "target": target_label(row.metric, None, row.name),
                "year": year_words(row.year) if METRICS[row.metric].per_year else "all years",
                "start": display_value(row.metric, row.start_value),
                "final": display_value(row.metric, row.final_value),
                "target value": display_value(row.metric, row.target_value),
                "tolerance": "±" + _tolerance_text(row.metric, row.tolerance),
                "within tolerance": "yes" if row.within_tolerance else "no",
            }
        )
    return pd.DataFrame(rows)


def _tolerance_text(metric: str, tolerance: float) -> str:
    if METRICS[metric].unit == "rate":
        return f"{tolerance * 100:.3f} pp"
    return display_value(metric, tolerance)


def targets_frame(targets: Targets) -> pd.DataFrame:
    """What an optimization was asked, one row per target."""
    return pd.DataFrame(
        [
            {
                "target": target_label(target.metric, None, target.name),
                "year": year_words(target.year) if METRICS[target.metric].per_year else "all years",
                "target value": display_value(target.metric, target.target_value),
                "tolerance": "±" + _tolerance_text(target.metric, target.tolerance),
                "priority": plain_word(target.priority),
            }
            for target in targets.targets
        ]
    )


def metric_of(result: OptimizationResult | Targets) -> dict[str, str]:
    """Target name → its metric."""
    if isinstance(result, Targets):
        return {target.name: target.metric for target in result.targets}
    return {row.name: row.metric for row in result.target_rows}


def sensitivity_frame(result: OptimizationResult, level_names: Mapping[int, str]) -> pd.DataFrame:
    """Levers down, targets across: the effect of +1 percentage point of each lever (+0.01
    of a multiplier) on each target's metric, in the metric's unit (rates in pp)."""
    metrics = metric_of(result)
    table: dict[str, dict[str, str]] = {}
    for lever, effects in result.sensitivities.items():
        row: dict[str, str] = {}
        for key, effect in effects.items():
            name = key.partition("@")[0]
            metric = metrics.get(name, name)
            label = _component_label(key, metrics)
            row[label] = (
                format_difference(metric, effect) if metric in METRICS else f"{effect:+.4g}"
            )
        table[lever_key_label(lever, level_names)] = row
    frame = pd.DataFrame.from_dict(table, orient="index")
    frame.index.name = "lever (+1 pp)"
    return frame


def robustness_frame(rows: Sequence[RobustnessRow] | None) -> pd.DataFrame:
    """Mean, P10–P90 and the share of other seeds within tolerance, per target."""
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(
        [
            {
                "target": target_label(row.metric, None, row.name),
                "mean": display_value(row.metric, row.mean),
                "P10": display_value(row.metric, row.p10),
                "P90": display_value(row.metric, row.p90),
                "share of seeds within": f"{row.share_within * 100:.0f}%",
                "spread wider than tolerance": "yes" if row.spread_exceeds_tolerance else "no",
            }
            for row in rows
        ]
    )


# --- iterations ----------------------------------------------------------------------------


def iteration_frame(iterations: Sequence[IterationRecord]) -> pd.DataFrame:
    """One row per iteration: kind, within tolerance, the largest miss in tolerances, each
    target's miss (`miss <key>` columns, labelled by `iteration_config`), set and run."""
    rows = []
    for record in iterations:
        residuals = record.residuals or {}
        finite = [abs(v) for v in residuals.values() if v is not None and math.isfinite(v)]
        rows.append(
            {
                "iteration": record.iteration,
                "kind": str(record.kind),
                "within_tolerance": bool(record.within_tolerance),
                "max_abs_residual": max(finite) if finite else math.nan,
                **{f"miss {key}": value for key, value in residuals.items()},
                "parameter_set_id": record.parameter_set_id,
                "run_id": record.run_id,
                "error": record.error,
            }
        )
    return pd.DataFrame(rows)


def iteration_config(frame: pd.DataFrame, metric_names: Mapping[str, str]) -> dict[str, Any]:
    """Column labels and formats for `iteration_frame` (codes stay in the data)."""
    config: dict[str, Any] = {
        "iteration": st.column_config.NumberColumn("Iteration", format="%d"),
        "kind": st.column_config.SelectboxColumn(
            "Kind",
            options=sorted(set(frame.get("kind", []))),
            format_func=plain_word,
            width="medium",
        ),
        "within_tolerance": st.column_config.CheckboxColumn("Every target met"),
        "max_abs_residual": st.column_config.NumberColumn(
            "Largest miss (tolerances)", format="%.2f"
        ),
        "parameter_set_id": st.column_config.NumberColumn("Parameter set", format="%d"),
        "run_id": st.column_config.NumberColumn("Run", format="%d"),
        "error": "Error",
    }
    for column in frame.columns:
        if str(column).startswith("miss "):
            label = _component_label(str(column).removeprefix("miss "), metric_names)
            config[column] = st.column_config.NumberColumn(
                f"Miss: {label} (tolerances)", format="%+.2f"
            )
    return config


def residual_frame(
    iterations: Sequence[IterationRecord], metric_names: Mapping[str, str]
) -> pd.DataFrame:
    """Long frame for the convergence chart: (iteration, kind, target, residual)."""
    rows = [
        {
            "iteration": record.iteration,
            "kind": plain_word(record.kind),
            "target": _component_label(key, metric_names),
            "residual": value,
        }
        for record in iterations
        for key, value in (record.residuals or {}).items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["iteration", "kind", "target", "residual"])


_SPECS = {spec.name: spec for spec in PARAMETERS}


def lever_path_frame(
    iterations: Sequence[IterationRecord], level_names: Mapping[int, str]
) -> pd.DataFrame:
    """Long frame of lever values per full simulation: (iteration, kind, family, lever,
    value), rates in percent, multipliers as factors; `family` is the lever's label with
    its unit."""
    rows = []
    for record in iterations:
        if not record.is_simulation:
            continue
        for key, value in record.levers.items():
            name = str(key).split("[", 1)[0]
            spec = _SPECS.get(name)
            rate = spec is None or spec.unit == "rate"
            rows.append(
                {
                    "iteration": record.iteration,
                    "kind": plain_word(record.kind),
                    "family": f"{spec.label if spec else name} ({'%' if rate else '×'})",
                    "lever": lever_key_label(str(key), level_names),
                    "value": value * 100 if rate else value,
                }
            )
    return pd.DataFrame(rows, columns=["iteration", "kind", "family", "lever", "value"])


# --- stored optimizations ------------------------------------------------------------------


def optimization_frame(records: Sequence[OptimizationRecord]) -> pd.DataFrame:
    """Stored optimizations, one row each: what was asked and how far it got."""
    rows = [
        {
            "Optimization": record.optimization_id,
            "Scenario": record.scenario_id,
            "Status": plain_word(record.status),
            "Mode": plain_word(record.mode),
            "Iterations": record.iterations,
            "Full simulations": record.simulations,
            "Pay replays": record.replays,
            "Start set": record.start_parameter_set_id,
            "Best set": ""
            if record.best_parameter_set_id is None
            else str(record.best_parameter_set_id),
            "Stopped because": plain_word(record.stop_reason) if record.stop_reason else "",
            "Started": _minute(record.started_at),
            "Finished": _minute(record.finished_at),
        }
        for record in records
    ]
    return pd.DataFrame(rows)


def _minute(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.isoformat(sep=" ", timespec="minutes")
