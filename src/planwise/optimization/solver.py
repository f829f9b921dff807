"""The numerical core of the loop: residuals, Jacobians and bounded, damped least-squares steps.

Because of common random numbers the metrics are deterministic, nearly linear functions of
the compensation levers, so a Gauss–Newton step on tolerance-scaled residuals, with
bounds, priority weights and a mild pull toward the start, converges in a few steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.optimize import least_squares, minimize

from planwise.errors import UserError
from planwise.metrics import RunMetrics
from planwise.optimization.targets import Mode, Target

__all__ = [
    "MODE_SETTINGS",
    "Component",
    "Evaluation",
    "ModeSettings",
    "SearchOutcome",
    "SolveOutcome",
    "Subspace",
    "evaluate_targets",
    "solve",
]

FloatArray = npt.NDArray[np.float64]


class SearchOutcome(StrEnum):
    """How the search ended, before the diagnosis turns it into a stop reason."""

    CONVERGED = "converged"
    STALLED = "stalled"  # no step improved the weighted residuals any more
    BUDGET = "budget"  # the full simulations it may spend are spent


@dataclass(frozen=True)
class ModeSettings:
    regularization: float  # pull toward the start, per typical change of a lever
    structure: float  # pull toward moving a family's levels together (keeps the structure)
    step_scale: float  # the solver's variable scale (and so its first trust radius)
    jacobians_per_solve: int  # replay budget of one inner solve, in Jacobians


MODE_SETTINGS = {
    Mode.CONSERVATIVE: ModeSettings(1e-2, 0.0, step_scale=0.5, jacobians_per_solve=6),
    Mode.BALANCED: ModeSettings(1e-3, 1e-1, step_scale=1.0, jacobians_per_solve=6),
    Mode.AGGRESSIVE: ModeSettings(0.0, 0.0, step_scale=2.0, jacobians_per_solve=8),
}


@dataclass(frozen=True)
class Component:
    """One scalar the loop drives to its target (a target with year `each` gives several)."""

    target: Target
    label: str
    value: float

    @property
    def residual(self) -> float:
        return (self.value - self.target.target_value) / self.target.tolerance

    @property
    def key(self) -> str:
        """`target@year`: how stored iterations and reports name this component."""
        return f"{self.target.name}@{self.label}"


@dataclass(frozen=True)
class Evaluation:
    point: FloatArray
    components: tuple[Component, ...]

    @property
    def residuals(self) -> FloatArray:
        return np.array([component.residual for component in self.components])

    @property
    def weights(self) -> FloatArray:
        return np.array([component.target.weight for component in self.components])

    @property
    def cost(self) -> float:
        return float(np.sum(self.weights * self.residuals**2))

    @property
    def values_by_key(self) -> dict[str, float]:
        return {component.key: component.value for component in self.components}

    @property
    def residuals_by_key(self) -> dict[str, float]:
        return {component.key: component.residual for component in self.components}

    @property
    def converged(self) -> bool:
        return bool(np.all(np.abs(self.residuals) <= 1.0))

    def within(self, target: Target) -> bool:
        return all(abs(c.residual) <= 1.0 for c in self.components if c.target is target)

    def value(self, target: Target) -> float:
        """The target's headline value: its year, the final year, or the mean over years."""
        values = [c.value for c in self.components if c.target is target]
        return values[-1] if len(values) == 1 or target.year != "each" else float(np.mean(values))


def evaluate_targets(
    metrics: RunMetrics, targets: Sequence[Target], point: FloatArray
) -> Evaluation:
    components: list[Component] = []
    years = metrics.years
    for target in targets:
        if target.year == "each":
            for year in years:
                components.append(Component(target, str(year), metrics.value(target.metric, year)))
        elif target.year == "average":
            values = [metrics.value(target.metric, year) for year in years]
            components.append(Component(target, "average", float(np.mean(values))))
        elif target.year == "final":
            components.append(Component(target, "final", metrics.value(target.metric)))
        else:
            year = int(target.year)
            components.append(Component(target, str(year), metrics.value(target.metric, year)))
    for component in components:
        if not math.isfinite(component.value):
            raise UserError(
                f"targets.{component.target.name}: {component.target.metric} is not defined for "
                f"this workforce ({component.label}); for example gender_pay_gap needs a census "
                "with gender. Remove the target or change the census."
            )
    return Evaluation(point, tuple(components))


def _structure_matrix(families: npt.NDArray[np.object_]) -> FloatArray:
    """Rows e_l − mean over the family, for families with several variables."""
    rows = []
    for family in dict.fromkeys(families):
        members = np.flatnonzero(families == family)
        if len(members) < 2:
            continue
        for member in members:
            row = np.zeros(len(families))
            row[members] = -1.0 / len(members)
            row[member] += 1.0
            rows.append(row)
    return np.array(rows).reshape(len(rows), len(families))


class _FoundError(Exception):
    def __init__(self, evaluation: Evaluation) -> None:
        super().__init__("within tolerance")
        self.evaluation = evaluation


