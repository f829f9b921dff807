"""Optimization assets: the tuning loop and the analyst's summary of its result."""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations.

from pathlib import Path
from typing import Any

from pydantic import Field

import dagster as dg
from planwise import application
from planwise.application import (
    IterationFinished,
    OptimizeRequest,
    ProgressEvent,
    ResumeRequest,
    Workspace,
)
from planwise.errors import UserError
from planwise.metrics import METRICS, format_metric
from planwise.optimization import IterationKind, IterationRecord, OptimizationResult
from planwise.parameters import DEFAULT_SCENARIO
from planwise_dagster.answers import (
    VERDICT_TEXT,
    component_label,
    loop_metadata,
    summary_metadata,
)
from planwise_dagster.metadata import level_names
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures
from planwise_dagster.simulation import census, comp_levers

__all__ = [
    "OptimizationConfig",
    "OptimizationOptions",
    "TargetConfig",
    "TuningConfig",
    "compensation_optimization_loop",
    "iteration_line",
    "optimization_results_summary",
]

OPTIMIZATION_GROUP = "optimization"


class TargetConfig(dg.Config):
    """One entry of the `targets:` block of targets.yaml."""

    target_value: float
    metric: str | None = Field(None, description="Metric (default: the target's name).")
    tolerance_pct: float | None = Field(None, description="Relative tolerance, e.g. 0.02.")
    tolerance: float | None = Field(
        None, description="Absolute tolerance, instead of a relative one."
    )
    priority: str | None = Field(None, description="high, medium or low.")
    year: str | None = Field(None, description="A year (e.g. 2027), final, each or average.")


class OptimizationOptions(dg.Config):
    """The `optimization:` block of targets.yaml (tuning-loop.md)."""

    max_iterations: int | None = Field(None, description="Full simulations the loop may spend.")
    convergence_tolerance: float | None = Field(
        None, description="Relative tolerance of the targets that set none."
    )
    mode: str | None = Field(None, description="conservative, balanced or aggressive.")
    levers: list[str] | None = Field(None, description="Lever families that may move.")
    bounds: dict[str, list[float]] | None = Field(None, description="[low, high] per lever.")
    robustness_seeds: int | None = Field(None, description="Seeds to re-check the answer on.")
    seed: int | None = Field(None, description="Seed of every iteration (default: settings).")


# With a targets file, these options are overrides, like the CLI's flags.
_FILE_OVERRIDES = frozenset({"max_iterations", "convergence_tolerance", "mode"})


class TuningConfig(dg.Config):
    """The targets inline (the same blocks as targets.yaml) or a targets file."""

    targets: dict[str, TargetConfig] | None = Field(
        None, description="Targets inline, as in targets.yaml; then `targets_file` is not read."
    )
    optimization: OptimizationOptions | None = Field(
        None,
        description="The `optimization:` block; with a targets file only max_iterations, "
        "convergence_tolerance and mode apply (as overrides).",
    )
    targets_file: str | None = Field(
        None,
        description="A targets.yaml, relative to the workspace (default: its targets.yaml).",
    )
    scenario_id: str = Field(DEFAULT_SCENARIO, description="Scenario whose levers to tune.")
    apply: bool = Field(False, description="Make the best parameter set active.")
    resume: int | None = Field(
        None, description="Continue this stored optimization from its last full simulation."
    )

    def options(self) -> dict[str, Any]:
        if self.optimization is None:
            return {}
        return {k: v for k, v in self.optimization.model_dump().items() if v is not None}

    def targets_source(self, workspace: Workspace) -> Path | dict[str, Any]:
        """What `optimize` reads: the inline blocks, or the targets file."""
        if self.targets is None:
            extra = sorted(set(self.options()) - _FILE_OVERRIDES)
            if extra:
                raise UserError(
                    f"optimization.{extra[0]} goes in the targets file, or give the targets "
                    "inline (`targets:`); with a file, only max_iterations, "
                    "convergence_tolerance and mode override it."
                )
            if self.targets_file is None:
                return workspace.targets_path
            return workspace.root / Path(self.targets_file).expanduser()
        if self.targets_file is not None:
            raise UserError("Give either `targets` inline or `targets_file`, not both.")
        entries = {
            name: {k: _year(k, v) for k, v in target.model_dump().items() if v is not None}
            for name, target in self.targets.items()
        }
        return {"optimization": self.options(), "targets": entries}


