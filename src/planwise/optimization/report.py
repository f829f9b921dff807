"""What an optimization reports: verdict, per-target table, what changed, levers outside
their usual range, lever path, sensitivities, robustness."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from planwise.optimization.targets import Mode

__all__ = [
    "ChangeKind",
    "IterationKind",
    "IterationRecord",
    "LeverChange",
    "LeverRangeWarning",
    "OptimizationResult",
    "OptimizationStatus",
    "RobustnessRow",
    "StopReason",
    "TargetRow",
    "Verdict",
]


class IterationKind(StrEnum):
    """What an iteration was. Full simulations (start, step, probe, resume) are stored with
    a parameter set and a run; replays recompute pay on a stored structure and are counted
    separately; a failed iteration records its error."""

    START = "start"
    STEP = "step"
    PROBE = "probe"
    RESUME = "resume"
    REPLAY = "replay"
    FAILED = "failed"

    @property
    def is_simulation(self) -> bool:
        return self in _SIMULATION_KINDS


_SIMULATION_KINDS = frozenset(
    {IterationKind.START, IterationKind.STEP, IterationKind.PROBE, IterationKind.RESUME}
)


class StopReason(StrEnum):
    """Why a loop stopped (tuning-loop.md, "When it cannot converge")."""

    CONVERGED = "converged"
    INFEASIBLE = "infeasible"
    CONFLICTING = "conflicting"
    INSENSITIVE = "insensitive"
    BUDGET = "budget"
    FAILED = "failed"


class OptimizationStatus(StrEnum):
    """The stored state of an optimization run."""

    RUNNING = "running"
    CONVERGED = "converged"
    CONVERGED_WITH_WARNINGS = "converged_with_warnings"
    """Every target met, with a lever outside its usual range (see the lever warnings)."""
    NOT_CONVERGED = "not_converged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Stored as running, but the process writing it is gone (derived when read)."""


class Verdict(StrEnum):
    """The answer in one word: met with every lever in its usual range, met only with a
    lever outside it (shown amber), or not met."""

    CONVERGED = "converged"
    CONVERGED_WITH_WARNINGS = "converged_with_warnings"
    NOT_CONVERGED = "not_converged"

    @property
    def converged(self) -> bool:
        return self != Verdict.NOT_CONVERGED

    @property
    def status(self) -> OptimizationStatus:
        """The stored status of a finished optimization with this verdict."""
        return OptimizationStatus(self.value)


class ChangeKind(StrEnum):
    """How a lever family moved from the start to the answer."""

    UNCHANGED = "unchanged"
    SHIFT = "shift"  # the same change (pp for rates) at every level
    SCALE = "scale"  # the same factor at every level: moves in proportion to the start
    PER_LEVEL = "per_level"  # levels moved by different amounts


@dataclass(frozen=True)
class LeverRangeWarning:
    """A lever the answer moved outside its usual range (its declared warning range).

    `value` is the value farthest outside, `outside_by` its distance from the usual range
    in the lever's unit (0.005 is 0.5 pp for a rate; a multiplier's difference otherwise),
    `levels` the job levels outside, and `message` the whole plain sentence: the lever,
    the levels, the value, the usual range, how far outside and why (the targets that
    missed their tolerance at the best point inside the usual ranges).
    """

    lever: str
    label: str
    levels: tuple[int, ...]
    value: float
    usual_low: float
    usual_high: float
    outside_by: float
    message: str
    side: str = "below"  # "below" or "above" the usual range


@dataclass(frozen=True)
class LeverChange:
    """What the answer did to one lever family, against the start (first simulated year).

    `summary` is the plain phrase (`COLA 2.0% → 1.6% at every level`); `shift` is the
    common change of a SHIFT, `scale` the common factor of a SCALE."""

    lever: str
    label: str
    kind: ChangeKind
    summary: str
    levels: tuple[int, ...] = ()
    before: tuple[float, ...] = ()
    after: tuple[float, ...] = ()
    shift: float | None = None
    scale: float | None = None


@dataclass(frozen=True)
class IterationRecord:
    """One step of the loop (see `IterationKind`)."""

    iteration: int
    kind: IterationKind
    parameter_set_id: int | None
    run_id: int | None
    levers: dict[str, float]
    metrics: dict[str, float]
    residuals: dict[str, float]
    within_tolerance: bool
    error: str | None = None
    point: list[float] = field(default_factory=list)

    @property
    def is_simulation(self) -> bool:
        return self.kind.is_simulation


@dataclass(frozen=True)
class TargetRow:
    """A target at the start and at the answer.

    A one-sided target has `bound` `at_most` or `at_least` (`target_value` is the bound,
    `tolerance` the margin aimed inside it); a robust one names its `statistic` over
    `seeds` seeds — its values are that statistic — and `share_inside` is the share of
    those seeds on which the target is met at the answer (`start_share_inside` at the
    start); `share` is the share a `share_within` target requires.
    """

    name: str
    metric: str
    year: str
    start_value: float
    final_value: float
    target_value: float
    tolerance: float
    within_tolerance: bool
    bound: str | None = None
    statistic: str | None = None
    share: float | None = None
    seeds: int | None = None
    share_inside: float | None = None
    start_share_inside: float | None = None

    def inside(self, value: float) -> bool:
        """`value` meets the target: within ± tolerance, or on the right side of the bound."""
        if self.bound == "at_most":
            return value <= self.target_value
        if self.bound == "at_least":
            return value >= self.target_value
        return abs(value - self.target_value) <= self.tolerance

    @property
    def goal(self) -> str:
        """The target in a few characters: `≤ 1.6e+09`, `≥ 0.9`, `0.045 ± 0.0005`, with the
        statistic when robust (`P90 ≤ 1.6e+09`, `≤ 1.6e+09 in 90 % of seeds`)."""
        if self.bound == "at_most":
            text = f"≤ {_number(self.target_value)}"
        elif self.bound == "at_least":
            text = f"≥ {_number(self.target_value)}"
        else:
            text = f"{_number(self.target_value)} ± {_number(self.tolerance)}"
        if self.statistic == "share_within" and self.share is not None:
            return f"{text} in {self.share:.0%} of seeds"
        if self.statistic is not None:
            return f"{self.statistic.upper()} {text}"
        return text


