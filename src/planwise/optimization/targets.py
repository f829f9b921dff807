"""The targets file (`targets.yaml`, tuning-loop.md): what the analyst wants, validated up front.

Accepts the reference story's `optimization:` / `targets:` blocks. Keys that format has
but we do not need (`adjustment_factor`, `parallel_scenarios`) are accepted and reported
as ignored; any other unknown key is an error naming it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planwise.config import YAML_LOADER
from planwise.errors import Problem, UserError, ValidationFailed
from planwise.metrics import METRICS
from planwise.parameters.declarations import PARAMETERS, parameter_spec

__all__ = [
    "DEFAULT_LEVERS",
    "IGNORED_KEYS",
    "MODES",
    "PRIORITY_WEIGHTS",
    "Mode",
    "Priority",
    "Target",
    "Targets",
    "load_targets",
]


class Mode(StrEnum):
    """How far and how freely the levers move (tuning-loop.md, "Modes")."""

    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


class Priority(StrEnum):
    """A target's weight when targets conflict."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


MODES = tuple(Mode)
PRIORITY_WEIGHTS = {Priority.HIGH: 3.0, Priority.MEDIUM: 2.0, Priority.LOW: 1.0}
DEFAULT_LEVERS = ("merit_base", "cola_rate", "new_hire_salary_adjustment")
IGNORED_KEYS = frozenset({"adjustment_factor", "parallel_scenarios"})
YEAR_WORDS = ("final", "each", "average")


class _TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str | None = None
    target_value: float
    tolerance_pct: float | None = Field(default=None, gt=0)
    tolerance: float | None = Field(default=None, gt=0)
    priority: Priority = Priority.MEDIUM
    year: int | Literal["final", "each", "average"] = "final"
    adjustment_factor: float | None = None

    @model_validator(mode="after")
    def _one_tolerance(self) -> _TargetSpec:
        if self.tolerance_pct is not None and self.tolerance is not None:
            raise ValueError(
                "give either tolerance_pct (relative) or tolerance (absolute), not both"
            )
        if not math.isfinite(self.target_value):
            raise ValueError("target_value must be a finite number")
        return self


class _OptimizationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_iterations: int = Field(default=10, ge=1, le=200)
    convergence_tolerance: float = Field(default=0.02, gt=0)
    tolerance: float | None = Field(
        default=None, gt=0, description="alias of convergence_tolerance"
    )
    mode: Mode = Mode.BALANCED
    levers: list[str] = Field(default_factory=lambda: list(DEFAULT_LEVERS))
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    robustness_seeds: int = Field(default=0, ge=0, le=100)
    seed: int | None = Field(default=None, ge=0)
    adjustment_factor: float | None = None
    parallel_scenarios: int | None = None

    @model_validator(mode="after")
    def _levers_known(self) -> _OptimizationSpec:
        known = {spec.name for spec in PARAMETERS}
        for name in [*self.levers, *self.bounds]:
            if name not in known:
                raise ValueError(f"unknown lever '{name}'; known: {', '.join(sorted(known))}")
        if not self.levers:
            raise ValueError("levers must name at least one lever that may move")
        for name, (low, high) in self.bounds.items():
            error_low, error_high = parameter_spec(name).error_range
            if not error_low <= low < high <= error_high:
                raise ValueError(
                    f"bounds of {name} must satisfy {error_low:g} ≤ low < high ≤ {error_high:g}, "
                    f"got [{low:g}, {high:g}]"
                )
        return self


@dataclass(frozen=True)
class Target:
    """One target: a metric (in a year, the final year, each year, or on average)."""

    name: str
    metric: str
    target_value: float
    tolerance: float
    priority: Priority
    year: int | str

    @property
    def weight(self) -> float:
        return PRIORITY_WEIGHTS[self.priority]


@dataclass(frozen=True)
class Targets:
    targets: tuple[Target, ...]
    max_iterations: int = 10
    mode: Mode = Mode.BALANCED
    levers: tuple[str, ...] = DEFAULT_LEVERS
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    robustness_seeds: int = 0
    seed: int | None = None
    ignored: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)

    def bounds_for(self, lever: str) -> tuple[float, float]:
        return self.bounds.get(lever, parameter_spec(lever).error_range)

    def check_years(self, first_year: int, last_year: int) -> None:
        """A year outside the simulated range is rejected, naming the target."""
        for target in self.targets:
            if isinstance(target.year, int) and not first_year <= target.year <= last_year:
                raise UserError(
                    f"targets.{target.name}.year = {target.year} is outside the simulated years "
                    f"{first_year}–{last_year}."
                )


