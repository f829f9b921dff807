"""`planwise optimize …`: the tuning loop from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    stderr,
    stdout,
    user_errors,
    workspace_at,
)
from planwise.errors import UserError
from planwise.optimization import IterationRecord, OptimizationResult, optimize
from planwise.optimization.loop import load_result
from planwise.optimization.store import list_optimizations
from planwise.parameters.levers import DEFAULT_SCENARIO

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


def _progress_callback(progress: Progress, task: TaskID) -> Callable[[IterationRecord], None]:
    def on_iteration(record: IterationRecord) -> None:
        if record.kind == "replay":
            progress.update(task, description=f"replay {record.iteration}")
            return
        worst = max((abs(value) for value in record.residuals.values()), default=0.0)
        progress.update(
            task,
            advance=1,
            description=f"simulation {record.kind} · max |residual| {worst:.2f}",
        )

    return on_iteration


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
    with user_errors():
        _run(
            targets,
            mode,
            max_iterations,
            tolerance,
            scenario,
            apply,
            resume,
            json_output,
            workspace,
        )


def _run(
    targets: Path | None,
    mode: str | None,
    max_iterations: int | None,
    tolerance: float | None,
    scenario: str,
    apply: bool,
    resume: int | None,
    json_output: bool,
    workspace: Path | None,
) -> None:
    chosen = workspace_at(workspace)
    targets_file = targets or chosen.targets_path
    if resume is None and not targets_file.exists():
        raise UserError(
            f"No targets file: {targets_file} does not exist. Pass --targets FILE or write "
            "the workspace's targets.yaml (planwise init writes an example)."
        )
    budget = max_iterations or 10
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    with progress:
        task = progress.add_task("starting", total=budget)
        result = optimize(
            chosen,
            targets_file,
            scenario_id=scenario,
            mode=mode,
            max_iterations=max_iterations,
            tolerance=tolerance,
            apply=apply,
            resume=resume,
            on_iteration=_progress_callback(progress, task),
        )
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
    result = load_result(workspace_at(workspace), optimization_id)
    if json_output:
        emit_json(result.to_dict())
    else:
        render_result(result)


@command(optimize_app, "list")
def list_(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """The stored optimizations, newest first."""
    chosen = workspace_at(workspace)
    with chosen.database().connect(read_only=True) as connection:
        rows = list_optimizations(connection)
    if json_output:
        emit_json({"optimizations": rows})
        return
    table = Table(title="Optimizations", title_justify="left")
    for column in ("id", "scenario", "mode", "status", "simulations", "replays", "best set"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["optimization_id"]),
            row["scenario_id"],
            row["mode"],
            row["status"],
            str(row["simulations"]),
            str(row["replays"]),
            str(row["best_parameter_set_id"]),
        )
    stdout.print(table)
