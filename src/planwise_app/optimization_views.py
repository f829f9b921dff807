"""Shaping for the Auto-Optimize and History tabs: the targets mapping from the controls,
and frames out of an optimization result (`OptimizationResult.to_dict()` or its stored
report), of stored optimizations and of their iterations.

No optimization logic here: `planwise.application` runs the loop and `planwise.optimization`
validates, solves and reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from planwise.application import OptimizationRecord
from planwise.metrics import METRICS, format_metric
from planwise.optimization import IterationRecord, Mode, Priority, Target, Targets
from planwise_app.tables import frame_of

__all__ = [
    "EDITOR_COLUMNS",
    "GROWTH_METRICS",
    "GrowthTarget",
    "StartingPoint",
    "iteration_dict",
    "iteration_frame",
    "iteration_table",
    "lever_path_frame",
    "optimization_frame",
    "residual_frame",
    "robustness_frame",
    "sensitivity_frame",
    "starting_point",
    "target_frame",
    "targets_mapping",
]

EDITOR_COLUMNS = ("metric", "target_value", "tolerance", "priority", "year")
YEAR_WORDS = ("final", "each", "average")


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
            "target_value": self.target_percent / 100.0,
            "tolerance": self.tolerance_points / 100.0,
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
    """What the tab starts from: the workspace's targets.yaml, or the defaults without one.

    The file's first growth target fills the growth controls; its other targets are the
    editor's rows; its `optimization:` block (levers, bounds, …) is kept as the base.
    """

    growth: GrowthTarget | None
    rows: pd.DataFrame
    options: dict[str, Any]
    max_iterations: int = 10
    mode: Mode = Mode.BALANCED
    robustness_seeds: int = 0


def starting_point(targets: Targets | None) -> StartingPoint:
    if targets is None:
        return StartingPoint(DEFAULT_GROWTH, _editor_frame([]), {}, robustness_seeds=3)
    growth: GrowthTarget | None = None
    others = []
    for target in targets.targets:
        if growth is None and target.metric in GROWTH_METRICS:
            growth = GrowthTarget(
                target.metric, target.target_value * 100, target.tolerance * 100, target.priority
            )
        else:
            others.append(target)
    options = dict(targets.source.get("optimization") or {})
    return StartingPoint(
        growth,
        _editor_frame(others),
        options,
        max_iterations=targets.max_iterations,
        mode=targets.mode,
        robustness_seeds=targets.robustness_seeds,
    )


def _editor_frame(targets: Sequence[Target]) -> pd.DataFrame:
    """The multi-target editor's rows."""
    rows = [
        {
            "metric": target.metric,
            "target_value": target.target_value,
            "tolerance": target.tolerance,
            "priority": str(target.priority),
            "year": str(target.year),
        }
        for target in targets
    ]
    frame = pd.DataFrame(rows, columns=list(EDITOR_COLUMNS))
    numbers = {"target_value": "float64", "tolerance": "float64"}
    return frame.astype({"metric": "object", "priority": "object", "year": "object", **numbers})


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

    Editor rows without a metric are skipped; a blank tolerance takes the default relative
    one; repeated metrics get a numbered name so each stays a separate target.
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
        entry: dict[str, Any] = {"metric": str(row["metric"])}
        entry["target_value"] = None if _blank(row.get("target_value")) else row["target_value"]
        if not _blank(row.get("tolerance")):
            entry["tolerance"] = float(row["tolerance"])
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