class _BudgetSpentError(Exception):
    """The inner solve used its evaluations (scipy's `max_nfev` does not count the
    finite-difference evaluations of the Jacobian, so the budget is enforced here)."""


@dataclass(frozen=True)
class SolveOutcome:
    best: Evaluation
    exhausted: bool  # stopped by its evaluation budget rather than by convergence


@dataclass(frozen=True)
class Subspace:
    """Directions the solver may move in: point = origin + basis @ y, with y inside bounds."""

    origin: FloatArray
    basis: FloatArray  # (variables, directions)
    lower: FloatArray
    upper: FloatArray
    typical: FloatArray

    @classmethod
    def per_variable(
        cls, origin: FloatArray, lower: FloatArray, upper: FloatArray, typical: FloatArray
    ) -> Subspace:
        free = np.flatnonzero(upper > lower + 1e-12)
        basis = np.eye(len(origin))[:, free]
        return cls(origin, basis, (lower - origin)[free], (upper - origin)[free], typical[free])

    @classmethod
    def per_family(
        cls,
        origin: FloatArray,
        lower: FloatArray,
        upper: FloatArray,
        typical: FloatArray,
        families: Sequence[str],
    ) -> Subspace:
        """One common shift per family: the levels of a family move together."""
        labels = np.asarray(families, dtype=object)
        columns, low, high, scale = [], [], [], []
        for family in dict.fromkeys(families):
            members = labels == family
            can_low = float(np.max((lower - origin)[members]))
            can_high = float(np.min((upper - origin)[members]))
            if can_high <= can_low + 1e-12:
                continue
            columns.append(members.astype(np.float64))
            low.append(can_low)
            high.append(can_high)
            scale.append(float(np.mean(typical[members])))
        basis = np.array(columns).T.reshape(len(origin), len(columns))
        return cls(origin, basis, np.array(low), np.array(high), np.array(scale))

    @property
    def dimensions(self) -> int:
        return int(self.basis.shape[1])


def solve(
    evaluate: Callable[[FloatArray], Evaluation],
    current: Evaluation,
    start: FloatArray,
    typical: FloatArray,
    families: Sequence[str],
    subspace: Subspace,
    mode: ModeSettings,
    max_evaluations: int,
    method: str = "least_squares",
) -> SolveOutcome:
    """Bounded, damped least squares on the priority-weighted, tolerance-scaled residuals.

    `scipy.optimize.least_squares` (trust-region reflective, bounds) minimizes
    Σ wᵢ rᵢ² + λ ‖(x − x₀)/s‖² + μ Σ (level shift − the family's mean shift)²/s² over the
    subspace; it stops as soon as an evaluation meets every tolerance. The structure term
    keeps a family's levels moving together unless the targets need otherwise, which keeps
    rank statistics such as the median merit smooth in the levers.

    `method="powell"` minimizes the same objective without derivatives (scipy's bounded
    Powell): its line searches cross the steps of a rank statistic (the median merit jumps
    when the median moves to another level) where finite differences only see a flat slope.
    """
    root_weights = np.sqrt(current.weights)
    pull = math.sqrt(mode.regularization)
    structure = math.sqrt(mode.structure) * _structure_matrix(np.asarray(families, dtype=object))
    best = current
    used = 0

    def residuals(y: FloatArray) -> FloatArray:
        nonlocal best, used
        if used >= max_evaluations:
            raise _BudgetSpentError
        used += 1
        point = subspace.origin + subspace.basis @ y
        evaluation = evaluate(point)
        if evaluation.converged:
            raise _FoundError(evaluation)
        if evaluation.cost < best.cost:
            best = evaluation
        offset = (point - start) / typical
        return np.concatenate(
            [root_weights * evaluation.residuals, pull * offset, structure @ offset]
        )

    if subspace.dimensions == 0 or max_evaluations < 2:
        return SolveOutcome(best, exhausted=True)
    if method == "powell":
        try:
            polished = minimize(
                lambda y: float(np.sum(residuals(y) ** 2)),
                np.zeros(subspace.dimensions),
                method="Powell",
                bounds=list(zip(subspace.lower, subspace.upper, strict=True)),
                options={"maxfev": max_evaluations, "xtol": 1e-4, "ftol": 1e-6},
            )
        except _FoundError as found:
            return SolveOutcome(found.evaluation, exhausted=False)
        except _BudgetSpentError:
            return SolveOutcome(best, exhausted=True)
        return SolveOutcome(best, exhausted=not polished.success)
    try:
        fit = least_squares(
            residuals,
            np.zeros(subspace.dimensions),
            bounds=(subspace.lower, subspace.upper),
            method="trf",
            x_scale=subspace.typical * mode.step_scale,
            diff_step=subspace.typical,
            max_nfev=max_evaluations,
            ftol=1e-10,
            xtol=1e-10,
            gtol=1e-10,
        )
    except _FoundError as found:
        return SolveOutcome(found.evaluation, exhausted=False)
    except _BudgetSpentError:
        return SolveOutcome(best, exhausted=True)
    return SolveOutcome(best, exhausted=fit.status == 0)
