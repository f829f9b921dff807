"""`planwise levers …`: show, set, import, export, validate, history, diff, rollback, scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from planwise import application
from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    stderr,
    stdout,
    workspace_at,
)
from planwise.errors import Problem
from planwise.parameters.declarations import PARAMETERS
from planwise.parameters.levers import DEFAULT_SCENARIO, LeverDifference
from planwise.parameters.validation import problem_as_dict

if TYPE_CHECKING:
    from planwise.application import LeverUpdate

__all__ = ["levers_app"]

levers_app = typer.Typer(
    help="Compensation levers: versioned parameter sets.", no_args_is_help=True
)
scenario_app = typer.Typer(help="Scenarios: named sets of levers.", no_args_is_help=True)
levers_app.add_typer(scenario_app, name="scenario")

ScenarioOption = Annotated[str, typer.Option("--scenario", help="Scenario id.")]
NoteOption = Annotated[
    str | None, typer.Option("--note", help="Why: kept with the new parameter set.")
]
_REFRESH = (
    "When the scenario is 'default', the workspace's comp_levers.csv is rewritten from the "
    "new active set; other scenarios are exported only by 'planwise levers export'."
)
_PARAMETER_NAMES = ", ".join(spec.name for spec in PARAMETERS)


@command(levers_app, "show")
def show(
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    year: Annotated[int | None, typer.Option(help="Only this fiscal year.")] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The resolved levers of a scenario's active set, with the source of each value."""
    view = application.lever_view(workspace_at(workspace), scenario)
    set_id = view.parameter_set_id
    rows = [row for row in view.resolved.rows() if year is None or row["fiscal_year"] == year]
    if json_output:
        emit_json({"scenario_id": scenario, "parameter_set_id": set_id, "rows": rows})
        return
    table = Table(
        title=f"Scenario {scenario} · active parameter set {set_id}", title_justify="left"
    )
    for column in ("parameter", "year", "level", "value", "locked", "source"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["parameter_name"]),
            str(row["fiscal_year"]),
            str(row["job_level"]),
            f"{row['parameter_value']:.4f}",
            "yes" if row["is_locked"] else "",
            str(row["source"]),
        )
    stdout.print(table)


@command(levers_app, "set", help=f"Set a lever in a new parameter set. {_REFRESH}")
def set_(
    name: Annotated[str, typer.Argument(help=f"The lever: {_PARAMETER_NAMES}.")],
    value: Annotated[float, typer.Argument(help="The new value (a fraction: 0.035 for 3.5%).")],
    level: Annotated[
        int | None, typer.Option(help="Only this job level (default: every level).")
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            help="Only this fiscal year (default: every simulated year). Later years without "
            "a row of their own take the nearest earlier year's value."
        ),
    ] = None,
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    force: Annotated[
        bool, typer.Option("--force", help="Change locked values too (they stay locked).")
    ] = False,
    note: NoteOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    edit = application.LeverEdit(name, value, level=level, year=year)
    update = application.edit_levers(
        workspace_at(workspace),
        application.EditLeversRequest((edit,), scenario_id=scenario, force=force, note=note),
    )
    _report_update(update, json_output)


@command(levers_app, "import", help=f"Store a comp_levers.csv file as a new set. {_REFRESH}")
def import_(
    file: Annotated[Path, typer.Argument(help="A comp_levers.csv file.")],
    scenario: Annotated[
        str | None,
        typer.Option(help="Store the rows under this scenario (default: the file's scenario_id)."),
    ] = None,
    note: NoteOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    update = application.import_levers(
        workspace_at(workspace), application.ImportLeversRequest(file, scenario, note)
    )
    _report_update(update, json_output)


@command(levers_app, "export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV file.")],
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a scenario's active parameter set in the comp_levers.csv format."""
    set_id = application.export_levers(
        workspace_at(workspace), application.ExportLeversRequest(file, scenario)
    ).parameter_set_id
    if json_output:
        emit_json({"scenario_id": scenario, "parameter_set_id": set_id, "path": str(file)})
    else:
        _say(f"Wrote parameter set {set_id} of scenario {scenario} to {file}.")


@command(levers_app, "validate")
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(help="A comp_levers.csv file (default: the workspace's comp_levers.csv)."),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Check as if imported into this scenario.")
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Check a levers file against every rule without storing it (exit code 1 on errors)."""
    check = application.validate_levers_file(workspace_at(workspace), file, scenario_id=scenario)
    if json_output:
        emit_json(
            {
                "source": check.source,
                "valid": check.is_valid,
                "scenario_id": check.scenario_id,
                "rows": check.row_count,
                "errors": [problem_as_dict(problem) for problem in check.errors],
                "warnings": [problem_as_dict(problem) for problem in check.warnings],
            }
        )
        if not check.is_valid:
            raise typer.Exit(1)
        return
    _print_warnings(check.warnings)
    check.require_valid()
    _say(
        f"{check.source}: valid. {check.row_count} row(s) for scenario {check.scenario_id}, "
        f"{len(check.warnings)} warning(s)."
    )


@command(levers_app, "history")
def history(
    scenario: Annotated[
        str | None, typer.Option(help="Only this scenario (default: every scenario).")
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Every stored parameter set: parent, source, author, note; * marks the active ones."""
    records = application.lever_history(workspace_at(workspace), scenario)
    if json_output:
        emit_json({"parameter_sets": [record.as_dict() for record in records]})
        return
    table = Table(title="Parameter sets", title_justify="left")
    for column in ("id", "scenario", "active", "parent", "source", "created", "by", "note"):
        table.add_column(column, justify="right" if column in ("id", "parent") else "left")
    for record in records:
        table.add_row(
            str(record.parameter_set_id),
            record.scenario_id,
            "*" if record.is_active else "",
            "" if record.parent_id is None else str(record.parent_id),
            record.source,
            record.created_at.isoformat(sep=" ", timespec="seconds"),
            record.created_by,
            Text(record.note or ""),  # user text: no markup
        )
    stdout.print(table)