def iteration_frame(iterations: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per iteration: kind, within tolerance, the largest |residual|, each residual."""
    rows = []
    for record in iterations:
        residuals: Mapping[str, float | None] = record.get("residuals") or {}
        finite = [abs(v) for v in residuals.values() if v is not None and math.isfinite(v)]
        rows.append(
            {
                "iteration": record["iteration"],
                "kind": record["kind"],
                "within_tolerance": bool(record.get("within_tolerance")),
                "max_abs_residual": max(finite) if finite else math.nan,
                **{f"r {key}": value for key, value in residuals.items()},
                "parameter_set_id": record.get("parameter_set_id"),
                "run_id": record.get("run_id"),
                "error": record.get("error"),
            }
        )
    return pd.DataFrame(rows)


def residual_frame(iterations: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Long frame for the convergence chart: (iteration, kind, target, residual)."""
    rows = [
        {"iteration": record["iteration"], "kind": record["kind"], "target": key, "residual": value}
        for record in iterations
        for key, value in (record.get("residuals") or {}).items()
        if value is not None
    ]
    return pd.DataFrame(rows, columns=["iteration", "kind", "target", "residual"])


def lever_path_frame(lever_path: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Long frame of lever values per full simulation: (iteration, kind, family, lever, value).

    `family` is the lever's name without its level (`merit_base[L1]` → `merit_base`).
    """
    rows = [
        {
            "iteration": step["iteration"],
            "kind": step["kind"],
            "family": str(key).split("[", 1)[0],
            "lever": key,
            "value": value,
        }
        for step in lever_path
        for key, value in step.items()
        if key not in ("iteration", "kind")
    ]
    return pd.DataFrame(rows, columns=["iteration", "kind", "family", "lever", "value"])


def _metric_text(metric: str, value: float | None) -> str:
    return format_metric(metric, value, digits=3)


def target_frame(target_rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The per-target table: start, final, target, ± tolerance (in the metric's unit)."""
    rows = []
    for row in target_rows:
        metric = str(row["metric"])
        rows.append(
            {
                "target": row["name"],
                "metric": metric,
                "year": row["year"],
                "start": _metric_text(metric, row["start_value"]),
                "final": _metric_text(metric, row["final_value"]),
                "target value": _metric_text(metric, row["target_value"]),
                "tolerance": "±" + _metric_text(metric, row["tolerance"]),
                "within tolerance": "yes" if row["within_tolerance"] else "no",
            }
        )
    return pd.DataFrame(rows)


def sensitivity_frame(sensitivities: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Levers down, target metrics across: the effect of +1 percentage point of each lever."""
    frame = pd.DataFrame.from_dict(dict(sensitivities), orient="index")
    frame.index.name = "lever (+1 pp)"
    return frame


def robustness_frame(robustness: Sequence[Mapping[str, Any]] | None) -> pd.DataFrame:
    """Mean, P10–P90 and the share of other seeds within tolerance, per target."""
    if not robustness:
        return pd.DataFrame()
    rows = []
    for row in robustness:
        metric = str(row["metric"])
        rows.append(
            {
                "target": row["name"],
                "metric": metric,
                "mean": _metric_text(metric, row["mean"]),
                "P10": _metric_text(metric, row["p10"]),
                "P90": _metric_text(metric, row["p90"]),
                "share of seeds within": f"{row['share_within'] * 100:.0f}%",
                "spread wider than tolerance": "yes" if row["spread_exceeds_tolerance"] else "no",
            }
        )
    return pd.DataFrame(rows)


def iteration_dict(record: IterationRecord) -> dict[str, Any]:
    """An iteration in the shape of a report's `iterations` entries (what the frames read)."""
    return {
        "iteration": record.iteration,
        "kind": str(record.kind),
        "parameter_set_id": record.parameter_set_id,
        "run_id": record.run_id,
        "levers": record.levers,
        "metrics": record.metrics,
        "residuals": record.residuals,
        "within_tolerance": record.within_tolerance,
        "error": record.error,
    }


_SPREAD = ("metrics", "residuals", "levers")


def iteration_table(records: Sequence[IterationRecord]) -> pd.DataFrame:
    """Stored iterations, one row each, their metrics, residuals and levers spread into
    `metrics.<key>`, `residuals.<key>` and `levers.<key>` columns (for display)."""
    rows = [iteration_dict(record) for record in records]
    columns = ("iteration", "kind", "parameter_set_id", "run_id", "within_tolerance", "error")
    base = frame_of(columns, [[row[column] for column in columns] for row in rows])
    spread = [
        pd.DataFrame([row[column] for row in rows], index=base.index).add_prefix(f"{column}.")
        for column in _SPREAD
    ]
    return pd.concat([base, *spread], axis=1)


_OPTIMIZATION_COLUMNS = (
    "optimization_id",
    "scenario_id",
    "status",
    "mode",
    "converged",
    "iterations",
    "simulations",
    "replays",
    "start_parameter_set_id",
    "best_parameter_set_id",
    "stop_reason",
    "started_at",
    "finished_at",
)


def optimization_frame(records: Sequence[OptimizationRecord]) -> pd.DataFrame:
    """Stored optimizations, one row each: what was asked and how far it got."""
    rows = [
        [
            str(value) if isinstance(value, StrEnum) else value
            for value in (getattr(record, column) for column in _OPTIMIZATION_COLUMNS)
        ]
        for record in records
    ]
    return frame_of(_OPTIMIZATION_COLUMNS, rows)
