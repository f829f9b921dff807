"""Shaping for the Auto-Optimize tab: the targets mapping from the controls, and frames
out of an optimization result (`OptimizationResult.to_dict()` or its stored report).

No optimization logic here: `planwise.optimization` validates, solves and reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from planwise.metrics import METRICS, format_metric
from planwise.optimization import Target, Targets

__all__ = [
    "EDITOR_COLUMNS",
    "GROWTH_METRICS",
    "GrowthTarget",
    "StartingPoint",
    "iteration_frame",
    "lever_path_frame",
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
    priority: str = "high"

    def entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "metric": self.metric,
            "target_value": self.target_percent / 100.0,
            "tolerance": self.tolerance_points / 100.0,
            "priority": self.priority,
        }
        if METRICS[self.metric].per_year:
            entry["year"] = "final"
        return entry


GROWTH_METRICS = tuple(
    name for name, spec in METRICS.items() if spec.unit == "rate" and "growth" in name
)
DEFAULT_GROWTH = GrowthTarget("compensation_growth_cagr", 4.0, 0.05, "high")


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
    mode: str = "balanced"
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
            "priority": target.priority,
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