@dataclass(frozen=True)
class RobustnessRow:
    name: str
    metric: str
    mean: float
    p10: float
    p90: float
    share_within: float
    spread_exceeds_tolerance: bool


@dataclass
class OptimizationResult:
    optimization_id: int
    scenario_id: str
    mode: Mode
    converged: bool
    stop_reason: StopReason
    explanation: str
    simulations: int
    replays: int
    iterations: list[IterationRecord]
    best_parameter_set_id: int | None
    best_run_id: int | None
    start_parameter_set_id: int
    target_rows: list[TargetRow]
    sensitivities: dict[str, dict[str, float]]
    robustness: list[RobustnessRow] | None
    robustness_warning: str | None
    duration_seconds: float
    applied: bool = False
    ignored_keys: list[str] = field(default_factory=list)
    verdict: Verdict = Verdict.NOT_CONVERGED
    """Follows `converged` when left out: CONVERGED_WITH_WARNINGS needs saying."""
    lever_warnings: list[LeverRangeWarning] = field(default_factory=list)
    changes: list[LeverChange] = field(default_factory=list)
    change_summary: str = ""
    robust_seeds: list[int] = field(default_factory=list)
    """The seeds robust targets are measured on (the loop's seed first); empty otherwise."""
    seed_plans: int = 0
    """Full simulations in memory, one per extra seed, whose plans the replays reuse (not
    stored, and counted apart from `simulations`)."""
    seed_replays: int = 0
    """Pay replays on single seeds: K per robust candidate, K − 1 per stored simulation."""

    def __post_init__(self) -> None:
        if self.converged and self.verdict == Verdict.NOT_CONVERGED:
            self.verdict = Verdict.CONVERGED

    @property
    def lever_path(self) -> list[dict[str, Any]]:
        return [
            {"iteration": record.iteration, "kind": record.kind, **record.levers}
            for record in self.iterations
            if record.is_simulation
        ]

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["lever_path"] = self.lever_path
        cleaned: dict[str, Any] = _finite(payload)
        return cleaned

    @classmethod
    def from_report(
        cls, report: dict[str, Any], iterations: list[IterationRecord]
    ) -> OptimizationResult:
        """Rebuild a stored result (`to_dict()` without its iterations)."""
        fields = {key: value for key, value in report.items() if key != "lever_path"}
        fields["iterations"] = iterations
        fields["mode"] = Mode(report["mode"])
        fields["stop_reason"] = StopReason(report["stop_reason"])
        fields["target_rows"] = [TargetRow(**row) for row in report["target_rows"]]
        # reports stored before verdicts and lever changes existed load with defaults
        fields["verdict"] = Verdict(
            report.get("verdict")
            or (Verdict.CONVERGED if report["converged"] else Verdict.NOT_CONVERGED)
        )
        fields["lever_warnings"] = [
            LeverRangeWarning(**{**warning, "levels": tuple(warning["levels"])})
            for warning in report.get("lever_warnings") or []
        ]
        fields["changes"] = [
            LeverChange(
                **{
                    **change,
                    "kind": ChangeKind(change["kind"]),
                    **{key: tuple(change.get(key) or ()) for key in ("levels", "before", "after")},
                }
            )
            for change in report.get("changes") or []
        ]
        fields["change_summary"] = report.get("change_summary") or ""
        robustness = report.get("robustness")
        fields["robustness"] = (
            None if robustness is None else [RobustnessRow(**row) for row in robustness]
        )
        for row in fields["target_rows"]:
            for name in ("start_value", "final_value"):
                if getattr(row, name) is None:
                    object.__setattr__(row, name, math.nan)
        return cls(**fields)

    def target_table_markdown(self) -> str:
        """The per-target table; with robust targets, the goal column reads `P90 ≤ …` and
        a last column gives the share of seeds on which each robust target is met."""
        if any(row.bound or row.statistic for row in self.target_rows):
            return self._goal_table_markdown()
        lines = [
            "| target | metric | year | start | final | target | tolerance | within |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in self.target_rows:
            lines.append(
                f"| {row.name} | {row.metric} | {row.year} | {_number(row.start_value)} | "
                f"{_number(row.final_value)} | {_number(row.target_value)} | "
                f"±{_number(row.tolerance)} | {'yes' if row.within_tolerance else 'no'} |"
            )
        return "\n".join(lines)

    def _goal_table_markdown(self) -> str:
        lines = [
            "| target | metric | year | start | final | goal | within | seeds inside |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in self.target_rows:
            inside = "–" if row.share_inside is None else f"{row.share_inside:.0%} of {row.seeds}"
            lines.append(
                f"| {row.name} | {row.metric} | {row.year} | {_number(row.start_value)} | "
                f"{_number(row.final_value)} | {row.goal} | "
                f"{'yes' if row.within_tolerance else 'no'} | {inside} |"
            )
        return "\n".join(lines)


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.6g}"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