def _tolerance(spec: _TargetSpec, default_relative: float, name: str) -> float:
    if spec.tolerance is not None:
        return spec.tolerance
    relative = spec.tolerance_pct if spec.tolerance_pct is not None else default_relative
    band = abs(spec.target_value) * relative
    if band <= 0:
        raise UserError(
            f"targets.{name}: a relative tolerance of a target_value of 0 is 0; "
            "give an absolute `tolerance:` instead."
        )
    return band


def _problems(error: ValidationError, prefix: str) -> list[Problem]:
    return [
        Problem(
            rule="targets",
            column=".".join([prefix, *(str(part) for part in issue["loc"])]).strip("."),
            message=issue["msg"],
        )
        for issue in error.errors()
    ]


def load_targets(
    source: Path | str | Mapping[str, Any],
    *,
    mode: str | None = None,
    max_iterations: int | None = None,
    tolerance: float | None = None,
) -> Targets:
    """Parse and validate a targets file (or mapping); overrides come from the command line."""
    origin = str(source) if isinstance(source, Path | str) else "targets"
    if isinstance(source, Path | str):
        path = Path(source)
        if not path.exists():
            raise UserError(f"The targets file {path} does not exist.")
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
        except yaml.YAMLError as error:
            raise ValidationFailed(origin, [Problem("yaml", f"not valid YAML: {error}")]) from None
    else:
        raw = dict(source)
    if not isinstance(raw, dict):
        raise ValidationFailed(origin, [Problem("targets", "must be a mapping")])
    unknown = sorted(set(raw) - {"optimization", "targets"})
    if unknown:
        raise ValidationFailed(
            origin,
            [Problem("targets", f"unknown top-level key '{key}'", column=key) for key in unknown],
        )
    options = dict(raw.get("optimization") or {})
    if mode is not None:
        options["mode"] = mode
    if max_iterations is not None:
        options["max_iterations"] = max_iterations
    if tolerance is not None:
        options["convergence_tolerance"] = tolerance
    try:
        optimization = _OptimizationSpec.model_validate(options)
    except ValidationError as error:
        raise ValidationFailed(origin, _problems(error, "optimization")) from None
    ignored = [f"optimization.{key}" for key in sorted(IGNORED_KEYS) if key in options]
    # The reference story calls the default relative tolerance `tolerance`.
    default_relative = (
        optimization.tolerance
        if optimization.tolerance is not None and "convergence_tolerance" not in options
        else optimization.convergence_tolerance
    )

    entries = raw.get("targets")
    if not isinstance(entries, dict) or not entries:
        raise ValidationFailed(origin, [Problem("targets", "needs a non-empty `targets:` mapping")])
    targets: list[Target] = []
    problems: list[Problem] = []
    for name, body in entries.items():
        try:
            spec = _TargetSpec.model_validate(
                body if isinstance(body, dict) else {"target_value": body}
            )
        except ValidationError as error:
            problems.extend(_problems(error, f"targets.{name}"))
            continue
        metric = spec.metric or str(name)
        if metric not in METRICS:
            problems.append(
                Problem(
                    "targets",
                    f"unknown metric '{metric}'; known: {', '.join(METRICS)}",
                    column=f"targets.{name}",
                )
            )
            continue
        if not METRICS[metric].per_year and spec.year != "final":
            problems.append(
                Problem(
                    "targets",
                    f"{metric} covers the whole horizon: leave `year` out",
                    column=f"targets.{name}.year",
                )
            )
            continue
        if spec.adjustment_factor is not None:
            ignored.append(f"targets.{name}.adjustment_factor")
        targets.append(
            Target(
                name=str(name),
                metric=metric,
                target_value=spec.target_value,
                tolerance=_tolerance(spec, default_relative, str(name)),
                priority=spec.priority,
                year=spec.year,
            )
        )
    if problems:
        raise ValidationFailed(origin, problems)
    return Targets(
        targets=tuple(targets),
        max_iterations=optimization.max_iterations,
        mode=optimization.mode,
        levers=tuple(dict.fromkeys(optimization.levers)),
        bounds=dict(optimization.bounds),
        robustness_seeds=optimization.robustness_seeds,
        seed=optimization.seed,
        ignored=tuple(ignored),
        source=raw,
    )
