"""Why a loop stopped, how sensitive the targets are, and how robust the answer is."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from planwise.config import Settings
from planwise.metrics import measured_simulation
from planwise.optimization.report import RobustnessRow, StopReason
from planwise.optimization.robust import statistic_phrase
from planwise.optimization.solver import Evaluation, SearchOutcome, evaluate_targets
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import Bound, Target, Targets
from planwise.parameters.levers import ResolvedLevers
from planwise.simulation.state import Workforce

__all__ = ["diagnose", "jacobian_at", "robustness_rows", "sensitivities"]

FloatArray = npt.NDArray[np.float64]
ONE_POINT = 0.01  # "+1 percentage point" of a lever


def _goal(target: Target) -> str:
    if target.bound == Bound.AT_MOST:
        return f"at most {target.target_value:.6g}"
    if target.bound == Bound.AT_LEAST:
        return f"at least {target.target_value:.6g}"
    return f"{target.target_value:.6g} ± {target.tolerance:.6g}"


def _misses(best: Evaluation) -> list[str]:
    return [
        f"{c.target.name} ({c.label}){statistic_phrase(c.target, len(c.samples))} is "
        f"{c.value:.6g} against {_goal(c.target)} ({c.residual:+.2f} tolerances)"
        for c in best.components
        if abs(c.residual) > 1.0
    ]


def diagnose(
    space: DecisionSpace,
    targets: Targets,
    best: Evaluation,
    jacobian: FloatArray | None,
    outcome: SearchOutcome,
    simulations: int,
) -> tuple[StopReason, str]:
    """The stop reason (converged, infeasible, conflicting, insensitive, budget) in words."""
    if best.converged:
        return StopReason.CONVERGED, (
            f"Every target is within tolerance after {simulations} full simulation(s)."
        )
    misses = "; ".join(_misses(best))
    if jacobian is not None:
        insensitive = [
            c
            for c, row in zip(best.components, jacobian, strict=True)
            if abs(c.residual) > 1.0 and np.allclose(row, 0.0, atol=1e-12)
        ]
        if insensitive:
            names = ", ".join(sorted({c.target.metric for c in insensitive}))
            levers = ", ".join(dict.fromkeys(v.family for v in space.variables))
            return StopReason.INSENSITIVE, (
                f"{names} does not respond to the levers allowed to move ({levers}); "
                f"no lever value can meet it. Still outside tolerance: {misses}."
            )
    pinned = space.at_bounds(best.point)
    if pinned and outcome in (SearchOutcome.STALLED, SearchOutcome.CONVERGED):
        described = ", ".join(
            f"{variable.name} at its {side} bound ({space.bound_value(variable, side):.4g})"
            for variable, side in pinned
        )
        return StopReason.INFEASIBLE, (
            f"Infeasible within bounds: {described}, while {misses}. Widen the bounds in "
            "the targets file, unlock levers, or relax the targets."
        )
    free = len(space.variables) - len(pinned)
    components = len(best.components)
    if outcome == SearchOutcome.BUDGET:
        return StopReason.BUDGET, (
            f"The budget of {targets.max_iterations} full simulations was spent while still "
            f"improving; best so far: {misses}. Raise max_iterations or resume with "
            "'planwise optimize --resume ID'."
        )
    why = (
        f"{components} target value(s) against {free} free lever(s)"
        if components > free
        else f"the {free} free lever(s) move the targets in ways that cannot satisfy all of "
        "them at once"
    )
    return StopReason.CONFLICTING, (
        f"Conflicting targets: {why}; the stored answer is the priority-weighted compromise "
        f"(weights high 3, medium 2, low 1). Missing: {misses}."
    )


def jacobian_at(
    evaluate_all: Callable[[list[FloatArray]], list[Evaluation]],
    at: Evaluation,
    steps: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
) -> FloatArray:
    """Finite differences of the residuals at the answer (backward at an upper bound); the
    probes are evaluated together (`evaluate_all`), so their replays can run at once."""
    jacobian = np.zeros((len(at.components), len(at.point)))
    columns: list[int] = []
    deltas: list[float] = []
    probes: list[FloatArray] = []
    for column, step in enumerate(steps):
        delta = step if at.point[column] + step <= upper[column] else -step
        if at.point[column] + delta < lower[column]:
            continue  # a fixed variable cannot move either way
        probe = at.point.copy()
        probe[column] += delta
        columns.append(column)
        deltas.append(float(delta))
        probes.append(probe)
    for column, delta, probed in zip(columns, deltas, evaluate_all(probes), strict=True):
        jacobian[:, column] = (probed.residuals - at.residuals) / delta
    return jacobian


def sensitivities(
    space: DecisionSpace, best: Evaluation, jacobian: FloatArray | None
) -> dict[str, dict[str, float]]:
    """Effect of +1 percentage point of each lever on each target metric (from the Jacobian)."""
    if jacobian is None:
        return {}
    table: dict[str, dict[str, float]] = {}
    for column, variable in enumerate(space.variables):
        if variable.kind == "scale":
            values = np.array(
                [space.base.values[variable.family][r, lv] for r, lv in variable.cells]
            )
            per_point = ONE_POINT / float(values.mean())
        else:
            per_point = ONE_POINT
        effects: dict[str, float] = {}
        for row, component in enumerate(best.components):
            key = component.key
            effects[key] = float(jacobian[row, column] * component.target.tolerance * per_point)
        table[variable.name] = effects
    return table


def robustness_rows(
    workforce: Workforce, settings: Settings, levers: ResolvedLevers, targets: Targets, seed: int
) -> tuple[list[RobustnessRow] | None, str | None]:
    """Re-simulate the answer on `robustness_seeds` other seeds: mean, P10–P90, share within."""
    count = targets.robustness_seeds
    if count == 0:
        return None, None
    evaluations = []
    for offset in range(1, count + 1):
        _, metrics = measured_simulation(
            workforce,
            settings,
            levers,
            start_year=settings.start_year,
            years=settings.years,
            seed=seed + offset,
        )
        evaluations.append(evaluate_targets(metrics, targets.targets, np.zeros(0)))
    rows: list[RobustnessRow] = []
    wide: list[str] = []
    for target in targets.targets:
        values = np.array([evaluation.value(target) for evaluation in evaluations])
        p10, p90 = (float(q) for q in np.percentile(values, [10, 90]))
        exceeds = (p90 - p10) > 2 * target.tolerance
        if exceeds:
            wide.append(target.name)
        rows.append(
            RobustnessRow(
                name=target.name,
                metric=target.metric,
                mean=float(values.mean()),
                p10=p10,
                p90=p90,
                share_within=float(np.mean([e.within(target) for e in evaluations])),
                spread_exceeds_tolerance=bool(exceeds),
            )
        )
    warning = None
    if wide:
        warning = (
            f"Across {count} other seeds the P10–P90 spread of {', '.join(wide)} is wider than "
            "the tolerance band: at this workforce size the tolerance cannot be guaranteed."
        )
    return rows, warning
