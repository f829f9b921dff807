"""`planwise optimize …`: the tuning loop from the command line; show, list and apply its
answers."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planwise import application
from planwise.cli._common import (
    AMBER,
    DEFAULT_SCENARIO,
    JsonOption,
    UserOption,
    WorkspaceOption,
    command,
    difference_text,
    emit_json,
    iteration_progress,
    level_names,
    metric_text,
    new_table,
    out,
    print_tables,
    say,
    split_to_fit,
    timestamp,
    user_errors,
    warn,
    workspace_at,
)
from planwise.errors import UserError

if TYPE_CHECKING:
    from rich.table import Table

    from planwise.application import OptimizationRecord
    from planwise.optimization.report import OptimizationResult, TargetRow

__all__ = ["EXIT_NOT_CONVERGED", "optimize_app", "render_result"]

EXIT_NOT_CONVERGED = 3

optimize_app = typer.Typer(
    help="Auto-optimize the levers to hit the targets (exit 3 when not converged).",
    invoke_without_command=True,
)

_VERDICT_STYLES = {
    "converged": "bold green",
    "converged_with_warnings": f"bold {AMBER}",
    "not_converged": "bold red",
}
_STATUS_STYLES = {**_VERDICT_STYLES, "failed": "red", "interrupted": AMBER}
_VERDICT_WORDS = {
    "converged": "converged",
    "converged_with_warnings": "converged with warnings",
    "not_converged": "not converged",
}
_LEVER_KEY = re.compile(r"^(?P<family>[a-z_]+)(?:\[L(?P<level>\d+)\])?$")

MODES = ("conservative", "balanced", "aggressive")
"""`planwise.optimization.targets.Mode`, named here so that `--help` does not load the
targets module (pydantic); a test checks that they agree."""
MAX_ITERATIONS = 200
"""The targets file's bound on `max_iterations`, checked on the command line too (a test
checks that they agree)."""


def _mode_option(value: str | None) -> str | None:
    """--mode is one of `MODES` (any case), checked as a command-line problem."""
    if value is not None and value.strip().lower() not in MODES:
        raise typer.BadParameter(f"must be {', '.join(MODES[:-1])} or {MODES[-1]}; got '{value}'.")
    return None if value is None else value.strip().lower()


def _tolerance_option(value: float | None) -> float | None:
    """--tolerance is a command-line problem when it is bad, not the targets file's."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(
            f"must be a positive number, the relative tolerance of targets that give none "
            f"(0.02 for ±2 %); got {value}."
        )
    return value


