"""The numerical core of the loop: residuals, Jacobians and bounded, trust-region
Gauss–Newton steps.

Because of common random numbers the metrics are deterministic, nearly linear functions of
the compensation levers, so a Gauss–Newton step on tolerance-scaled residuals, with
bounds, priority weights and a mild pull toward the start, converges in a few steps; a
Broyden update keeps the Jacobian current at one evaluation per step. Where the
directions of a phase are tied by linear inequalities (the order of a family's levels),
each step solves the linearized problem under those inequalities exactly
(`scipy.optimize.minimize` with SLSQP on the quadratic model), so every point tried keeps
the order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from planwise.errors import UserError
from planwise.metrics import RunMetrics
from planwise.optimization.robust import (
    Sample,
    seed_sample,
    statistic_value,
    target_components,
)
from planwise.optimization.space import LinearConstraints
from planwise.optimization.targets import Mode, Target

__all__ = [
    "MODE_SETTINGS",
    "Component",
    "Evaluation",
    "ModeSettings",
    "SearchOutcome",
    "SolveOutcome",
    "Subspace",
    "evaluate_samples",
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
    step_scale: float  # scales the first trust region (how far a first step may go)
    jacobians_per_solve: int  # replay budget of one inner solve, in Jacobians


MODE_SETTINGS = {
    Mode.CONSERVATIVE: ModeSettings(1e-2, 0.0, step_scale=0.5, jacobians_per_solve=6),
    Mode.BALANCED: ModeSettings(1e-3, 1e-1, step_scale=1.0, jacobians_per_solve=6),
    Mode.AGGRESSIVE: ModeSettings(0.0, 0.0, step_scale=2.0, jacobians_per_solve=8),
}


@dataclass(frozen=True)
class Component:
    """One scalar the loop drives to its target (a target with year `each` gives several).

    For a robust target `value` is the statistic over the seeds and `samples` holds each
    seed's value (the loop's seed first); otherwise `samples` is empty."""

    target: Target
    label: str
    value: float
    samples: tuple[float, ...] = ()

    @property
    def residual(self) -> float:
        return self.target.residual(self.value)

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

    @property
    def robust_samples(self) -> bool:
        """Each seed's value is kept for the robust targets (not so for an evaluation
        restored from stored statistics)."""
        return any(component.samples for component in self.components)

    def share_inside(self, target: Target) -> float | None:
        """The share of seeds on which the target is met (in each of its components), for a
        robust target measured on its seeds; None otherwise."""
        samples = [c.samples for c in self.components if c.target is target and c.samples]
        if not samples:
            return None
        inside = [
            all(target.inside(values[seed]) for values in samples)
            for seed in range(len(samples[0]))
        ]
        return float(np.mean(inside))

    def value(self, target: Target) -> float:
        """The target's headline value: its year, the final year, or the mean over years."""
        values = [c.value for c in self.components if c.target is target]
        return values[-1] if len(values) == 1 or target.year != "each" else float(np.mean(values))


def evaluate_targets(
    metrics: RunMetrics, targets: Sequence[Target], point: FloatArray
) -> Evaluation:
    """The targets on one run's metrics (a robust target's statistic is then of one seed)."""
    return evaluate_samples(metrics.years, targets, [seed_sample(metrics, targets)], point)