class OptimizationConfig(TuningConfig):
    """The loop's configuration: the targets, and how many full simulations to spend."""

    extra_iterations: int | None = Field(
        None, description="Full simulations to spend (default: max_iterations)."
    )

    def request(self, workspace: Workspace) -> OptimizeRequest | ResumeRequest:
        """A new optimization, or `resume`'s continuation (its stored targets, scenario and
        seed). The targets are checked either way; with a targets file, max_iterations,
        convergence_tolerance and mode override it, like the CLI's flags."""
        source = self.targets_source(workspace)
        options = {} if self.targets is not None else self.options()
        mode = options.get("mode")
        max_iterations = options.get("max_iterations")
        tolerance = options.get("convergence_tolerance")
        if self.resume is not None:
            return ResumeRequest(
                self.resume,
                mode=mode,
                max_iterations=max_iterations,
                tolerance=tolerance,
                apply=self.apply,
                budget=self.extra_iterations,
            )
        return OptimizeRequest(
            source,
            scenario_id=self.scenario_id,
            mode=mode,
            max_iterations=max_iterations,
            tolerance=tolerance,
            apply=self.apply,
            budget=self.extra_iterations,
        )


def _year(key: str, value: Any) -> Any:
    return int(value) if key == "year" and str(value).isdigit() else value


def _value(key: str, value: float | None) -> str:
    """A component's value in its metric's unit (a target named otherwise: the number)."""
    metric = key.partition("@")[0]
    if metric in METRICS or value is None:
        return format_metric(metric, value)
    return f"{value:.6g}"


def iteration_line(record: IterationRecord) -> str:
    """One log line per iteration: what ran, and each target's value and residual
    r = (value − target) / tolerance."""
    ids = ""
    if record.run_id is not None:
        ids = f", parameter set {record.parameter_set_id}, run {record.run_id}"
    if record.error:
        return f"Iteration {record.iteration} ({record.kind}{ids}) failed: {record.error}"
    residuals = "; ".join(
        f"{component_label(key)} {_value(key, record.metrics.get(key))} r={residual:+.3f}"
        for key, residual in record.residuals.items()
    )
    within = "all within tolerance" if record.within_tolerance else "not yet within tolerance"
    return f"Iteration {record.iteration} ({record.kind}{ids}): {residuals} — {within}"


class _IterationLog:
    """Logs one line per iteration. Replays take milliseconds, so their lines go out with
    the next full simulation's: a log message is an event-log write, and a loop makes
    dozens of replays."""

    def __init__(self, log: dg.DagsterLogManager) -> None:
        self._log = log
        self._pending: list[str] = []

    def __call__(self, event: ProgressEvent) -> None:
        if not isinstance(event, IterationFinished):
            return
        self._pending.append(iteration_line(event.record))
        if event.record.kind != IterationKind.REPLAY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._log.info("\n".join(self._pending))
            self._pending.clear()


@dg.asset(group_name=OPTIMIZATION_GROUP, deps=[census, comp_levers], kinds={"python", "duckdb"})
def compensation_optimization_loop(
    context: dg.AssetExecutionContext, config: OptimizationConfig, planwise: PlanwiseWorkspace
) -> dg.Output[OptimizationResult]:
    """The tuning loop: lever values that meet every target within tolerance, or why not.

    Every full simulation is stored with its parameter set and run; the best set is always
    stored, and becomes the scenario's active set only with `apply`.
    """
    workspace = planwise.workspace()
    log_iteration = _IterationLog(context.log)
    with user_errors_as_failures():
        request = config.request(workspace)
        try:
            if isinstance(request, ResumeRequest):
                result = application.resume_optimization(workspace, request, log_iteration)
            else:
                result = application.optimize(workspace, request, log_iteration)
        finally:
            log_iteration.flush()
    context.log.info(
        f"{VERDICT_TEXT[result.verdict]} after {result.simulations} simulations: "
        f"{result.explanation}"
    )
    return dg.Output(result, metadata=loop_metadata(result))


@dg.asset(group_name=OPTIMIZATION_GROUP, kinds={"python"})
def optimization_results_summary(
    compensation_optimization_loop: OptimizationResult, planwise: PlanwiseWorkspace
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The analyst's review of an optimization: the verdict, what changed, the levers outside
    their usual range, the lever path, sensitivities and robustness."""
    with user_errors_as_failures():
        names = level_names(planwise.workspace().settings())
    return dg.MaterializeResult(metadata=summary_metadata(compensation_optimization_loop, names))
