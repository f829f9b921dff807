"""The optimizer's decision variables and how a point becomes lever values.

- conservative: one scale factor per lever family, applied to every unlocked (year, level)
  value, so the analyst's level structure is kept;
- balanced / aggressive: one shift per (family, level), the same amount in every simulated
  year, so the structure across years is kept.

Locked values never move; bounds are hard (each variable's range keeps every value it moves
inside its family's bounds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from planwise.errors import UserError
from planwise.optimization.targets import Mode
from planwise.parameters.levers import LeverKey, LeverSet, ResolvedLevers
from planwise.simulation.engine import STRUCTURAL_PARAMETERS

__all__ = ["DecisionSpace", "Variable"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Variable:
    name: str
    family: str
    level: int | None
    kind: str  # "scale" or "shift"
    cells: tuple[tuple[int, int], ...]  # (year row, level) cells it moves
    lower: float
    upper: float
    start: float
    typical: float  # a typical size of a change, for finite differences and regularization


@dataclass(frozen=True)
class DecisionSpace:
    """Maps a vector x to resolved levers and to the rows of a new parameter set."""

    base: ResolvedLevers
    base_set: LeverSet
    variables: tuple[Variable, ...]

    @classmethod
    def build(
        cls,
        base: ResolvedLevers,
        base_set: LeverSet,
        families: Sequence[str],
        bounds: Mapping[str, tuple[float, float]],
        mode: Mode,
    ) -> DecisionSpace:
        variables: list[Variable] = []
        pinned: list[str] = []
        for family in families:
            values = base.values[family]
            locked = base.locked[family]
            low, high = bounds[family]
            per_level = (
                [[level] for level in base.levels]
                if mode != Mode.CONSERVATIVE
                else [list(base.levels)]
            )
            for levels in per_level:
                cells = tuple(
                    (row, level)
                    for row in range(len(base.years))
                    for level in levels
                    if not locked[row, level]
                )
                if not cells:
                    continue
                current = np.array([values[row, level] for row, level in cells])
                if mode == Mode.CONSERVATIVE:
                    positive = current > 0
                    if not positive.any():
                        pinned.append(family)
                        continue
                    lower = max(
                        0.0,
                        float(np.max(np.where(positive, low / np.where(positive, current, 1), 0))),
                    )
                    upper = float(
                        np.min(np.where(positive, high / np.where(positive, current, 1), np.inf))
                    )
                    variables.append(
                        Variable(
                            family,
                            family,
                            None,
                            "scale",
                            cells,
                            min(lower, 1.0),
                            max(upper, 1.0),
                            1.0,
                            0.05,
                        )
                    )
                else:
                    level = levels[0]
                    span = high - low
                    variables.append(
                        Variable(
                            f"{family}[L{level}]",
                            family,
                            level,
                            "shift",
                            cells,
                            min(0.0, float(low - current.min())),
                            max(0.0, float(high - current.max())),
                            0.0,
                            max(span * 0.01, 1e-4),
                        )
                    )
        if not variables:
            why = f" ({', '.join(pinned)} are all zero and cannot be scaled)" if pinned else ""
            raise UserError(
                "No lever may move: every value of the levers named in the targets file is "
                f"locked{why}. Unlock some with 'planwise levers set … --force' or name others."
            )
        return cls(base, base_set, tuple(variables))

    @property
    def start(self) -> FloatArray:
        return np.array([variable.start for variable in self.variables])

    @property
    def lower(self) -> FloatArray:
        return np.array([variable.lower for variable in self.variables])

    @property
    def upper(self) -> FloatArray:
        return np.array([variable.upper for variable in self.variables])

    @property
    def typical(self) -> FloatArray:
        return np.array([variable.typical for variable in self.variables])

    @property
    def families(self) -> list[str]:
        return [variable.family for variable in self.variables]

    @property
    def replayable(self) -> bool:
        """Replays are exact unless a structural lever (who is promoted) moves."""
        return not any(variable.family in STRUCTURAL_PARAMETERS for variable in self.variables)

    def resolved(self, point: FloatArray) -> ResolvedLevers:
        values = {name: array.copy() for name, array in self.base.values.items()}
        for variable, x in zip(self.variables, point, strict=True):
            array = values[variable.family]
            rows = [row for row, _ in variable.cells]
            levels = [level for _, level in variable.cells]
            if variable.kind == "scale":
                array[rows, levels] = self.base.values[variable.family][rows, levels] * x
            else:
                array[rows, levels] = self.base.values[variable.family][rows, levels] + x
        return ResolvedLevers(
            self.base.years, self.base.levels, values, self.base.sources, self.base.locked
        )

    def lever_set(self, point: FloatArray) -> LeverSet:
        """The rows of a new parameter set for this point (explicit rows for moved cells)."""
        resolved = self.resolved(point)
        updates: dict[LeverKey, float] = {}
        for variable in self.variables:
            for row, level in variable.cells:
                updates[(variable.family, self.base.years[row], level)] = float(
                    resolved.values[variable.family][row, level]
                )
        return self.base_set.with_values(updates)

    def describe(self, point: FloatArray) -> dict[str, float]:
        """Lever values in the first simulated year, per family and level, for reports."""
        resolved = self.resolved(point)
        families = dict.fromkeys(variable.family for variable in self.variables)
        return {
            f"{family}[L{level}]": float(resolved.values[family][0, level])
            for family in families
            for level in self.base.levels
        }

    def at_bounds(self, point: FloatArray, tolerance: float = 1e-9) -> list[tuple[Variable, str]]:
        """Variables sitting on a bound at `point`, with the side."""
        pinned: list[tuple[Variable, str]] = []
        for variable, x in zip(self.variables, point, strict=True):
            if x <= variable.lower + tolerance:
                pinned.append((variable, "lower"))
            elif x >= variable.upper - tolerance:
                pinned.append((variable, "upper"))
        return pinned

    def bound_value(self, variable: Variable, side: str) -> float:
        """The lever value that sits on the bound when the variable is at `side` (for messages).

        A scale (or a shift over years with different values) moves several values; the one
        that reaches the family's bound is the largest at the upper side, the smallest at
        the lower.
        """
        array = self.base.values[variable.family]
        values = np.array([array[row, level] for row, level in variable.cells])
        x = variable.lower if side == "lower" else variable.upper
        moved = values * x if variable.kind == "scale" else values + x
        return float(moved.min() if side == "lower" else moved.max())