def evaluate_samples(
    years: Sequence[int], targets: Sequence[Target], samples: Sequence[Sample], point: FloatArray
) -> Evaluation:
    """The targets on one sample per seed (the loop's seed first, see
    `planwise.optimization.robust`): a robust target's component is its statistic over
    the seeds, any other the loop's seed's value."""
    components: list[Component] = []
    for position, (target, label) in enumerate(target_components(years, targets)):
        values = [sample[position] for sample in samples]
        if not all(math.isfinite(value) for value in values):
            raise UserError(
                f"targets.{target.name}: {target.metric} is not defined for "
                f"this workforce ({label}); for example gender_pay_gap needs a census "
                "with gender. Remove the target or change the census."
            )
        kept = tuple(values) if target.robust else ()
        components.append(Component(target, label, statistic_value(target, values), kept))
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
    inequalities: FloatArray | None = None  # rows A with A @ y <= limits, beyond the box
    limits: FloatArray | None = None

    @classmethod
    def within(
        cls,
        origin: FloatArray,
        basis: FloatArray,
        typical: FloatArray,
        constraints: LinearConstraints,
    ) -> Subspace:
        """Directions `basis` from `origin`, inside `constraints` (which `origin` meets).

        A row that involves one direction becomes a bound of it; a row that ties several
        (the order of levels moved on their own) stays an inequality. Directions that
        cannot move either way are dropped.
        """
        rows = constraints.matrix @ basis
        slack = np.maximum(constraints.limit - constraints.matrix @ origin, 0.0)
        involved = np.abs(rows) > 1e-15
        count = involved.sum(axis=1)
        lower = np.full(basis.shape[1], -np.inf)
        upper = np.full(basis.shape[1], np.inf)
        for row in np.flatnonzero(count == 1):
            column = int(np.flatnonzero(involved[row])[0])
            limit = slack[row] / rows[row, column]
            if rows[row, column] > 0:
                upper[column] = min(upper[column], limit)
            else:
                lower[column] = max(lower[column], limit)
        lower, upper = np.minimum(lower, 0.0), np.maximum(upper, 0.0)
        free = np.flatnonzero(upper > lower + 1e-12)
        tied = rows[count > 1][:, free]
        keep = np.abs(tied).max(axis=1, initial=0.0) > 1e-15
        return cls(
            origin,
            basis[:, free],
            lower[free],
            upper[free],
            typical[free],
            tied[keep] if keep.any() else None,
            slack[count > 1][keep] if keep.any() else None,
        )

    @classmethod
    def per_variable(
        cls, origin: FloatArray, lower: FloatArray, upper: FloatArray, typical: FloatArray
    ) -> Subspace:
        free = np.flatnonzero(upper > lower + 1e-12)
        basis = np.eye(len(origin))[:, free]
        return cls(origin, basis, (lower - origin)[free], (upper - origin)[free], typical[free])

    @property
    def dimensions(self) -> int:
        return int(self.basis.shape[1])

    def feasible(self, y: FloatArray) -> bool:
        inside = bool(np.all(y >= self.lower) and np.all(y <= self.upper))
        if self.inequalities is None or self.limits is None:
            return inside
        return inside and bool(np.all(self.inequalities @ y <= self.limits + _FEASIBLE))


def solve(
    evaluate: Callable[[FloatArray], Evaluation],
    current: Evaluation,
    start: FloatArray,
    typical: FloatArray,
    families: Sequence[str],
    subspace: Subspace,
    mode: ModeSettings,
    max_evaluations: int,
    method: str = "gauss_newton",
) -> SolveOutcome:
    """Minimize Σ wᵢ rᵢ² + λ ‖(x − x₀)/s‖² + μ Σ (level shift − the family's mean shift)²/s²
    over the subspace, inside its box and inequalities, on the priority-weighted,
    tolerance-scaled residuals; stop as soon as an evaluation meets every tolerance. The
    structure term keeps a family's levels moving together unless the targets need
    otherwise, which keeps rank statistics such as the median merit smooth in the levers.

    `method="gauss_newton"` (trust region, see `_gauss_newton`) suits residuals that are
    nearly linear in the levers, as common random numbers make them. `method="powell"`
    minimizes the same objective without derivatives (scipy's bounded Powell): its line
    searches cross the steps of a rank statistic (the median merit jumps when the median
    moves to another level) where finite differences only see a flat slope; it needs a
    box-only subspace, and a subspace with inequalities is always solved by Gauss–Newton.
    """
    if subspace.dimensions == 0 or max_evaluations < 2:
        return SolveOutcome(current, exhausted=True)
    problem = _Problem(evaluate, current, start, typical, families, subspace, mode, max_evaluations)
    try:
        if method == "powell" and subspace.inequalities is None:
            return _powell(problem)
        return _gauss_newton(problem)
    except _FoundError as found:
        return SolveOutcome(found.evaluation, exhausted=False)
    except _BudgetSpentError:
        return SolveOutcome(problem.best, exhausted=True)


