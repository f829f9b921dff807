"""The optimizer's decision variables and how a point becomes lever values.

- conservative: one scale factor per lever family, applied to every unlocked (year, level)
  value, so the analyst's level structure is kept;
- balanced / aggressive: one shift per (family, level), the same amount in every simulated
  year, so the structure across years is kept.

Locked values never move; bounds are hard (each variable's range keeps every value it moves
inside its family's bounds). A lever's usual range (its declared warning range) is a soft
bound: `constraints` gives the region the search stays in — each moved value inside
[min(usual low, start), max(usual high, start)] ∩ the hard bounds unless its family is
relaxed — together with the analyst's order across levels (a family that rises with
level at the start still does; see `LevelOrder`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import numpy as np
import numpy.typing as npt

from planwise.errors import UserError
from planwise.optimization.targets import Mode
from planwise.parameters.declarations import parameter_spec
from planwise.parameters.levers import LeverKey, LeverSet, ResolvedLevers
from planwise.simulation.engine import STRUCTURAL_PARAMETERS

__all__ = [
    "DecisionSpace",
    "Grain",
    "LevelOrder",
    "LinearConstraints",
    "OutsideUsualRange",
    "Variable",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_ON_EDGE = 1e-9  # a value this close to a range edge sits on it (lever values are O(0.01–1))


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


class Grain(StrEnum):
    """The directions one phase of the search moves in (see `DecisionSpace.directions`)."""

    VARIABLE = "variable"  # each decision variable on its own (conservative: one per family)
    SCALE = "scale"  # each family in proportion to its start values
    SHIFT = "shift"  # each family by one common shift at every level
    LEVEL = "level"  # each level on its own (a flat family moves as one)


class LevelOrder(StrEnum):
    """How a family's start values run across levels; the search keeps that order."""

    RISING = "rising"  # non-decreasing with level, rising somewhere
    FALLING = "falling"
    FLAT = "flat"  # the same at every level: it moves as one, so it stays flat
    MIXED = "mixed"  # neither: each strictly ordered pair of neighbours keeps its order


@dataclass(frozen=True)
class LinearConstraints:
    """Rows `matrix @ point <= limit` over decision points."""

    matrix: FloatArray
    limit: FloatArray

    def violation(self, point: FloatArray) -> float:
        if len(self.limit) == 0:
            return 0.0
        return float(np.max(self.matrix @ point - self.limit))


@dataclass(frozen=True)
class OutsideUsualRange:
    """A family's moved values beyond one side of its usual range at a point."""

    family: str
    side: str  # "below" or "above"
    levels: tuple[int, ...]
    value: float  # the value farthest outside
    usual_range: tuple[float, float]
    outside_by: float  # how far `value` is from the range, in the lever's unit
    values: tuple[float, ...] = ()  # every value outside on this side (years and levels)


@dataclass(frozen=True)
class _Cells:
    """Every (family, year row, level) value as an affine function of the point:
    value = constant + matrix @ point (rows of unmoved cells are zero)."""

    family: tuple[str, ...]
    row: IntArray
    level: IntArray
    constant: FloatArray
    matrix: FloatArray
    moved: npt.NDArray[np.bool_]
    hard_low: FloatArray
    hard_high: FloatArray
    usual_low: FloatArray  # [min(usual low, start), max(usual high, start)] ∩ hard
    usual_high: FloatArray

    def values(self, point: FloatArray) -> FloatArray:
        return np.asarray(self.constant + self.matrix @ point, dtype=np.float64)


