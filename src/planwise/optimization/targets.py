"""The targets file (`targets.yaml`, tuning-loop.md): what the analyst wants, validated up front.

Accepts the reference story's `optimization:` / `targets:` blocks. Keys that format has
but we do not need (`adjustment_factor`, `parallel_scenarios`) are accepted and reported
as ignored; any other unknown key is an error naming it.

A target is two-sided (`target_value: T` ± tolerance s) or one-sided, a budget or a floor
(`at_most: X` / `at_least: X`): exactly one of the three. On a one-sided target the
tolerance is the margin the loop aims inside the bound. Every target is driven by a
residual r, and met when |r| ≤ 1 (the same rule for all):

    target_value  r = (v − T) / s               met ⇔ T − s ≤ v ≤ T + s
    at_most       r = max(0, (v − X) / s + 1)   met ⇔ v ≤ X; r = 0 from X − s down
    at_least      r = min(0, (v − X) / s − 1)   met ⇔ v ≥ X; r = 0 from X + s up

A target may name a `statistic` over `optimization.robust_seeds: K` seeds (the loop's seed
and the K − 1 after it): `mean`, `p10`, `p50`, `p90` (percentiles interpolate linearly, as
the ensemble bands do), or `share_within` with `share: q` — "inside the target in at least
q of the seeds" — whose value is the seed at rank ⌈qK⌉ (see `planwise.optimization.robust`).

```yaml
optimization:
  robust_seeds: 8
targets:
  cost_budget:
    metric: total_compensation_cost
    at_most: 160000000        # final-year cost at most $160M …
    tolerance_pct: 0.005      # … aiming up to 0.5 % below it
    statistic: p90            # … on the 90th percentile of the 8 seeds
  compensation_growth_cagr:
    target_value: 0.045       # CAGR 4.5 % ± 0.05 pp on the median seed
    tolerance: 0.0005
    statistic: p50
```
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
from planwise.parameters.declarations import PARAMETERS, STRUCTURAL_PARAMETERS, parameter_spec

__all__ = [
    "DEFAULT_LEVERS",
    "IGNORED_KEYS",
    "MAX_ROBUST_SEEDS",
    "MIN_ROBUST_SEEDS",
    "MODES",
    "PRIORITY_WEIGHTS",
    "Bound",
    "Mode",
    "Priority",
    "Statistic",
    "StoredEvents",
    "Target",
    "Targets",
    "load_targets",
]


class StoredEvents(StrEnum):
    """Which of a loop's full simulations keep their event log and snapshots (each keeps
    its metrics and parameter set): the start and the answer (default — at a million
    employees a stored simulation is about 570 MB), or all of them."""

    START_AND_ANSWER = "start_and_answer"
    ALL = "all"


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


class Bound(StrEnum):
    """Which side of its value a target bounds: both (± tolerance), or one (a budget, a
    floor). Each value is the key that gives it in the targets file."""

    TWO_SIDED = "target_value"
    AT_MOST = "at_most"
    AT_LEAST = "at_least"


class Statistic(StrEnum):
    """What a robust target measures over its seeds."""

    MEAN = "mean"
    P10 = "p10"
    P50 = "p50"
    P90 = "p90"
    SHARE_WITHIN = "share_within"
    """Inside the target in at least `share` of the seeds."""


MODES = tuple(Mode)
MIN_ROBUST_SEEDS = 2
MAX_ROBUST_SEEDS = 64
PRIORITY_WEIGHTS = {Priority.HIGH: 3.0, Priority.MEDIUM: 2.0, Priority.LOW: 1.0}
DEFAULT_LEVERS = ("merit_base", "cola_rate", "new_hire_salary_adjustment")
IGNORED_KEYS = frozenset({"adjustment_factor", "parallel_scenarios"})
YEAR_WORDS = ("final", "each", "average")


class _TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str | None = None
    target_value: float | None = None
    at_most: float | None = None
    at_least: float | None = None
    statistic: Statistic | None = None
    share: float | None = Field(default=None, gt=0, le=1)
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
        return self

    @property
    def bound(self) -> Bound | None:
        given = [bound for bound in Bound if getattr(self, bound.value) is not None]
        return given[0] if len(given) == 1 else None

    @property
    def value(self) -> float:
        """The target value or the bound (the one given)."""
        bound = self.bound
        found = None if bound is None else getattr(self, bound.value)
        return math.nan if found is None else float(found)


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
    robust_seeds: int | None = Field(default=None, ge=MIN_ROBUST_SEEDS, le=MAX_ROBUST_SEEDS)
    store_events: StoredEvents = StoredEvents.START_AND_ANSWER
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
    """One target: a metric (in a year, the final year, each year, or on average), met
    within ± tolerance of `target_value`, or — one-sided — at most / at least that bound
    (the tolerance then is the margin the loop aims inside it); with a `statistic`, the
    metric's statistic over the robust seeds."""

    name: str
    metric: str
    target_value: float
    """The target value, or the bound of a one-sided target."""
    tolerance: float
    priority: Priority
    year: int | str
    bound: Bound = Bound.TWO_SIDED
    statistic: Statistic | None = None
    share: float | None = None
    """The share of seeds that must be inside the target (statistic `share_within`)."""

    @property
    def weight(self) -> float:
        return PRIORITY_WEIGHTS[self.priority]

    @property
    def robust(self) -> bool:
        """Measured over the robust seeds (else on the loop's seed alone)."""
        return self.statistic is not None

    def residual(self, value: float) -> float:
        """The tolerance-scaled residual the loop drives to 0; the target is met when it
        is at most 1 in size (module docstring).

        >>> budget = Target("cost", "total_compensation_cost", 100.0, 2.0, Priority.HIGH,
        ...                 "final", Bound.AT_MOST)
        >>> [budget.residual(v) for v in (97.0, 98.0, 100.0, 101.0)]
        [0.0, 0.0, 1.0, 1.5]
        """
        deviation = (value - self.target_value) / self.tolerance
        if self.bound == Bound.AT_MOST:
            return max(0.0, deviation + 1.0)
        if self.bound == Bound.AT_LEAST:
            return min(0.0, deviation - 1.0)
        return deviation

    def inside(self, value: float) -> bool:
        """The value meets the target (within tolerance, or on the right side of the bound)."""
        return abs(self.residual(value)) <= 1.0


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
    robust_seeds: int = 0
    """K: the seeds a target's statistic is taken over (0 when no target names one)."""
    store_events: StoredEvents = StoredEvents.START_AND_ANSWER
    """Which full simulations keep their events; every one keeps its metrics."""

    @property
    def robust(self) -> bool:
        """Some target is a statistic over the robust seeds."""
        return any(target.robust for target in self.targets)

    def seeds(self, seed: int) -> tuple[int, ...]:
        """The seeds a candidate is evaluated on: the loop's seed first, then the K − 1
        after it (just the loop's seed when no target is robust)."""
        return tuple(range(seed, seed + max(self.robust_seeds, 1)))

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
    band = abs(spec.value) * relative
    if band <= 0:
        bound = spec.bound or Bound.TWO_SIDED
        what = "a target_value" if bound == Bound.TWO_SIDED else f"a bound ({bound.value})"
        raise UserError(
            f"targets.{name}: a relative tolerance of {what} of 0 is 0; "
            "give an absolute `tolerance:` instead."
        )
    return band


