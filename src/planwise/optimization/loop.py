"""The search of the tuning loop: how candidates are proposed, tried and accepted.

Pure of storage: whoever runs it supplies an `Evaluator` that simulates (and stores) a
full run at a point, or replays pay on a run's plans. Between full simulations, exact
compensation-only replays (same plans, new pay) give the Jacobians and the damped steps;
every accepted answer is a full simulation (tuning-loop.md, "What the loop does").

Plausible answers first (tuning-loop.md, "Modes"):
- regions: the search first keeps every moved value inside its usual range (the declared
  warning range, widened to the start value where the analyst set one outside it). Only
  when the best point found there misses a target while holding families at the edge of
  their usual range is a usual range lifted (the hard bounds stay) — one family's if
  that is enough, else all of those held — and again while it helps: a lever leaves its
  usual range only when the targets cannot be met inside it;
- phases within a region, simplest move first: conservative scales each family by one
  factor; balanced and aggressive move each family in proportion to its start values,
  else by one common shift, and only then each level on its own, keeping the order of
  the levels (linear inequalities on the per-level shifts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from planwise.optimization.report import IterationKind
from planwise.optimization.solver import (
    MODE_SETTINGS,
    Evaluation,
    ModeSettings,
    SearchOutcome,
    Subspace,
    solve,
)
from planwise.optimization.space import DecisionSpace, Grain
from planwise.optimization.targets import Mode
from planwise.simulation.engine import PlannedRun

__all__ = ["Evaluator", "SearchReport", "search"]

FloatArray = npt.NDArray[np.float64]
_IMPROVEMENT = 1 - 1e-9  # a step must lower the weighted residuals by more than rounding


@dataclass(frozen=True)
class _Phase:
    grain: Grain
    method: str
    from_best: bool  # start from the best point so far (else from the round's origin)


_FAMILY_WISE = (
    _Phase(Grain.SCALE, "gauss_newton", from_best=False),
    _Phase(Grain.SHIFT, "gauss_newton", from_best=False),
    _Phase(Grain.LEVEL, "gauss_newton", from_best=True),
)
_PHASES: dict[Mode, tuple[_Phase, ...]] = {
    Mode.CONSERVATIVE: (
        _Phase(Grain.VARIABLE, "gauss_newton", from_best=False),
        _Phase(Grain.VARIABLE, "powell", from_best=True),
    ),
    Mode.BALANCED: _FAMILY_WISE,
    Mode.AGGRESSIVE: _FAMILY_WISE,
}


class Evaluator(Protocol):
    """Evaluates candidate lever points for the search."""

    @property
    def simulations(self) -> int:
        """Full simulations spent so far."""

    def simulate(self, point: FloatArray, kind: IterationKind) -> tuple[Evaluation, PlannedRun]:
        """A full simulation at `point` (stored as an iteration of `kind`)."""

    def replay(self, planned: PlannedRun, point: FloatArray) -> Evaluation:
        """Pay recomputed on `planned`'s plans at `point` (exact for compensation levers)."""


@dataclass(frozen=True)
class SearchReport:
    """How the search ended and which usual ranges it had to leave."""

    outcome: SearchOutcome
    relaxed: tuple[str, ...]
    """Families whose usual range the search lifted (their hard bounds still held)."""
    in_range_best: Evaluation | None
    """When it lifted any: the best point it found with every lever in its usual range."""


@dataclass(frozen=True)
class _Explored:
    best: Evaluation
    exhausted: bool  # the last solve ran out of evaluations while still improving


def _simulate_step(evaluator: Evaluator, point: FloatArray) -> Evaluation:
    return evaluator.simulate(point, IterationKind.STEP)[0]