@command(levers_app, "diff")
def diff(
    before: Annotated[int, typer.Argument(help="A parameter set id.")],
    after: Annotated[int, typer.Argument(help="Another parameter set id.")],
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The rows that differ from one parameter set to another."""
    result = application.diff_parameter_sets(workspace_at(workspace), before, after)
    if json_output:
        emit_json(result.as_dict())
        return
    title = f"Set {before} ({result.before.scenario_id}) → set {after} ({result.after.scenario_id})"
    if not result.differences:
        stdout.print(f"{title}: identical rows.")
        return
    stdout.print(_differences_table(result.differences, title))


@command(levers_app, "rollback", help=f"Make an earlier parameter set active again. {_REFRESH}")
def rollback(
    parameter_set_id: Annotated[int, typer.Argument(help="The set to restore.")],
    note: NoteOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    update = application.rollback(workspace_at(workspace), parameter_set_id, note=note)
    _report_update(update, json_output)


@command(scenario_app, "create")
def scenario_create(
    name: Annotated[str, typer.Argument(help="The new scenario id.")],
    from_scenario: Annotated[
        str, typer.Option("--from", help="Copy this scenario's active set.")
    ] = DEFAULT_SCENARIO,
    note: Annotated[str | None, typer.Option(help="What the scenario is for.")] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a scenario whose first parameter set copies another scenario's active set."""
    created = application.create_scenario(
        workspace_at(workspace),
        application.CreateScenarioRequest(name, from_scenario=from_scenario, note=note),
    )
    if json_output:
        emit_json(
            {
                "scenario_id": created.scenario_id,
                "from_scenario": created.from_scenario,
                "source_parameter_set_id": created.source_parameter_set_id,
                "parameter_set_id": created.parameter_set_id,
            }
        )
        return
    _say(
        f"Created scenario {created.scenario_id}: parameter set {created.parameter_set_id}, "
        f"a copy of set {created.source_parameter_set_id} of scenario {created.from_scenario}."
    )


@command(scenario_app, "list")
def scenario_list(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """Every scenario with its active parameter set."""
    records = application.list_scenarios(workspace_at(workspace))
    if json_output:
        emit_json({"scenarios": [record.as_dict() for record in records]})
        return
    table = Table(title="Scenarios", title_justify="left")
    for column in ("scenario", "from", "active set", "sets", "created", "by", "note"):
        table.add_column(column)
    for record in records:
        table.add_row(
            record.scenario_id,
            record.created_from or "",
            "" if record.active_parameter_set_id is None else str(record.active_parameter_set_id),
            str(record.parameter_set_count),
            record.created_at.isoformat(sep=" ", timespec="seconds"),
            record.created_by,
            Text(record.note or ""),  # user text: no markup
        )
    stdout.print(table)


def _report_update(update: LeverUpdate, json_output: bool) -> None:
    if json_output:
        emit_json(update.as_dict())
        return
    _print_warnings(update.warnings)
    if not update.stored:
        _say(
            f"Nothing changed: parameter set {update.previous_id} of scenario "
            f"{update.scenario_id} already has these values; nothing was stored."
        )
        return
    if update.created_scenario:
        _say(f"Created scenario {update.scenario_id}.")
    _say(
        f"Stored parameter set {update.parameter_set_id} ({update.source}, parent "
        f"{update.parent_id}) and made it the active set of scenario {update.scenario_id}; "
        f"{len(update.differences)} row(s) differ from set {update.previous_id}."
    )
    if update.exported_to is not None:
        _say(f"Updated {update.exported_to}.")
    if update.differences:
        stdout.print(
            _differences_table(
                update.differences, f"Set {update.previous_id} → set {update.parameter_set_id}"
            )
        )


def _say(message: str) -> None:
    """A status line on stderr, unwrapped (paths stay whole) and without markup."""
    stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def _print_warnings(warnings: Sequence[Problem]) -> None:
    for warning in warnings:
        _say(f"Warning: {warning.describe()}")


def _differences_table(differences: Sequence[LeverDifference], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("parameter", "year", "level", "change", "before", "after", "locked"):
        table.add_column(column)
    for difference in differences:
        table.add_row(
            difference.parameter_name,
            str(difference.fiscal_year),
            str(difference.job_level),
            difference.kind,
            _shown(difference.before),
            _shown(difference.after),
            _lock_shown(difference.locked_before, difference.locked_after),
        )
    return table


def _shown(value: float | None) -> str:
    return "–" if value is None else repr(value)


def _lock_shown(before: bool | None, after: bool | None) -> str:
    if before is not None and after is not None and before != after:
        return "locked" if after else "unlocked"
    return "yes" if (before or after) else ""
