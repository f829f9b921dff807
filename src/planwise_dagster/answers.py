"""The tuning loop's answer in the Dagster UI: verdict, targets, what changed, the levers
outside their usual range, the lever path, sensitivities and robustness.

One function builds each asset's metadata, so the loop asset, the summary asset and the
store sensor (an optimization made outside Dagster) show the same keys and the same words.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from planwise.metrics import format_difference, format_metric, metric_label
from planwise.optimization import OptimizationResult, RobustnessRow, TargetRow
from planwise.optimization.report import Verdict
from planwise.parameters import parameter_spec
from planwise_dagster.metadata import (
    LevelNames,
    lever_key_label,
    markdown_list,
    markdown_table,
    numeric,
    optional_int,
)

__all__ = [
    "VERDICT_TEXT",
    "component_label",
    "loop_metadata",
    "residuals_markdown",
    "summary_metadata",
    "targets_markdown",
    "verdict_description",
]

VERDICT_TEXT = {
    Verdict.CONVERGED: "Converged",
    Verdict.CONVERGED_WITH_WARNINGS: "Converged with warnings",
    Verdict.NOT_CONVERGED: "Not converged",
}

_YEARS = {"final": "Final year", "each": "Each year", "average": "Average of the years"}


def _year(label: str) -> str:
    return _YEARS.get(label, label)


def _target_label(row: TargetRow | RobustnessRow) -> str:
    """The metric's label, and the target's own name when it differs from the metric."""
    label = metric_label(row.metric)
    return label if row.name == row.metric else f"{label} ({row.name})"


def _tolerance(metric: str, tolerance: float) -> str:
    return "±" + format_difference(metric, tolerance).lstrip("+")


def targets_markdown(result: OptimizationResult) -> str:
    """Each target: where the levers started, where the answer is, and whether it is met."""
    rows = [
        [
            _target_label(row),
            _year(row.year),
            format_metric(row.metric, row.start_value),
            format_metric(row.metric, row.final_value),
            format_metric(row.metric, row.target_value),
            _tolerance(row.metric, row.tolerance),
            "yes" if row.within_tolerance else "no",
        ]
        for row in result.target_rows
    ]
    header = ["Target", "Year", "Start", "Answer", "Target value", "Tolerance", "Within"]
    return markdown_table(header, rows)


def component_label(key: str, target: TargetRow | None = None) -> str:
    """A target component as iterations store it, in words:
    `median_merit_increase@final` → `Median merit increase, final year`."""
    name, _, year = key.partition("@")
    label = _target_label(target) if target is not None else metric_label(name)
    return f"{label}, {_year(year).lower()}" if year else label


def _component(result: OptimizationResult, key: str) -> tuple[str, str]:
    """A target component's metric and label."""
    name = key.partition("@")[0]
    row = next((row for row in result.target_rows if row.name == name), None)
    return (name if row is None else row.metric), component_label(key, row)


def residuals_markdown(result: OptimizationResult) -> str:
    """At the answer's simulation, each target component's value and how far it is from
    the target in tolerances: r = (value − target) / tolerance, met when |r| ≤ 1."""
    for record in reversed(result.iterations):
        if record.run_id is not None and record.run_id == result.best_run_id:
            rows = []
            for key, residual in record.residuals.items():
                metric, label = _component(result, key)
                rows.append(
                    [label, format_metric(metric, record.metrics.get(key)), f"{residual:+.2f}"]
                )
            return markdown_table(["Target", "Value", "In tolerances (residual)"], rows)
    return "(no stored simulation)"


def _lever_path_markdown(result: OptimizationResult, names: LevelNames) -> str:
    """Each lever (first simulated year, by level) at each full simulation, in its unit."""
    path = result.lever_path
    if not path:
        return "(none)"
    keys = list(dict.fromkeys(key for step in path for key in step if key not in _STEP_KEYS))
    header = ["Lever", *(f"#{step['iteration']} {step['kind']}" for step in path)]
    rows = [
        [lever_key_label(key, names), *(_lever_value(key, step.get(key)) for step in path)]
        for key in keys
    ]
    return markdown_table(header, rows)


_STEP_KEYS = frozenset({"iteration", "kind"})


def _lever_value(key: str, value: object) -> str:
    if not isinstance(value, float | int):
        return ""
    try:
        return parameter_spec(key.split("[", 1)[0]).format_value(float(value))
    except KeyError:
        return f"{value:.6g}"