class _Problem:
    """One solve: evaluations counted against the budget, the best one kept, and the
    penalties (pull toward the start, level structure) as functions of the subspace's y."""

    def __init__(
        self,
        evaluate: Callable[[FloatArray], Evaluation],
        current: Evaluation,
        start: FloatArray,
        typical: FloatArray,
        families: Sequence[str],
        subspace: Subspace,
        mode: ModeSettings,
        max_evaluations: int,
    ) -> None:
        self.evaluate = evaluate
        self.current = current
        self.best = current
        self.subspace = subspace
        self.mode = mode
        self.max_evaluations = max_evaluations
        self.used = 0
        self.weights = np.sqrt(current.weights)
        self.start = start
        self.typical = typical
        pull = math.sqrt(mode.regularization)
        structure = math.sqrt(mode.structure) * _structure_matrix(
            np.asarray(families, dtype=object)
        )
        self.penalty_matrix = np.vstack([pull * np.eye(len(start)), structure])
        scaled_basis = subspace.basis / typical[:, None]
        self.penalty_jacobian = self.penalty_matrix @ scaled_basis

    def measure(self, y: FloatArray) -> Evaluation:
        if self.used >= self.max_evaluations:
            raise _BudgetSpentError
        self.used += 1
        evaluation = self.evaluate(self.subspace.origin + self.subspace.basis @ y)
        if evaluation.converged:
            raise _FoundError(evaluation)
        if evaluation.cost < self.best.cost:
            self.best = evaluation
        return evaluation

    def penalties(self, y: FloatArray) -> FloatArray:
        offset = (self.subspace.origin + self.subspace.basis @ y - self.start) / self.typical
        return np.asarray(self.penalty_matrix @ offset, dtype=np.float64)

    def objective(self, evaluation: Evaluation, y: FloatArray) -> float:
        fit, pulled = self.weights * evaluation.residuals, self.penalties(y)
        return float(fit @ fit + pulled @ pulled)


def _powell(problem: _Problem) -> SolveOutcome:
    subspace = problem.subspace
    polished = minimize(
        lambda y: problem.objective(problem.measure(y), y),
        np.zeros(subspace.dimensions),
        method="Powell",
        bounds=list(zip(subspace.lower, subspace.upper, strict=True)),
        options={"maxfev": problem.max_evaluations, "xtol": 1e-4, "ftol": 1e-6},
    )
    return SolveOutcome(problem.best, exhausted=not polished.success)


_FEASIBLE = 1e-14  # rounding allowed on an inequality (lever values are O(0.01–1))
_FIRST_RADIUS = 10.0  # the first trust region, in typical steps (times the mode's step scale)
_SMALLEST_RADIUS = 1e-4
_DAMPING = 1e-8  # keeps the model's normal equations well posed when a direction is inert


def _gauss_newton(problem: _Problem) -> SolveOutcome:
    """Trust-region Gauss–Newton inside the box and the inequalities of the subspace: each
    step minimizes the linearized objective under the constraints and within the trust
    region, so every point evaluated meets them. The Jacobian comes from forward (or, at
    a constraint, backward) differences and is kept current by Broyden updates, one
    evaluation per step; a step that does not lower the objective shrinks the region,
    and when the region collapses on a fresh Jacobian the solve has stalled (a
    constrained optimum)."""
    subspace = problem.subspace
    steps = subspace.typical
    y = np.zeros(subspace.dimensions)
    at = problem.current
    value = problem.objective(at, y)
    first_radius = _FIRST_RADIUS * problem.mode.step_scale
    radius = first_radius
    model = _jacobian(problem, y, at)
    accepted_since_fresh = 0
    while True:
        delta = _model_step(
            problem.weights * at.residuals,
            problem.penalties(y),
            problem.weights[:, None] * model,
            problem.penalty_jacobian,
            radius,
            subspace,
            y,
        )
        length = float(np.max(np.abs(delta / steps), initial=0.0))
        if length < 1e-6 or radius < _SMALLEST_RADIUS:
            if accepted_since_fresh == 0:
                return SolveOutcome(problem.best, exhausted=False)
            model, accepted_since_fresh = _jacobian(problem, y, at), 0
            radius = max(radius, first_radius / 10)
            continue
        trial_y = y + delta
        trial = problem.measure(trial_y)
        change = trial.residuals - at.residuals - model @ delta
        model = model + np.outer(change, delta) / float(delta @ delta)
        trial_value = problem.objective(trial, trial_y)
        if trial_value < value * (1 - 1e-12):
            y, at, value = trial_y, trial, trial_value
            accepted_since_fresh += 1
            if length >= 0.9 * radius:
                radius *= 2
        else:
            radius = length / 4