@dataclass(frozen=True)
class DecisionSpace:
    """Maps a vector x to resolved levers and to the rows of a new parameter set."""

    base: ResolvedLevers
    base_set: LeverSet
    variables: tuple[Variable, ...]
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)

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
        return cls(base, base_set, tuple(variables), dict(bounds))

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
    def family_names(self) -> list[str]:
        """The families that may move, once each, in the order they were named."""
        return list(dict.fromkeys(self.families))

    @property
    def replayable(self) -> bool:
        """Replays are exact unless a structural lever (who is promoted) moves."""
        return not any(variable.family in STRUCTURAL_PARAMETERS for variable in self.variables)

    def _hard_range(self, family: str) -> tuple[float, float]:
        return self.bounds.get(family, parameter_spec(family).error_range)

    @cached_property
    def _cells(self) -> _Cells:
        owner: dict[tuple[str, int, int], int] = {}
        for index, variable in enumerate(self.variables):
            for row, level in variable.cells:
                owner[(variable.family, row, level)] = index
        family_of, rows, levels, constant, moved = [], [], [], [], []
        hard_low, hard_high, usual_low, usual_high = [], [], [], []
        matrix_rows: list[FloatArray] = []
        for family in self.family_names:
            low, high = self._hard_range(family)
            usual = parameter_spec(family).warning_range
            for row in range(len(self.base.years)):
                for level in self.base.levels:
                    value = float(self.base.values[family][row, level])
                    coefficients = np.zeros(len(self.variables))
                    mover = owner.get((family, row, level))
                    offset = value
                    if mover is not None:
                        if self.variables[mover].kind == "scale":
                            offset, coefficients[mover] = 0.0, value
                        else:
                            coefficients[mover] = 1.0
                    cell_low, cell_high = min(low, value), max(high, value)
                    soft_low, soft_high = (
                        (cell_low, cell_high)
                        if usual is None
                        else (
                            max(cell_low, min(usual[0], value)),
                            min(cell_high, max(usual[1], value)),
                        )
                    )
                    family_of.append(family)
                    rows.append(row)
                    levels.append(level)
                    constant.append(offset)
                    matrix_rows.append(coefficients)
                    moved.append(mover is not None)
                    hard_low.append(cell_low)
                    hard_high.append(cell_high)
                    usual_low.append(soft_low)
                    usual_high.append(soft_high)
        return _Cells(
            tuple(family_of),
            np.array(rows, dtype=np.int64),
            np.array(levels, dtype=np.int64),
            np.array(constant),
            np.array(matrix_rows).reshape(len(family_of), len(self.variables)),
            np.array(moved, dtype=bool),
            np.array(hard_low),
            np.array(hard_high),
            np.array(usual_low),
            np.array(usual_high),
        )

    def level_order(self, family: str) -> LevelOrder:
        """How the family's start values run across levels (in every simulated year)."""
        values = self.base.values[family][:, list(self.base.levels)]
        steps = np.diff(values, axis=1)
        if np.all(steps == 0):
            return LevelOrder.FLAT
        if np.all(steps >= 0):
            return LevelOrder.RISING
        if np.all(steps <= 0):
            return LevelOrder.FALLING
        return LevelOrder.MIXED

    def _pair_signs(self, family: str) -> list[int]:
        """For each pair of neighbouring levels: +1 keep lower ≤ upper, −1 keep ≥, 0 free."""
        order = self.level_order(family)
        if order in (LevelOrder.RISING, LevelOrder.FALLING):
            sign = 1 if order == LevelOrder.RISING else -1
            return [sign] * (len(self.base.levels) - 1)
        if order == LevelOrder.FLAT:
            return [0] * (len(self.base.levels) - 1)
        steps = np.diff(self.base.values[family][:, list(self.base.levels)], axis=1)
        return [
            1 if np.all(step >= 0) and np.any(step > 0) else -1 if np.all(step <= 0) else 0
            for step in steps.T
        ]

    @cached_property
    def _order_constraints(self) -> LinearConstraints:
        cells = self._cells
        index = {
            (family, int(row), int(level)): position
            for position, (family, row, level) in enumerate(
                zip(cells.family, cells.row, cells.level, strict=True)
            )
        }
        matrix: list[FloatArray] = []
        limit: list[float] = []
        for family in self.family_names:
            for pair, sign in enumerate(self._pair_signs(family)):
                if sign == 0:
                    continue
                lower_level, upper_level = self.base.levels[pair], self.base.levels[pair + 1]
                for row in range(len(self.base.years)):
                    low = index[(family, row, lower_level)]
                    high = index[(family, row, upper_level)]
                    coefficients = sign * (cells.matrix[low] - cells.matrix[high])
                    if not coefficients.any():
                        continue
                    matrix.append(coefficients)
                    limit.append(-sign * (cells.constant[low] - cells.constant[high]))
        return LinearConstraints(
            np.array(matrix).reshape(len(matrix), len(self.variables)), np.array(limit)
        )

    def constraints(self, relaxed: Collection[str] = ()) -> LinearConstraints:
        """The region the search moves in: hard bounds, the usual ranges of the families not
        `relaxed`, and the level order of every family (rows `matrix @ point <= limit`)."""
        cells = self._cells
        moved = cells.moved
        soft = np.array([family not in relaxed for family in cells.family]) & moved
        high = np.where(soft, cells.usual_high, cells.hard_high)[moved]
        low = np.where(soft, cells.usual_low, cells.hard_low)[moved]
        matrix = cells.matrix[moved]
        constant = cells.constant[moved]
        order = self._order_constraints
        return LinearConstraints(
            np.vstack([matrix, -matrix, order.matrix]),
            np.concatenate([high - constant, constant - low, order.limit]),
        )

    def inside(self, point: FloatArray, relaxed: Collection[str] = ()) -> bool:
        return self.constraints(relaxed).violation(point) <= _ON_EDGE

    def at_usual_edge(self, point: FloatArray, relaxed: Collection[str] = ()) -> list[str]:
        """Families (not yet relaxed) with a moved value held at its usual range's edge
        where the hard bound would let it go further: relaxing them may help."""
        cells = self._cells
        values = cells.values(point)
        held = (
            (values <= cells.usual_low + _ON_EDGE) & (cells.usual_low > cells.hard_low + _ON_EDGE)
        ) | (
            (values >= cells.usual_high - _ON_EDGE)
            & (cells.usual_high < cells.hard_high - _ON_EDGE)
        )
        families = {family for family, hit in zip(cells.family, held & cells.moved, strict=True)}
        return [f for f in self.family_names if f in families and f not in relaxed]

    def outside_usual_range(self, point: FloatArray) -> list[OutsideUsualRange]:
        """Moved values outside their usual-range box, one entry per family and side.

        The box is [min(usual low, start), max(usual high, start)], so a start the analyst
        set outside its usual range is not reported unless the answer moved it further out;
        `outside_by` is measured from the usual range itself."""
        cells = self._cells
        values = cells.values(point)
        found: list[OutsideUsualRange] = []
        for family in self.family_names:
            usual = parameter_spec(family).warning_range
            if usual is None:
                continue
            mine = np.array([name == family for name in cells.family]) & cells.moved
            for side in ("below", "above"):
                beyond = (
                    values < cells.usual_low - _ON_EDGE
                    if side == "below"
                    else values > cells.usual_high + _ON_EDGE
                ) & mine
                if not beyond.any():
                    continue
                distance = usual[0] - values if side == "below" else values - usual[1]
                farthest = int(np.argmax(np.where(beyond, distance, -np.inf)))
                found.append(
                    OutsideUsualRange(
                        family,
                        side,
                        tuple(sorted({int(level) for level in cells.level[beyond]})),
                        float(values[farthest]),
                        usual,
                        float(distance[farthest]),
                        tuple(float(value) for value in values[beyond]),
                    )
                )
        return found

    def excursion(self, point: FloatArray) -> float:
        """How far outside their usual ranges the moved values are, in usual-range widths
        (summed over families and sides): 0 inside."""
        return sum(
            outside.outside_by / (outside.usual_range[1] - outside.usual_range[0])
            for outside in self.outside_usual_range(point)
        )

    def directions(self, grain: Grain) -> tuple[FloatArray, FloatArray]:
        """The basis (variables × directions) of a phase and each direction's typical step.

        SCALE moves each family's per-level shifts in proportion to its start values (a
        relative change); SHIFT moves them together; LEVEL moves each level on its own,
        except that a flat family moves as one.
        """
        typical = self.typical
        if grain == Grain.VARIABLE:
            return np.eye(len(self.variables)), typical
        labels = np.asarray(self.families, dtype=object)
        columns: list[FloatArray] = []
        steps: list[float] = []
        for family in self.family_names:
            members = np.flatnonzero(labels == family)
            if grain == Grain.LEVEL and self.level_order(family) != LevelOrder.FLAT:
                for member in members:
                    column = np.zeros(len(self.variables))
                    column[member] = 1.0
                    columns.append(column)
                    steps.append(float(typical[member]))
                continue
            column = np.zeros(len(self.variables))
            if grain == Grain.SCALE and self.variables[members[0]].kind == "shift":
                starts = np.array(
                    [
                        np.mean([self.base.values[family][r, lv] for r, lv in v.cells])
                        for v in (self.variables[m] for m in members)
                    ]
                )
                if not np.any(starts):
                    continue
                column[members] = starts
                steps.append(float(np.mean(typical[members]) / np.mean(np.abs(starts))))
            else:
                column[members] = 1.0
                steps.append(float(np.mean(typical[members])))
            columns.append(column)
        basis = np.array(columns).T.reshape(len(self.variables), len(columns))
        return basis, np.array(steps)

    def resolved(self, point: FloatArray) -> ResolvedLevers:
        values = {name: array.copy() for name, array in self.base.values.items()}
        for variable, x in zip(self.variables, point, strict=True):
            array = values[variable.family]
            rows = [row for row, _ in variable.cells]
            levels = [level for _, level in variable.cells]
            start = self.base.values[variable.family][rows, levels]
            moved = start * x if variable.kind == "scale" else start + x
            # bounds are hard: rounding in a step never takes a value past one
            low, high = self._hard_range(variable.family)
            array[rows, levels] = np.clip(moved, np.minimum(low, start), np.maximum(high, start))
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