def _sensitivities_markdown(result: OptimizationResult, names: LevelNames) -> str:
    if not result.sensitivities:
        return "(none)"
    keys = list(dict.fromkeys(key for effects in result.sensitivities.values() for key in effects))
    components = [_component(result, key) for key in keys]
    rows = [
        [
            lever_key_label(lever, names),
            *(
                format_difference(metric, effects[key], compact=True) if key in effects else ""
                for key, (metric, _) in zip(keys, components, strict=True)
            ),
        ]
        for lever, effects in result.sensitivities.items()
    ]
    table = markdown_table(["Lever +1 pp", *(label for _, label in components)], rows)
    return (
        "What raising each lever by one percentage point (0.01 on a multiplier) does to each "
        f"target, at the answer:\n\n{table}"
    )


def _robustness_markdown(result: OptimizationResult) -> str:
    rows = [
        [
            _target_label(row),
            format_metric(row.metric, row.mean),
            format_metric(row.metric, row.p10),
            format_metric(row.metric, row.p90),
            f"{row.share_within:.0%}",
            "yes" if row.spread_exceeds_tolerance else "no",
        ]
        for row in result.robustness or []
    ]
    header = ["Target", "Mean", "P10", "P90", "Seeds within tolerance", "Spread over tolerance"]
    return markdown_table(header, rows)


def verdict_description(result: OptimizationResult) -> str:
    """The verdict in plain words, the levers outside their usual range and what changed."""
    if result.verdict == Verdict.CONVERGED:
        text = "Converged: every target is within tolerance and every lever in its usual range."
    elif result.verdict == Verdict.CONVERGED_WITH_WARNINGS:
        count = len(result.lever_warnings)
        text = (
            "Converged with warnings: every target is within tolerance, but only with "
            f"{'a lever' if count == 1 else f'{count} levers'} outside the usual range. "
            + " ".join(warning.message for warning in result.lever_warnings)
        )
    else:
        text = f"Not converged ({result.stop_reason}): {result.explanation}"
    if result.change_summary:
        text += f" What changed: {result.change_summary}"
    return text


def _answer_metadata(result: OptimizationResult) -> dict[str, Any]:
    """What the loop and the summary both show: the verdict and what it rests on."""
    return {
        "optimization_id": dg.MetadataValue.int(result.optimization_id),
        # StrEnums: Dagster serializes plain values only.
        "verdict": VERDICT_TEXT[result.verdict],
        "explanation": result.explanation,
        "change_summary": result.change_summary or "(nothing moved)",
        "lever_warnings": dg.MetadataValue.md(
            markdown_list([warning.message for warning in result.lever_warnings])
        ),
        "targets": dg.MetadataValue.md(targets_markdown(result)),
        "best_parameter_set_id": optional_int(result.best_parameter_set_id),
        "applied": dg.MetadataValue.bool(result.applied),
    }


def loop_metadata(result: OptimizationResult) -> dict[str, Any]:
    """Metadata of the tuning loop's materialization."""
    return {
        **_answer_metadata(result),
        "converged": dg.MetadataValue.bool(result.converged),
        "stop_reason": str(result.stop_reason),
        "iterations": dg.MetadataValue.int(len(result.iterations)),
        "simulations": dg.MetadataValue.int(result.simulations),
        "replays": dg.MetadataValue.int(result.replays),
        "duration_seconds": numeric(round(result.duration_seconds, 3)),
        "start_parameter_set_id": dg.MetadataValue.int(result.start_parameter_set_id),
        "best_run_id": optional_int(result.best_run_id),
        "mode": str(result.mode),
        "scenario_id": result.scenario_id,
    }


def summary_metadata(result: OptimizationResult, names: LevelNames) -> dict[str, Any]:
    """Metadata of the analyst's review: the answer, the lever path, the sensitivities and,
    when it was asked for, the robustness over other seeds."""
    metadata: dict[str, Any] = {
        **_answer_metadata(result),
        "lever_path": dg.MetadataValue.md(_lever_path_markdown(result, names)),
        "sensitivities": dg.MetadataValue.md(_sensitivities_markdown(result, names)),
    }
    if result.robustness:
        metadata["robustness"] = dg.MetadataValue.md(_robustness_markdown(result))
    if result.robustness_warning:
        metadata["robustness_warning"] = result.robustness_warning
    if result.ignored_keys:
        metadata["ignored_keys"] = ", ".join(result.ignored_keys)
    return metadata
