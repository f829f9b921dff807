"""Lever values of a parameter set, and their resolution per (year, level) for the engine.

Resolution for (scenario, year, level, parameter): the scenario's own row, else the
`default` scenario's row, else the built-in default; a year with no row takes the nearest
earlier year's row (simulation-model.md §4).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from planwise.parameters.declarations import PARAMETERS, parameter_spec

__all__ = [
    "DEFAULT_SCENARIO",
    "Lever",
    "LeverDifference",
    "LeverKey",
    "LeverSet",
    "ResolvedDifference",
    "ResolvedLevers",
    "default_lever_set",
    "diff_lever_sets",
    "diff_resolved",
    "resolve_levers",
]

DEFAULT_SCENARIO = "default"
SOURCE_SCENARIO = "scenario"
SOURCE_DEFAULT = "default scenario"
SOURCE_BUILT_IN = "built-in"

LeverKey = tuple[str, int, int]
"""(parameter_name, fiscal_year, job_level)"""


@dataclass(frozen=True)
class Lever:
    """One row of `comp_levers`: a value for a parameter, fiscal year and job level."""

    parameter_name: str
    fiscal_year: int
    job_level: int
    value: float
    is_locked: bool = False

    @property
    def key(self) -> LeverKey:
        return (self.parameter_name, self.fiscal_year, self.job_level)

    @property
    def event_type(self) -> str:
        return parameter_spec(self.parameter_name).event_type


@dataclass(frozen=True)
class LeverSet:
    """The rows of one parameter set (possibly sparse: resolution fills the gaps)."""

    scenario_id: str
    levers: tuple[Lever, ...]
    _index: dict[LeverKey, Lever] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.levers, key=lambda lever: lever.key))
        object.__setattr__(self, "levers", ordered)
        object.__setattr__(self, "_index", {lever.key: lever for lever in ordered})

    def __iter__(self) -> Iterator[Lever]:
        return iter(self.levers)

    def __len__(self) -> int:
        return len(self.levers)

    def get(self, key: LeverKey) -> Lever | None:
        return self._index.get(key)

    def values(self) -> dict[LeverKey, float]:
        return {lever.key: lever.value for lever in self.levers}

    def with_values(self, updates: Mapping[LeverKey, float]) -> LeverSet:
        """A new set with the given rows changed or added (locks are the caller's concern)."""
        rows = dict(self._index)
        for key, value in updates.items():
            current = rows.get(key)
            rows[key] = (
                replace(current, value=float(value))
                if current is not None
                else Lever(key[0], key[1], key[2], float(value))
            )
        return LeverSet(self.scenario_id, tuple(rows.values()))

    def for_scenario(self, scenario_id: str) -> LeverSet:
        return LeverSet(scenario_id, self.levers)


def default_lever_set(start_year: int, levels: Sequence[int]) -> LeverSet:
    """The built-in defaults as rows of the start year for every level."""
    rows = tuple(
        Lever(spec.name, start_year, level, spec.default_for(level))
        for spec in PARAMETERS
        for level in levels
    )
    return LeverSet(DEFAULT_SCENARIO, rows)


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ResolvedLevers:
    """Resolved lever values for each simulated year and level.

    `values[name]` has shape (years, top_level + 1) so the engine can index it with job
    levels directly; column 0 is unused.
    """

    years: tuple[int, ...]
    levels: tuple[int, ...]
    values: Mapping[str, FloatArray]
    sources: Mapping[str, npt.NDArray[np.str_]]
    locked: Mapping[str, npt.NDArray[np.bool_]]

    def for_year(self, year: int) -> dict[str, FloatArray]:
        """Per-parameter arrays indexed by job level, for one simulated year."""
        row = self.years.index(year)
        return {name: array[row] for name, array in self.values.items()}

    def value(self, name: str, year: int, level: int) -> float:
        return float(self.values[name][self.years.index(year), level])

    def rows(self) -> list[dict[str, object]]:
        """The resolved table, one row per (parameter, year, level), with its source."""
        table: list[dict[str, object]] = []
        for spec in PARAMETERS:
            for row, year in enumerate(self.years):
                for level in self.levels:
                    table.append(
                        {
                            "parameter_name": spec.name,
                            "event_type": spec.event_type,
                            "fiscal_year": year,
                            "job_level": level,
                            "parameter_value": float(self.values[spec.name][row, level]),
                            "is_locked": bool(self.locked[spec.name][row, level]),
                            "source": str(self.sources[spec.name][row, level]),
                        }
                    )
        return table


def _nearest_earlier(lever_set: LeverSet | None, name: str, year: int, level: int) -> Lever | None:
    if lever_set is None:
        return None
    best: Lever | None = None
    for lever in lever_set.levers:
        if (
            lever.parameter_name == name
            and lever.job_level == level
            and lever.fiscal_year <= year
            and (best is None or lever.fiscal_year > best.fiscal_year)
        ):
            best = lever
    return best


def resolve_levers(
    years: Sequence[int],
    levels: Sequence[int],
    scenario: LeverSet | None,
    default: LeverSet | None = None,
) -> ResolvedLevers:
    """Resolve every (parameter, year, level): scenario → default scenario → built-in."""
    width = max(levels) + 1
    values: dict[str, FloatArray] = {}
    sources: dict[str, npt.NDArray[np.str_]] = {}
    locked: dict[str, npt.NDArray[np.bool_]] = {}
    layers = [(scenario, SOURCE_SCENARIO), (default, SOURCE_DEFAULT)]
    if scenario is not None and scenario.scenario_id == DEFAULT_SCENARIO:
        layers = [(scenario, SOURCE_SCENARIO)]
    for spec in PARAMETERS:
        value_array = np.zeros((len(years), width), dtype=np.float64)
        source_array = np.full((len(years), width), "", dtype=object)
        locked_array = np.zeros((len(years), width), dtype=np.bool_)
        for row, year in enumerate(years):
            for level in levels:
                found: tuple[Lever, str] | None = None
                for lever_set, label in layers:
                    lever = _nearest_earlier(lever_set, spec.name, year, level)
                    if lever is not None:
                        found = (lever, label)
                        break
                if found is None:
                    value_array[row, level] = spec.default_for(level)
                    source_array[row, level] = SOURCE_BUILT_IN
                else:
                    value_array[row, level] = found[0].value
                    source_array[row, level] = found[1]
                    locked_array[row, level] = found[0].is_locked
        values[spec.name] = value_array
        sources[spec.name] = source_array.astype(np.str_)
        locked[spec.name] = locked_array
    return ResolvedLevers(tuple(years), tuple(levels), values, sources, locked)


@dataclass(frozen=True)
class LeverDifference:
    """One row that differs between two parameter sets (`None`: the set has no such row)."""

    parameter_name: str
    fiscal_year: int
    job_level: int
    before: float | None
    after: float | None
    locked_before: bool | None
    locked_after: bool | None

    @property
    def kind(self) -> str:
        """`added`, `removed`, `changed` (the value) or `lock` (only the lock flag)."""
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed" if self.before != self.after else "lock"

    def as_dict(self) -> dict[str, object]:
        return {
            "parameter_name": self.parameter_name,
            "fiscal_year": self.fiscal_year,
            "job_level": self.job_level,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "locked_before": self.locked_before,
            "locked_after": self.locked_after,
        }


def diff_lever_sets(before: LeverSet, after: LeverSet) -> tuple[LeverDifference, ...]:
    """Rows added, removed or changed (value or lock) from `before` to `after`, by key."""
    differences = []
    for key in sorted(set(before.values()) | set(after.values())):
        old, new = before.get(key), after.get(key)
        if (
            old is not None
            and new is not None
            and old.value == new.value
            and old.is_locked == new.is_locked
        ):
            continue
        differences.append(
            LeverDifference(
                parameter_name=key[0],
                fiscal_year=key[1],
                job_level=key[2],
                before=None if old is None else old.value,
                after=None if new is None else new.value,
                locked_before=None if old is None else old.is_locked,
                locked_after=None if new is None else new.is_locked,
            )
        )
    return tuple(differences)


@dataclass(frozen=True)
class ResolvedDifference:
    """A lever at one level whose value (or lock) differs between two resolved sets over a
    run of consecutive simulated years with the same values."""

    parameter_name: str
    job_level: int
    first_year: int
    last_year: int
    before: float
    after: float
    locked_before: bool
    locked_after: bool

    @property
    def kind(self) -> str:
        """`changed` (the value) or `lock` (only the lock flag)."""
        return "changed" if self.before != self.after else "lock"

    @property
    def years(self) -> str:
        if self.first_year == self.last_year:
            return str(self.first_year)
        return f"{self.first_year}–{self.last_year}"

    def as_dict(self) -> dict[str, object]:
        return {
            "parameter_name": self.parameter_name,
            "job_level": self.job_level,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "locked_before": self.locked_before,
            "locked_after": self.locked_after,
        }


def diff_resolved(before: ResolvedLevers, after: ResolvedLevers) -> tuple[ResolvedDifference, ...]:
    """What a simulation would use differently, from `before` to `after`: every lever and
    level whose resolved value or lock differs, consecutive years with the same change
    merged. Rows a set carries forward unchanged (a later year's row equal to the earlier
    one) are not differences. Both must cover the same years and levels."""
    differences: list[ResolvedDifference] = []
    for spec in PARAMETERS:
        old, new = before.values[spec.name], after.values[spec.name]
        old_lock, new_lock = before.locked[spec.name], after.locked[spec.name]
        for level in before.levels:
            run: ResolvedDifference | None = None
            for row, year in enumerate(before.years):
                change = (
                    float(old[row, level]),
                    float(new[row, level]),
                    bool(old_lock[row, level]),
                    bool(new_lock[row, level]),
                )
                if change[0] == change[1] and change[2] == change[3]:
                    run = None
                    continue
                if (
                    run is not None
                    and (
                        run.before,
                        run.after,
                        run.locked_before,
                        run.locked_after,
                    )
                    == change
                    and run.last_year == year - 1
                ):
                    run = replace(run, last_year=year)
                    differences[-1] = run
                    continue
                run = ResolvedDifference(spec.name, level, year, year, *change)
                differences.append(run)
    return tuple(differences)