def _jacobian(problem: _Problem, y: FloatArray, at: Evaluation) -> FloatArray:
    """Finite differences of the residuals along each direction, staying feasible."""
    subspace = problem.subspace
    columns = np.zeros((len(at.components), subspace.dimensions))
    for column in range(subspace.dimensions):
        delta = _probe_step(subspace, y, column, float(subspace.typical[column]))
        if delta == 0.0:
            continue
        probe = y.copy()
        probe[column] += delta
        columns[:, column] = (problem.measure(probe).residuals - at.residuals) / delta
    return columns


def _probe_step(subspace: Subspace, y: FloatArray, column: int, step: float) -> float:
    """A finite-difference step along one direction that stays inside the constraints:
    forward if it can, else backward, else as far as the roomier side allows."""
    room = []
    for sign in (1.0, -1.0):
        probe = y.copy()
        probe[column] += sign * step
        if subspace.feasible(probe):
            return sign * step
        room.append(sign * _room(subspace, y, column, sign))
    widest = max(room, key=abs)
    return widest if abs(widest) >= 1e-3 * step else 0.0


def _room(subspace: Subspace, y: FloatArray, column: int, sign: float) -> float:
    """How far `y` can move along ±direction `column` inside the constraints."""
    room = float(
        subspace.upper[column] - y[column] if sign > 0 else y[column] - subspace.lower[column]
    )
    if subspace.inequalities is not None and subspace.limits is not None:
        rates = sign * subspace.inequalities[:, column]
        slack = np.maximum(subspace.limits - subspace.inequalities @ y, 0.0)
        binding = rates > 0
        if binding.any():
            room = min(room, float(np.min(slack[binding] / rates[binding])))
    return max(room, 0.0)


def _model_step(
    residuals: FloatArray,
    penalties: FloatArray,
    jacobian: FloatArray,
    penalty_jacobian: FloatArray,
    radius: float,
    subspace: Subspace,
    y: FloatArray,
) -> FloatArray:
    """The step minimizing ‖r + J δ‖² + ‖p + P δ‖² under the subspace's box and
    inequalities, at most `radius` typical steps s along each direction (a small convex
    QP, solved in units of s), shortened if rounding left it a hair outside an inequality."""
    steps = subspace.typical
    model = jacobian * steps
    penalty_model = penalty_jacobian * steps
    norm = 1.0 + float(residuals @ residuals + penalties @ penalties)

    def value(u: FloatArray) -> float:
        fit, pulled = residuals + model @ u, penalties + penalty_model @ u
        return float(fit @ fit + pulled @ pulled + _DAMPING * (u @ u)) / norm

    def gradient(u: FloatArray) -> FloatArray:
        fit, pulled = residuals + model @ u, penalties + penalty_model @ u
        total = model.T @ fit + penalty_model.T @ pulled + _DAMPING * u
        return np.asarray(2 * total / norm, dtype=np.float64)

    low = np.maximum((subspace.lower - y) / steps, -radius)
    high = np.minimum((subspace.upper - y) / steps, radius)
    constraints = []
    if subspace.inequalities is not None and subspace.limits is not None:
        rows = subspace.inequalities * steps
        slack = np.maximum(subspace.limits - subspace.inequalities @ y, 0.0)
        constraints.append(
            {"type": "ineq", "fun": lambda u: slack - rows @ u, "jac": lambda u: -rows}
        )
    found = minimize(
        value,
        np.zeros(subspace.dimensions),
        jac=gradient,
        method="SLSQP",
        bounds=list(zip(np.minimum(low, 0.0), np.maximum(high, 0.0), strict=True)),
        constraints=constraints,
        options={"ftol": 1e-14, "maxiter": 500},
    )
    delta = np.clip(found.x * steps, subspace.lower - y, subspace.upper - y)
    if subspace.inequalities is not None and subspace.limits is not None:
        slack = np.maximum(subspace.limits - subspace.inequalities @ y, 0.0)
        growth = subspace.inequalities @ delta
        over = growth > slack + _FEASIBLE
        if over.any():
            delta = delta * float(np.min(slack[over] / growth[over]))
    return np.asarray(delta, dtype=np.float64)
