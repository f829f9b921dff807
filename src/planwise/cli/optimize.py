"""`planwise optimize …`: the tuning loop from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from planwise import application
from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    iteration_progress,
    stdout,
    user_errors,
    workspace_at,
)
from planwise.optimization import OptimizationResult
from planwise.parameters.levers import DEFAULT_SCENARIO

if TYPE_CHECKING:
    from planwise.application import OptimizationRecord

__all__ = ["EXIT_NOT_CONVERGED", "optimize_app", "render_result"]

EXIT_NOT_CONVERGED = 3

optimize_app = typer.Typer(
    help="Auto-optimize the levers to hit the targets (exit 3 when not converged).",
    invoke_without_command=True,
)


def render_result(result: OptimizationResult) -> None:
    """The per-target table, why it stopped, sensitivities and robustness."""
    verdict = "converged" if result.converged else "NOT converged"
    table = Table(
        title=f"Optimization {result.optimization_id} · {result.mode} · {verdict}",
        title_justify="left",
    )
    for column in ("target", "year", "start", "final", "target value", "tolerance", "within"):
        table.add_column(column, justify="left" if column == "target" else "right")
    for row in result.target_rows:
        table.add_row(
            row.name,
            row.year,
            f"{row.start_value:.6g}",
            f"{row.final_value:.6g}",
            f"{row.target_value:.6g}",
            f"±{row.tolerance:.3g}",
            "yes" if row.within_tolerance else "no",
        )
    stdout.print(table)
    stdout.print(result.explanation, markup=False)
    stdout.print(
        f"{result.simulations} full simulation(s), {result.replays} replay(s), "
        f"{result.duration_seconds:.2f} s. Best parameter set {result.best_parameter_set_id} "
        f"(run {result.best_run_id})"
        + (
            ", applied."
            if result.applied
            else f"; apply with 'planwise levers rollback "
            f"{result.best_parameter_set_id}' or rerun with --apply."
        ),
        markup=False,
    )
    if result.sensitivities:
        sensitivity = Table(
            title="Sensitivities: effect of +1 pp of each lever", title_justify="left"
        )
        names = list(next(iter(result.sensitivities.values())))
        sensitivity.add_column("lever")
        for name in names:
            sensitivity.add_column(name, justify="right")
        for lever, effects in result.sensitivities.items():
            if any(abs(value) > 0 for value in effects.values()):
                sensitivity.add_row(lever, *(f"{effects[name]:+.4g}" for name in names))
        stdout.print(sensitivity)
    if result.robustness:
        robustness = Table(title="Robustness on other seeds", title_justify="left")
        for column in ("target", "mean", "P10", "P90", "within"):
            robustness.add_column(column, justify="left" if column == "target" else "right")
        for spread in result.robustness:
            robustness.add_row(
                spread.name,
                f"{spread.mean:.6g}",
                f"{spread.p10:.6g}",
                f"{spread.p90:.6g}",
                f"{spread.share_within:.0%}",
            )
        stdout.print(robustness)
    if result.robustness_warning:
        stdout.print(f"Warning: {result.robustness_warning}", markup=False)
    if result.ignored_keys:
        stdout.print(f"Ignored keys: {', '.join(result.ignored_keys)}", markup=False)


@optimize_app.callback()
def run(
    context: typer.Context,
    targets: Annotated[
        Path | None, typer.Option(help="Targets file (default: the workspace's targets.yaml).")
    ] = None,
    mode: Annotated[str | None, typer.Option(help="conservative, balanced or aggressive.")] = None,
    max_iterations: Annotated[
        int | None, typer.Option(help="Full simulations the loop may spend.")
    ] = None,
    tolerance: Annotated[
        float | None, typer.Option(help="Default relative tolerance of targets without one.")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Scenario to tune.")] = DEFAULT_SCENARIO,
    apply: Annotated[bool, typer.Option(help="Make the best set active when done.")] = False,
    resume: Annotated[
        int | None, typer.Option(help="Continue a stored optimization from its last iteration.")
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Run the tuning loop. Exit 0 when converged, 3 when not (the result is stored)."""
    if context.invoked_subcommand is not None:
        return
    chosen = workspace_at(workspace)
    with user_errors(), iteration_progress() as on_progress:
        if resume is not None:
            resumed = application.ResumeRequest(
                resume, mode=mode, max_iterations=max_iterations, tolerance=tolerance, apply=apply
            )
            result = application.resume_optimization(chosen, resumed, on_progress)
        else:
            request = application.OptimizeRequest(
                targets,
                scenario_id=scenario,
                mode=mode,
                max_iterations=max_iterations,
                tolerance=tolerance,
                apply=apply,
            )
            result = application.optimize(chosen, request, on_progress)
    if json_output:
        emit_json(result.to_dict())
    else:
        render_result(result)
    if not result.converged:
        raise typer.Exit(EXIT_NOT_CONVERGED)


@command(optimize_app, "show")
def show(
    optimization_id: Annotated[int, typer.Argument(help="Optimization id.")],
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a stored optimization's report."""
    result = application.show_optimization(workspace_at(workspace), optimization_id)
    if json_output:
        emit_json(result.to_dict())
    else:
        render_result(result)


@command(optimize_app, "list")
def list_(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """The stored optimizations, newest first."""
    records = application.list_optimizations(workspace_at(workspace))
    if json_output:
        emit_json({"optimizations": [_listed(record) for record in records]})
        return
    table = Table(title="Optimizations", title_justify="left")
    for column in ("id", "scenario", "mode", "status", "simulations", "replays", "best set"):
        table.add_column(column)
    for record in records:
        table.add_row(
            str(record.optimization_id),
            record.scenario_id,
            record.mode,
            record.status,
            str(record.simulations),
            str(record.replays),
            str(record.best_parameter_set_id),
        )
    stdout.print(table)


_LISTED = (
    "optimization_id",
    "scenario_id",
    "status",
    "mode",
    "converged",
    "iterations",
    "simulations",
    "replays",
    "best_parameter_set_id",
    "stop_reason",
    "started_at",
    "finished_at",
)


def _listed(record: OptimizationRecord) -> dict[str, Any]:
    """A stored optimization as `optimize list --json` shows it (no targets or report)."""
    return {key: getattr(record, key) for key in _LISTED}
