"""The search of the tuning loop: how candidates are proposed, tried and accepted.

Pure of storage: whoever runs it supplies an `Evaluator` that simulates (and stores) a
full run at a point, or replays pay on a run's plans. Between full simulations, exact
compensation-only replays (same plans, new pay) give the Jacobians and the damped steps;
every accepted answer is a full simulation (tuning-loop.md, "What the loop does").
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from planwise.optimization.report import IterationKind
from planwise.optimization.solver import (
    MODE_SETTINGS,
    Evaluation,
    SearchOutcome,
    Subspace,
    solve,
)
from planwise.optimization.space import DecisionSpace
from planwise.optimization.targets import Mode
from planwise.simulation.engine import PlannedRun

__all__ = ["Evaluator", "search"]

FloatArray = npt.NDArray[np.float64]
_IMPROVEMENT = 1 - 1e-9  # a step must lower the weighted residuals by more than rounding


class Evaluator(Protocol):
    """Evaluates candidate lever points for the search."""

    @property
    def simulations(self) -> int:
        """Full simulations spent so far."""

    def simulate(self, point: FloatArray, kind: IterationKind) -> tuple[Evaluation, PlannedRun]:
        """A full simulation at `point` (stored as an iteration of `kind`)."""

    def replay(self, planned: PlannedRun, point: FloatArray) -> Evaluation:
        """Pay recomputed on `planned`'s plans at `point` (exact for compensation levers)."""


def _simulate_step(evaluator: Evaluator, point: FloatArray) -> Evaluation:
    return evaluator.simulate(point, IterationKind.STEP)[0]


def search(
    evaluator: Evaluator,
    space: DecisionSpace,
    mode: Mode,
    budget: int,
    current: Evaluation,
    planned: PlannedRun,
) -> SearchOutcome:
    """Iterate from `current` until converged, stalled, or `budget` full simulations are spent.

    With replays (the usual case) each round solves on exact replays of the current plans
    — first moving each lever family as a whole, then each level, then a derivative-free
    polish — and confirms the answer with one full simulation; when a structural lever
    moves, every evaluation is a full simulation.
    """
    settings = MODE_SETTINGS[mode]
    tied_first = mode != Mode.CONSERVATIVE and len(space.variables) > len(set(space.families))
    while not current.converged:
        if budget - evaluator.simulations <= 0:
            return SearchOutcome.BUDGET
        candidate, exhausted = current, False
        phases = [("family", "least_squares")] if tied_first else []
        phases.append(("level", "least_squares"))
        if space.replayable:
            phases.append(("level", "powell"))
        for grain, method in phases:
            if candidate.converged:
                break
            subspace = (
                Subspace.per_family(
                    candidate.point, space.lower, space.upper, space.typical, space.families
                )
                if grain == "family"
                else Subspace.per_variable(candidate.point, space.lower, space.upper, space.typical)
            )
            if space.replayable:
                evaluate = partial(evaluator.replay, planned)
                allowed = settings.jacobians_per_solve * (subspace.dimensions + 1)
            else:
                evaluate = partial(_simulate_step, evaluator)
                allowed = budget - evaluator.simulations
            outcome = solve(
                evaluate,
                candidate,
                space.start,
                space.typical,
                space.families,
                subspace,
                settings,
                allowed,
                method,
            )
            candidate, exhausted = outcome.best, outcome.exhausted
        if candidate.cost >= current.cost * _IMPROVEMENT and not candidate.converged:
            return SearchOutcome.STALLED
        if space.replayable:
            evaluation, planned = evaluator.simulate(candidate.point, IterationKind.STEP)
        else:
            evaluation = candidate
        if not (evaluation.converged or evaluation.cost < current.cost * _IMPROVEMENT):
            return SearchOutcome.STALLED
        current = evaluation
        if not exhausted and not current.converged:
            return SearchOutcome.STALLED
    return SearchOutcome.CONVERGED