def _target_problems(spec: _TargetSpec, name: str) -> list[Problem]:
    """What the model's types cannot say: one value or bound, finite; a share exactly
    when the statistic is share_within."""
    where = f"targets.{name}"
    given = [bound.value for bound in Bound if getattr(spec, bound.value) is not None]
    if not given:
        return [
            Problem(
                "targets",
                "needs `target_value:` (± tolerance), or `at_most:` / `at_least:` for a "
                "one-sided target",
                column=where,
            )
        ]
    if len(given) > 1:
        return [
            Problem(
                "targets",
                f"give exactly one of target_value, at_most or at_least, not {' and '.join(given)}",
                column=where,
            )
        ]
    problems: list[Problem] = []
    if not math.isfinite(spec.value):
        problems.append(
            Problem("targets", f"{given[0]} must be a finite number", column=f"{where}.{given[0]}")
        )
    if spec.statistic == Statistic.SHARE_WITHIN and spec.share is None:
        problems.append(
            Problem(
                "targets",
                "statistic share_within needs `share: q` (0 < q ≤ 1), the share of seeds "
                "that must be inside the target",
                column=f"{where}.share",
            )
        )
    if spec.share is not None and spec.statistic != Statistic.SHARE_WITHIN:
        problems.append(
            Problem(
                "targets",
                "share applies only to `statistic: share_within`",
                column=f"{where}.share",
            )
        )
    return problems


def _robust_problems(optimization: _OptimizationSpec, targets: list[Target]) -> list[Problem]:
    """Robust targets need robust_seeds, and robust_seeds needs one; the seeds' plans are
    replayed, so no lever that decides who is promoted may move."""
    robust = [target.name for target in targets if target.robust]
    if robust and optimization.robust_seeds is None:
        return [
            Problem(
                "targets",
                f"{', '.join(robust)} {'names' if len(robust) == 1 else 'name'} a statistic "
                "over seeds: set `robust_seeds: K` "
                f"({MIN_ROBUST_SEEDS}–{MAX_ROBUST_SEEDS}), the number of seeds",
                column="optimization.robust_seeds",
            )
        ]
    if not robust and optimization.robust_seeds is not None:
        return [
            Problem(
                "targets",
                "no target names a `statistic` (mean, p10, p50, p90 or share_within) to take "
                "over the seeds: add one to a target or leave robust_seeds out",
                column="optimization.robust_seeds",
            )
        ]
    structural = [lever for lever in optimization.levers if lever in STRUCTURAL_PARAMETERS]
    if robust and structural:
        return [
            Problem(
                "targets",
                f"{', '.join(structural)} decides who is promoted, which robust targets keep "
                "fixed (each seed's plans are replayed with new pay): leave it out of the "
                "levers, or drop the statistics",
                column="optimization.levers",
            )
        ]
    return []


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
        found = _target_problems(spec, str(name))
        if found:
            problems.extend(found)
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
                target_value=spec.value,
                tolerance=_tolerance(spec, default_relative, str(name)),
                priority=spec.priority,
                year=spec.year,
                bound=spec.bound or Bound.TWO_SIDED,
                statistic=spec.statistic,
                share=spec.share,
            )
        )
    if not problems:
        problems = _robust_problems(optimization, targets)
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
        robust_seeds=optimization.robust_seeds or 0,
        store_events=optimization.store_events,
    )