def render_result(
    result: OptimizationResult, names: dict[int, str], workspace_option: str = ""
) -> None:
    """The verdict, what changed, lever warnings, the per-target table, why it stopped, how
    to apply the answer, sensitivities and robustness."""
    from rich.text import Text

    from planwise.application.labels import plain_word

    verdict = str(result.verdict)
    heading = Text(f"Optimization {result.optimization_id} · {plain_word(result.mode)} mode · ")
    heading.append(_VERDICT_WORDS.get(verdict, plain_word(verdict)), _VERDICT_STYLES.get(verdict))
    console = out()
    console.print(heading)
    if result.change_summary:
        console.print(
            f"What changed from set {result.start_parameter_set_id}: {result.change_summary}",
            markup=False,
        )
    for warning in result.lever_warnings:
        console.print(Text(f"Warning: {warning.message}", style=AMBER))
    console.print()
    console.print(_targets_table(result))
    console.print(result.explanation, markup=False)
    spent = (
        f"{_count(result.simulations, 'full simulation')} and "
        f"{_count(result.replays, 'pay-only replay')} in {result.duration_seconds:.2f} s."
    )
    best = result.best_parameter_set_id
    if best is None:
        console.print(f"{spent} No parameter set was stored as an answer.", markup=False)
    elif result.applied:
        console.print(
            f"{spent} Applied: parameter set {best} (run {result.best_run_id}) is now the "
            f"active set of scenario {result.scenario_id}.",
            markup=False,
        )
    else:
        console.print(
            f"{spent} The answer is parameter set {best} (run {result.best_run_id}); make it "
            "the active set with:",
            markup=False,
        )
        console.print(
            f"  planwise optimize apply {result.optimization_id}{workspace_option}",
            markup=False,
            soft_wrap=True,
        )
    tables = _sensitivity_tables(result, names)
    if result.robustness:
        tables.append(_robustness_table(result))
    for table in tables:
        console.print()
        console.print(table)
    if result.robustness_warning:
        console.print(Text(f"Warning: {result.robustness_warning}", style=AMBER))
    if result.ignored_keys:
        console.print(f"Ignored keys: {', '.join(result.ignored_keys)}", markup=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _target_label(row: TargetRow) -> str:
    """The metric's label, with the year when the target is not the final year's figure."""
    from planwise.metrics import metric_label

    label = metric_label(row.metric)
    year = str(row.year)
    if year.isdigit():
        return f"{label} in {year}"
    if year == "each":
        return f"{label}, each year"
    if year == "average":
        return f"{label}, on average"
    return label


def _targets_table(result: OptimizationResult) -> Table:
    table = new_table(
        "Targets",
        caption="A figure is the final simulated year's unless the target names a year.",
    )
    table.add_column("Metric", no_wrap=True)
    for header in ("Start", "Answer", "Target ± tolerance", "Met"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in result.target_rows:
        tolerance = _tolerance_text(row.metric, row.tolerance)
        table.add_row(
            _target_label(row),
            metric_text(row.metric, row.start_value),
            metric_text(row.metric, row.final_value),
            f"{metric_text(row.metric, row.target_value)} ± {tolerance}",
            "[green]yes[/]" if row.within_tolerance else "[red]no[/]",
        )
    return table


def _tolerance_text(metric: str, tolerance: float) -> str:
    """A tolerance in the metric's unit: pp for a rate, else as the metric is shown."""
    from planwise.metrics import METRICS

    if metric in METRICS and METRICS[metric].unit == "rate":
        return difference_text(metric, tolerance).lstrip("+")
    return metric_text(metric, tolerance)


def _sensitivity_tables(result: OptimizationResult, names: dict[int, str]) -> list[Table]:
    """Per target, the effect of +1 pp of each lever, in the target's unit: levers down,
    levels across (a lever the loop moves as one, in proportion, under "Every level")."""
    rows = {row.name: row for row in result.target_rows}
    parsed: dict[str, tuple[str, int | None]] = {}
    for key in result.sensitivities:
        found = _LEVER_KEY.match(key)
        if found is not None:
            level = found["level"]
            parsed[key] = (found["family"], None if level is None else int(level))
    levels = sorted({level for _, level in parsed.values() if level is not None})
    whole = any(level is None for _, level in parsed.values())
    columns: list[int | None] = [*levels, *([None] if whole else [])]
    targets = dict.fromkeys(key for effects in result.sensitivities.values() for key in effects)
    tables = []
    for target_key in targets:
        families: dict[str, dict[int | None, float]] = {}
        for lever_key, effects in result.sensitivities.items():
            if lever_key in parsed and target_key in effects:
                family, level = parsed[lever_key]
                families.setdefault(family, {})[level] = effects[target_key]
        moving = {
            family: by_level
            for family, by_level in families.items()
            if any(math.isfinite(value) and abs(value) > 0 for value in by_level.values())
        }
        row = rows.get(target_key.split("@")[0])
        if moving and row is not None:
            tables.extend(_sensitivity_tables_for(row, moving, columns, names))
    return tables


def _sensitivity_tables_for(
    row: TargetRow,
    families: dict[str, dict[int | None, float]],
    columns: list[int | None],
    names: dict[int, str],
) -> list[Table]:
    from planwise.parameters.declarations import parameter_spec

    specs = [parameter_spec(family) for family in families]
    multipliers = [spec.label for spec in specs if spec.unit == "multiplier"]

    def build(levels: Sequence[int | None]) -> Table:
        table = new_table(f"Effect of +1 pp of each lever on {_target_label(row)}")
        table.add_column("Lever", no_wrap=True)
        for level in levels:
            header = "Every level" if level is None else names.get(level, f"Level {level}")
            table.add_column(header, justify="right")
        for spec, by_level in zip(specs, families.values(), strict=True):
            table.add_row(
                spec.label,
                *(
                    difference_text(row.metric, by_level[level]) if level in by_level else ""
                    for level in levels
                ),
            )
        return table

    tables = split_to_fit(columns, build)
    if multipliers:
        tables[-1].caption = f"{', '.join(multipliers)}: per +0.01 of the factor (×1.00 → ×1.01)."
    return tables


def _robustness_table(result: OptimizationResult) -> Table:
    from planwise.metrics import metric_label

    table = new_table("Robustness on other seeds")
    table.add_column("Metric", no_wrap=True)
    for header in ("Mean", "P10", "P90", "Within"):
        table.add_column(header, justify="right", no_wrap=True)
    for spread in result.robustness or ():
        table.add_row(
            metric_label(spread.metric),
            metric_text(spread.metric, spread.mean),
            metric_text(spread.metric, spread.p10),
            metric_text(spread.metric, spread.p90),
            f"{spread.share_within:.0%}",
        )
    return table


def workspace_option(workspace: Path | None) -> str:
    """` --workspace DIR` for a hint when the command was given one, else nothing."""
    return "" if workspace is None else f" --workspace {workspace}"


@optimize_app.callback()
def run(
    context: typer.Context,
    targets: Annotated[
        Path | None,
        typer.Option(help="Targets file (default: the workspace's targets.yaml).", dir_okay=False),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="conservative, balanced or aggressive.",
            callback=_mode_option,
        ),
    ] = None,
    max_iterations: Annotated[
        int | None,
        typer.Option(help="Full simulations the loop may spend.", min=1, max=MAX_ITERATIONS),
    ] = None,
    tolerance: Annotated[
        float | None,
        typer.Option(
            help="Default relative tolerance of targets without one (0.02 for ±2 %).",
            callback=_tolerance_option,
        ),
    ] = None,
    scenario: Annotated[str, typer.Option(help="Scenario to tune.")] = DEFAULT_SCENARIO,
    apply: Annotated[bool, typer.Option(help="Make the best set active when done.")] = False,
    resume: Annotated[
        int | None, typer.Option(help="Continue a stored optimization from its last iteration.")
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Run the tuning loop. Exit 0 when converged (with or without warnings), 3 when not (the
    result is stored); apply a stored answer with 'planwise optimize apply ID'."""
    if context.invoked_subcommand is not None:
        return
    with user_errors():
        chosen = workspace_at(workspace)
        with iteration_progress() as on_progress:
            if resume is not None:
                resumed = application.ResumeRequest(
                    resume,
                    mode=mode,
                    max_iterations=max_iterations,
                    tolerance=tolerance,
                    apply=apply,
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
            render_result(result, level_names(chosen), workspace_option(workspace))
    if not result.converged:
        raise typer.Exit(EXIT_NOT_CONVERGED)


@command(optimize_app, "show")
def show(
    optimization_id: Annotated[int, typer.Argument(help="Optimization id.")],
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Print a stored optimization's report."""
    chosen = workspace_at(workspace)
    result = application.show_optimization(chosen, optimization_id)
    if json_output:
        emit_json(result.to_dict())
    else:
        render_result(result, level_names(chosen), workspace_option(workspace))


@command(optimize_app, "apply")
def apply_(
    optimization_id: Annotated[int, typer.Argument(help="Optimization id.")],
    user: UserOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Make an optimization's answer (its best parameter set) the active set of its scenario.
    The set that was active stays in the history; the default scenario's comp_levers.csv is
    rewritten."""
    from planwise.cli.levers import levers_tables

    chosen = workspace_at(workspace)
    result = application.show_optimization(chosen, optimization_id)
    best = result.best_parameter_set_id
    if best is None:
        raise UserError(
            f"Optimization {optimization_id} has no answer to apply: it stored no best "
            "parameter set. 'planwise optimize show' tells why it stopped."
        )
    before = application.lever_view(chosen, result.scenario_id).parameter_set_id
    applied_by = user or application.current_user()
    if before != best:
        application.apply_parameter_set(chosen, best, applied_by=applied_by)
    view = application.lever_view(chosen, result.scenario_id)
    if json_output:
        emit_json(
            {
                "optimization_id": optimization_id,
                "scenario_id": result.scenario_id,
                "parameter_set_id": best,
                "previous_parameter_set_id": before,
                "changed": before != best,
                "applied_by": view.record.activated_by if before != best else None,
                "activated_at": view.record.activated_at,
            }
        )
        return
    if result.verdict == "not_converged":
        say(
            f"Note: optimization {optimization_id} did not converge; its answer misses a "
            f"target ('planwise optimize show {optimization_id}' says which)."
        )
    if before == best:
        say(
            f"Parameter set {best} (the answer of optimization {optimization_id}) is already "
            f"the active set of scenario {result.scenario_id}; nothing changed."
        )
    else:
        say(
            f"Applied parameter set {best}, the answer of optimization {optimization_id}: it "
            f"is now the active set of scenario {result.scenario_id} (it was set {before})."
        )
        if result.scenario_id == DEFAULT_SCENARIO:
            say(f"Updated {chosen.levers_path}.")
    if result.change_summary:
        say(f"What changed from set {result.start_parameter_set_id}: {result.change_summary}")
    for warning in result.lever_warnings:
        warn(warning.message)
    print_tables(levers_tables(view, level_names(chosen)))


@command(optimize_app, "list")
def list_(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """The stored optimizations, newest first."""
    records = application.list_optimizations(workspace_at(workspace))
    if json_output:
        emit_json({"optimizations": [_listed(record) for record in records]})
        return
    from rich.text import Text

    from planwise.application.labels import plain_word

    table = new_table("Optimizations, newest first")
    table.add_column("ID", justify="right", no_wrap=True)
    table.add_column("Scenario", overflow="fold")
    table.add_column("Status")
    table.add_column("Mode", no_wrap=True)
    table.add_column("Answer", justify="right", no_wrap=True)
    table.add_column("Started", no_wrap=True)
    for record in records:
        status = str(record.status)
        table.add_row(
            str(record.optimization_id),
            record.scenario_id,
            Text(_VERDICT_WORDS.get(status, plain_word(status)), _STATUS_STYLES.get(status, "")),
            plain_word(record.mode),
            "" if record.best_parameter_set_id is None else f"set {record.best_parameter_set_id}",
            timestamp(record.started_at),
        )
    print_tables([table])
    if any(str(record.status) == "interrupted" for record in records):
        say("Continue an interrupted optimization with 'planwise optimize --resume ID'.")


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
