"""The answer in plain words: each target at the start and at the answer, what moved against
the start, and which lever left its usual range, by how much and why (tuning-loop.md,
"Modes"; issue 14).

Every phrase is built from the lever declarations' labels and formats, so the CLI, the
app and Dagster render the same words.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from planwise.metrics import METRICS, format_difference, format_metric, metric_label
from planwise.optimization.report import (
    ChangeKind,
    LeverChange,
    LeverRangeWarning,
    TargetRow,
    Verdict,
)
from planwise.optimization.robust import statistic_phrase
from planwise.optimization.solver import Component, Evaluation
from planwise.optimization.space import DecisionSpace, OutsideUsualRange
from planwise.optimization.targets import Bound, Targets
from planwise.parameters.declarations import ParameterSpec, parameter_spec

__all__ = ["change_summary", "lever_changes", "lever_warnings", "target_rows", "verdict"]

FloatArray = npt.NDArray[np.float64]
_SAME = 1e-12  # lever values are O(0.01–1): closer than this is the same value


def verdict(converged: bool, warnings: list[LeverRangeWarning]) -> Verdict:
    if not converged:
        return Verdict.NOT_CONVERGED
    return Verdict.CONVERGED_WITH_WARNINGS if warnings else Verdict.CONVERGED


def target_rows(targets: Targets, start: Evaluation, best: Evaluation) -> list[TargetRow]:
    """Per target: the start's and the answer's value (a robust target's statistic), the
    target, met or not, and for a robust target the share of its seeds on which it is met."""
    rows: list[TargetRow] = []
    for target in targets.targets:
        robust = target.robust
        rows.append(
            TargetRow(
                name=target.name,
                metric=target.metric,
                year=str(target.year),
                start_value=start.value(target),
                final_value=best.value(target),
                target_value=target.target_value,
                tolerance=target.tolerance,
                within_tolerance=best.within(target),
                bound=None if target.bound == Bound.TWO_SIDED else target.bound.value,
                statistic=None if target.statistic is None else target.statistic.value,
                share=target.share,
                seeds=targets.robust_seeds if robust else None,
                share_inside=best.share_inside(target) if robust else None,
                start_share_inside=start.share_inside(target) if robust else None,
            )
        )
    return rows


def lever_changes(space: DecisionSpace, point: FloatArray) -> list[LeverChange]:
    """One change per family that may move, in the order the targets file names them.

    The kind is read from every simulated year and level: unchanged, one shift at every
    level, one factor at every level, or levels moved by different amounts.
    """
    after = space.resolved(point)
    levels = list(space.base.levels)
    changes: list[LeverChange] = []
    for family in space.family_names:
        spec = parameter_spec(family)
        start = space.base.values[family][:, levels]
        moved = after.values[family][:, levels]
        delta = moved - start
        shift: float | None = None
        scale: float | None = None
        if np.all(np.abs(delta) <= _SAME):
            kind = ChangeKind.UNCHANGED
        elif np.all(np.abs(delta - delta[0, 0]) <= _SAME):
            kind, shift = ChangeKind.SHIFT, float(delta[0, 0])
        elif (factor := _common_factor(start, moved)) is not None:
            kind, scale = ChangeKind.SCALE, factor
        else:
            kind = ChangeKind.PER_LEVEL
        before_first = tuple(float(value) for value in start[0])
        after_first = tuple(float(value) for value in moved[0])
        changes.append(
            LeverChange(
                lever=family,
                label=spec.label,
                kind=kind,
                summary=_phrase(spec, kind, tuple(levels), before_first, after_first, scale),
                levels=tuple(levels),
                before=before_first,
                after=after_first,
                shift=shift,
                scale=scale,
            )
        )
    return changes


def _common_factor(start: FloatArray, moved: FloatArray) -> float | None:
    """The one factor taking every start value to its moved value (zeros stay zero), if any."""
    nonzero = start != 0
    if not nonzero.any() or np.any(moved[~nonzero] != 0):
        return None
    ratios = moved[nonzero] / start[nonzero]
    return float(ratios[0]) if np.all(np.abs(ratios - ratios[0]) <= 1e-9) else None


def change_summary(changes: list[LeverChange]) -> str:
    """One sentence: `COLA 2.0% → 1.6% at every level; Merit +0.2 pp at every level;
    New-hire pay unchanged.`"""
    if not changes:
        return ""
    return "; ".join(change.summary for change in changes) + "."


def _phrase(
    spec: ParameterSpec,
    kind: ChangeKind,
    levels: tuple[int, ...],
    before: tuple[float, ...],
    after: tuple[float, ...],
    scale: float | None,
) -> str:
    if kind == ChangeKind.UNCHANGED:
        return f"{spec.label} unchanged"
    flat = max(before) - min(before) <= _SAME and max(after) - min(after) <= _SAME
    if flat:
        return (
            f"{spec.label} {spec.format_value(before[0])} → {spec.format_value(after[0])} "
            "at every level"
        )
    if kind == ChangeKind.SHIFT:
        return f"{spec.label} {spec.format_change(before[0], after[0])} at every level"
    moves = ", ".join(
        f"L{level} {spec.format_value(old)} → {spec.format_value(new)}"
        for level, old, new in zip(levels, before, after, strict=True)
        if abs(new - old) > _SAME
    )
    if kind == ChangeKind.SCALE and scale is not None:
        return f"{spec.label} ×{_factor(scale)} at every level ({moves})"
    return f"{spec.label} {moves}"


def _factor(scale: float) -> str:
    """A factor with two to three decimals: 1.06, 0.934, 1.004."""
    text = f"{scale:.3f}"
    return text[:-1] if text.endswith("0") else text


def lever_warnings(
    space: DecisionSpace, point: FloatArray, in_range_best: Evaluation | None
) -> list[LeverRangeWarning]:
    """One warning per lever and side of its usual range that the answer left, saying why:
    the targets outside tolerance at the best point found with every lever inside."""
    why = _why(in_range_best)
    return [_warning(space, outside, why) for outside in space.outside_usual_range(point)]


def _warning(space: DecisionSpace, outside: OutsideUsualRange, why: str) -> LeverRangeWarning:
    spec = parameter_spec(outside.family)
    values = outside.values or (outside.value,)
    low, high = min(values), max(values)
    shown = (
        spec.format_value(outside.value)
        if high - low <= _SAME
        else f"{spec.format_value(low)}–{spec.format_value(high)}"
    )
    distance = spec.format_change(0.0, outside.outside_by).lstrip("+")
    up_to = "" if high - low <= _SAME else "up to "
    message = (
        f"{spec.label} is {shown} {_levels_text(outside.levels, space.base.levels)}, "
        f"{up_to}{distance} {outside.side} its usual range "
        f"{spec.format_range(outside.usual_range)}: {why}"
    )
    return LeverRangeWarning(
        lever=outside.family,
        label=spec.label,
        levels=outside.levels,
        value=outside.value,
        usual_low=outside.usual_range[0],
        usual_high=outside.usual_range[1],
        outside_by=outside.outside_by,
        message=message,
        side=outside.side,
    )


def _levels_text(levels: tuple[int, ...], every: tuple[int, ...]) -> str:
    if tuple(levels) == tuple(every):
        return "at every level"
    if len(levels) == 1:
        return f"at L{levels[0]}"
    if list(levels) == list(range(levels[0], levels[-1] + 1)):
        return f"at L{levels[0]}–L{levels[-1]}"
    return "at " + ", ".join(f"L{level}" for level in levels)


def _why(in_range_best: Evaluation | None) -> str:
    if in_range_best is None:
        return "the targets cannot be met with every lever inside its usual range."
    misses = [_miss(component) for component in in_range_best.components]
    shown = "; ".join(miss for miss in misses if miss)
    return f"inside the usual ranges the targets cannot all be met (at best {shown})."


def _miss(component: Component) -> str:
    """`Total compensation cost in 2026 is $212.4M against $200.0M ± $2.0M`, or "" when
    the component is within tolerance."""
    if abs(component.residual) <= 1.0:
        return ""
    target = component.target
    metric = target.metric
    when = (
        ""
        if metric in METRICS and not METRICS[metric].per_year
        else " in the final year"
        if component.label == "final"
        else " on average"
        if component.label == "average"
        else f" in {component.label}"
    )
    tolerance = format_difference(metric, target.tolerance, compact=True).lstrip("+")
    bound = format_metric(metric, target.target_value, compact=True)
    goal = {
        Bound.AT_MOST: f"at most {bound}",
        Bound.AT_LEAST: f"at least {bound}",
    }.get(target.bound, f"{bound} ± {tolerance}")
    how = statistic_phrase(target, len(component.samples))
    return (
        f"{metric_label(metric)}{when}{how} is "
        f"{format_metric(metric, component.value, compact=True)} against {goal}"
    )