@dataclass(frozen=True)
class _Search:
    evaluator: Evaluator
    space: DecisionSpace
    settings: ModeSettings
    phases: tuple[_Phase, ...]
    budget: int

    def evaluate(self, planned: PlannedRun) -> Callable[[FloatArray], Evaluation]:
        if self.space.replayable:
            return partial(self.evaluator.replay, planned)
        return partial(_simulate_step, self.evaluator)

    def explore(self, origin: Evaluation, planned: PlannedRun, relaxed: Sequence[str]) -> _Explored:
        """Every phase in turn inside the region, until one meets the targets."""
        constraints = self.space.constraints(relaxed)
        best, exhausted = origin, False
        for phase in self.phases:
            if best.converged:
                break
            if phase.method == "powell" and not self.space.replayable:
                continue
            begin = best if phase.from_best else origin
            basis, steps = self.space.directions(phase.grain)
            subspace = Subspace.within(begin.point, basis, steps, constraints)
            allowed = (
                self.settings.jacobians_per_solve * (subspace.dimensions + 1)
                if self.space.replayable
                else self.budget - self.evaluator.simulations
            )
            outcome = solve(
                self.evaluate(planned),
                begin,
                self.space.start,
                self.space.typical,
                self.space.families,
                subspace,
                self.settings,
                allowed,
                phase.method,
            )
            if outcome.best.converged or outcome.best.cost < best.cost:
                best = outcome.best
            exhausted = outcome.exhausted
        return _Explored(best, exhausted and not best.converged)

    def lift(
        self, origin: Evaluation, planned: PlannedRun, relaxed: Sequence[str], held: list[str]
    ) -> tuple[list[str], _Explored]:
        """Lift the usual range of the fewest families held at its edge: each alone first
        (the answer outside its usual range by the least wins), else all of them. Every
        search starts again from the round's origin, so the simplest move is tried first."""
        alone = [
            ([family], self.explore(origin, planned, [*relaxed, family]))
            for family in (held if len(held) > 1 else [])
        ]
        met = [(families, found) for families, found in alone if found.best.converged]
        if met:
            return min(met, key=lambda item: self.space.excursion(item[1].best.point))
        return held, self.explore(origin, planned, [*relaxed, *held])


def search(
    evaluator: Evaluator,
    space: DecisionSpace,
    mode: Mode,
    budget: int,
    current: Evaluation,
    planned: PlannedRun,
) -> SearchReport:
    """Iterate from `current` until converged, stalled, or `budget` full simulations are spent.

    With replays (the usual case) each round solves on exact replays of the current plans
    — inside the usual ranges first, then lifting the usual range of the families that
    hold the answer back — and confirms the answer with one full simulation; when a
    structural lever moves, every evaluation is a full simulation.
    """
    run = _Search(evaluator, space, MODE_SETTINGS[mode], _PHASES[mode], budget)
    relaxed: list[str] = []
    in_range: Evaluation | None = None

    def report(outcome: SearchOutcome) -> SearchReport:
        return SearchReport(outcome, tuple(relaxed), in_range if relaxed else None)

    while not current.converged:
        if budget - evaluator.simulations <= 0:
            return report(SearchOutcome.BUDGET)
        origin = current
        if not space.inside(current.point, relaxed):
            # a resumed loop may stand outside the region: start it from the analyst's values
            origin = run.evaluate(planned)(space.start)
        explored = run.explore(origin, planned, relaxed)
        while not explored.best.converged:
            held = space.at_usual_edge(explored.best.point, relaxed)
            if not held:
                break
            lifted, wider = run.lift(origin, planned, relaxed, held)
            if not (wider.best.converged or wider.best.cost < explored.best.cost):
                break
            if not relaxed:
                in_range = explored.best
            relaxed.extend(lifted)
            explored = wider
        candidate, exhausted = explored.best, explored.exhausted
        if candidate.cost >= current.cost * _IMPROVEMENT and not candidate.converged:
            return report(SearchOutcome.STALLED)
        if space.replayable:
            evaluation, planned = evaluator.simulate(candidate.point, IterationKind.STEP)
        else:
            evaluation = candidate
        if not (evaluation.converged or evaluation.cost < current.cost * _IMPROVEMENT):
            return report(SearchOutcome.STALLED)
        current = evaluation
        if not exhausted and not current.converged:
            return report(SearchOutcome.STALLED)
    return report(SearchOutcome.CONVERGED)
