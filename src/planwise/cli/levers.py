"""`planwise levers …`: show, set, import, export, validate, history, diff, rollback, scenarios."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from planwise import application
from planwise.cli._common import (
    DEFAULT_SCENARIO,
    JsonOption,
    UserOption,
    WorkspaceOption,
    command,
    emit_json,
    level_names,
    new_table,
    out,
    print_tables,
    say,
    split_to_fit,
    timestamp,
    warn,
    workspace_at,
)
from planwise.errors import UserError

if TYPE_CHECKING:
    from rich.table import Table

    from planwise.application import LeverUpdate, LeverView, ParameterSetRecord, Workspace
    from planwise.errors import Problem
    from planwise.parameters.levers import ResolvedDifference
    from planwise.parameters.validation import RangeWarning

__all__ = ["levers_app", "levers_tables", "resolved_differences_table"]

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
_LOCK_MARK = "*"


class _LeverNamesInHelp(TyperCommand):
    """`levers set --help` lists the levers from their declarations when the help is shown,
    so importing the CLI does not load them (and NumPy with them)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from planwise.parameters.declarations import PARAMETERS

        names = ", ".join(f"{spec.name} ({spec.label})" for spec in PARAMETERS)
        for param in self.params:
            if param.name == "name":
                param.help = f"The lever: {names}."  # type: ignore[attr-defined]
        super().format_help(ctx, formatter)


@command(levers_app, "show")
def show(
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    year: Annotated[int | None, typer.Option(help="Only this fiscal year.")] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The levers a simulation of the scenario uses: one row per lever and run of years with
    the same values, levels across."""
    chosen = workspace_at(workspace)
    view = application.lever_view(chosen, scenario)
    if year is not None and year not in view.years:
        raise UserError(
            f"--year {year} is not a simulated year; the workspace simulates "
            f"{view.years[0]}–{view.years[-1]}."
        )
    set_id = view.parameter_set_id
    if json_output:
        rows = [row for row in view.resolved.rows() if year is None or row["fiscal_year"] == year]
        emit_json({"scenario_id": scenario, "parameter_set_id": set_id, "rows": rows})
        return
    print_tables(levers_tables(view, level_names(chosen), year))
    for warning in view.range_warnings:
        if year is None or year in warning.years:
            warn(warning.message)


def levers_tables(view: LeverView, names: dict[int, str], year: int | None = None) -> list[Table]:
    """A scenario's resolved levers: a row per lever and run of years with the same values,
    levels across (split into several tables when the levels do not fit the terminal)."""
    from planwise.parameters.declarations import PARAMETERS

    resolved = view.resolved
    years = [year] if year is not None else list(resolved.years)
    rows: list[tuple[str, str, dict[int, str]]] = []
    any_locked = False
    inherited: list[str] = []
    for spec in PARAMETERS:
        values, locked = resolved.values[spec.name], resolved.locked[spec.name]
        runs: list[tuple[int, int, tuple[tuple[float, bool], ...]]] = []
        for year_index, simulated in enumerate(resolved.years):
            if simulated not in years:
                continue
            key = tuple(
                (float(values[year_index, level]), bool(locked[year_index, level]))
                for level in resolved.levels
            )
            if runs and runs[-1][2] == key and runs[-1][1] == simulated - 1:
                runs[-1] = (runs[-1][0], simulated, key)
            else:
                runs.append((simulated, simulated, key))
            sources = resolved.sources[spec.name][year_index]
            if any(str(sources[level]) != "scenario" for level in resolved.levels):
                inherited.append(spec.label)
        for position, (first, last, cells) in enumerate(runs):
            any_locked = any_locked or any(is_locked for _, is_locked in cells)
            shown = {
                level: spec.format_value(value) + (_LOCK_MARK if is_locked else "")
                for level, (value, is_locked) in zip(resolved.levels, cells, strict=True)
            }
            rows.append((spec.label if position == 0 else "", _span(first, last), shown))
    record = view.record
    applied = (
        f"; active since {timestamp(record.activated_at)} (applied by {record.activated_by})"
        if record.activated_at is not None
        else ""
    )
    notes = [f"Parameter set {view.parameter_set_id}{applied}."]
    if any_locked:
        notes.append(f"{_LOCK_MARK} locked: changed only with 'levers set --force'.")
    if inherited:
        notes.append(
            "Not set in this scenario, taken from the default scenario or the built-in "
            f"defaults: {', '.join(dict.fromkeys(inherited))}."
        )

    def build(levels: Sequence[int]) -> Table:
        table = new_table(f"Levers of scenario {view.scenario_id}")
        table.add_column("Lever", no_wrap=True)
        table.add_column("Years", no_wrap=True)
        for level in levels:
            table.add_column(names.get(level, f"Level {level}"), justify="right")
        for label, span, shown in rows:
            table.add_row(label, span, *(shown[level] for level in levels))
        return table

    tables = split_to_fit(list(resolved.levels), build)
    tables[-1].caption = "\n".join(notes)
    return tables


@command(
    levers_app,
    "set",
    cls=_LeverNamesInHelp,
    help=f"Set a lever in a new parameter set. {_REFRESH}",
)
def set_(
    name: Annotated[str, typer.Argument(help="The lever (the names are in 'levers set --help').")],
    value: Annotated[
        float,
        typer.Argument(
            help="The new value: a fraction for a rate (0.035 for 3.5%), the factor for "
            "New-hire pay (1.05)."
        ),
    ],
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
    user: UserOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    chosen = workspace_at(workspace)
    edit = application.LeverEdit(name, value, level=level, year=year)
    update = application.edit_levers(
        chosen,
        application.EditLeversRequest(
            (edit,), scenario_id=scenario, force=force, note=note, created_by=user
        ),
    )
    _report_update(chosen, update, json_output)


ReplaceOption = Annotated[
    bool,
    typer.Option(
        "--replace",
        help="Make the file's rows the whole new set: the levers, years and levels it does "
        "not name lose their rows. Without it the file's rows are merged into the active set "
        "and the rest keep their values.",
    ),
]


@command(
    levers_app,
    "import",
    help="Store a comp_levers.csv file as a new set: its rows are merged into the scenario's "
    "active set (the levers it does not name keep their values), or with --replace they "
    f"become the whole set. {_REFRESH}",
)
def import_(
    file: Annotated[Path, typer.Argument(help="A comp_levers.csv file.")],
    scenario: Annotated[
        str | None,
        typer.Option(help="Store the rows under this scenario (default: the file's scenario_id)."),
    ] = None,
    replace: ReplaceOption = False,
    note: NoteOption = None,
    user: UserOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    chosen = workspace_at(workspace)
    update = application.import_levers(
        chosen,
        application.ImportLeversRequest(file, scenario, note, created_by=user, replace=replace),
    )
    _report_update(chosen, update, json_output, summary=update.summary)


@command(levers_app, "export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV file.")],
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the file if it exists (never the workspace's database or settings).",
        ),
    ] = False,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Write a scenario's active parameter set in the comp_levers.csv format. An existing
    file is replaced only with --force; the folder must exist."""
    set_id = application.export_levers(
        workspace_at(workspace), application.ExportLeversRequest(file, scenario, force=force)
    ).parameter_set_id
    if json_output:
        emit_json({"scenario_id": scenario, "parameter_set_id": set_id, "path": str(file)})
    else:
        say(f"Wrote parameter set {set_id} of scenario {scenario} to {file}.")


@command(levers_app, "validate")
def validate(
    file: Annotated[
        Path | None,
        typer.Argument(help="A comp_levers.csv file (default: the workspace's comp_levers.csv)."),
    ] = None,
    scenario: Annotated[
        str | None, typer.Option(help="Check as if imported into this scenario.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Check locks as if imported with --replace (default: merged)."
        ),
    ] = False,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Check a levers file against every rule without storing it (exit code 1 on errors).

    With --json: the counts of errors and warnings by rule, and up to 20 examples of each
    rule."""
    from planwise.parameters.validation import group_range_warnings, problem_as_dict

    check = application.validate_levers_file(
        workspace_at(workspace), file, scenario_id=scenario, replace=replace
    )
    if json_output:
        emit_json(
            {
                "source": check.source,
                "valid": check.is_valid,
                "scenario_id": check.scenario_id,
                "rows": check.row_count,
                "error_counts": check.error_counts,
                "warning_counts": check.warning_counts,
                "errors": [problem_as_dict(problem) for problem in check.error_examples()],
                "warnings": [problem_as_dict(problem) for problem in check.warning_examples()],
            }
        )
        if not check.is_valid:
            raise typer.Exit(1)
        return
    grouped = (
        group_range_warnings(
            (lever.parameter_name, lever.fiscal_year, lever.job_level, lever.value)
            for lever in check.lever_set
        )
        if check.lever_set is not None
        else []
    )
    _print_warnings(check.warnings, grouped, rows_in=check.source)
    check.require_valid()
    say(
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
    """Every stored parameter set, a table per scenario: where it came from, who created it
    and who last applied it, when, and why."""
    from planwise.application.labels import plain_word

    records = application.lever_history(workspace_at(workspace), scenario)
    if json_output:
        emit_json({"parameter_sets": [record.as_dict() for record in records]})
        return
    from rich.text import Text

    by_scenario: dict[str, list[ParameterSetRecord]] = {}
    for record in records:
        by_scenario.setdefault(record.scenario_id, []).append(record)
    tables = []
    for scenario_id, sets in by_scenario.items():
        table = new_table(
            f"Parameter sets of scenario {scenario_id}, oldest first",
            caption="● the scenario's active set.",
        )
        table.add_column("Set", justify="right", no_wrap=True)
        table.add_column("Source", no_wrap=True)
        table.add_column("Created", no_wrap=True)
        table.add_column("Applied", no_wrap=True)
        table.add_column("Note", overflow="fold")
        for record in sets:
            source = plain_word(record.source)
            if record.parent_id is not None:
                source += f"\nfrom set {record.parent_id}"
            table.add_row(
                ("● " if record.is_active else "") + str(record.parameter_set_id),
                source,
                f"{timestamp(record.created_at)}\nby {record.created_by}",
                "never"
                if record.activated_at is None
                else f"{timestamp(record.activated_at)}\nby {record.activated_by}",
                Text(record.note or ""),  # user text: no markup
                end_section=True,
            )
        tables.append(table)
    print_tables(tables)


@command(levers_app, "diff")
def diff(
    before: Annotated[int, typer.Argument(help="A parameter set id.")],
    after: Annotated[int, typer.Argument(help="Another parameter set id.")],
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """What a simulation would use differently, from the older set to the newer (in either
    order), with the years each change covers."""
    chosen = workspace_at(workspace)
    result = application.diff_parameter_sets(chosen, before, after)
    if json_output:
        emit_json(result.as_dict())
        return
    older, newer = result.before, result.after
    title = (
        f"Set {older.parameter_set_id} ({older.scenario_id}) → "
        f"set {newer.parameter_set_id} ({newer.scenario_id})"
    )
    if not result.differences:
        out().print(f"{title}: a simulation uses the same values.", markup=False)
        return
    out().print(resolved_differences_table(result.differences, title, level_names(chosen)))


@command(levers_app, "rollback", help=f"Make an earlier parameter set active again. {_REFRESH}")
def rollback(
    parameter_set_id: Annotated[int, typer.Argument(help="The set to restore.")],
    note: NoteOption = None,
    user: UserOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    chosen = workspace_at(workspace)
    update = application.rollback(chosen, parameter_set_id, note=note, created_by=user)
    _report_update(chosen, update, json_output)


@command(scenario_app, "create")
def scenario_create(
    name: Annotated[str, typer.Argument(help="The new scenario id.")],
    from_scenario: Annotated[
        str, typer.Option("--from", help="Copy this scenario's active set.")
    ] = DEFAULT_SCENARIO,
    note: Annotated[str | None, typer.Option(help="What the scenario is for.")] = None,
    user: UserOption = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Create a scenario whose first parameter set copies another scenario's active set."""
    created = application.create_scenario(
        workspace_at(workspace),
        application.CreateScenarioRequest(
            name, from_scenario=from_scenario, note=note, created_by=user
        ),
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
    say(
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
    from rich.text import Text

    table = new_table("Scenarios")
    table.add_column("Scenario", overflow="fold")
    table.add_column("Copied from", overflow="fold")
    table.add_column("Active set", justify="right", no_wrap=True)
    table.add_column("Sets", justify="right", no_wrap=True)
    table.add_column("Created", no_wrap=True)
    table.add_column("Note", overflow="fold")
    for record in records:
        table.add_row(
            record.scenario_id,
            record.created_from or "",
            "" if record.active_parameter_set_id is None else str(record.active_parameter_set_id),
            str(record.parameter_set_count),
            f"{timestamp(record.created_at)}\nby {record.created_by}",
            Text(record.note or ""),  # user text: no markup
            end_section=True,
        )
    out().print(table)


def _report_update(
    workspace: Workspace, update: LeverUpdate, json_output: bool, *, summary: str | None = None
) -> None:
    """The update as JSON, or its warnings, `summary` (what an import did), the new set and
    what a simulation now uses differently."""
    if json_output:
        emit_json(update.as_dict())
        return
    _print_warnings(update.warnings, update.range_warnings)
    if summary is not None:
        say(summary)
    if not update.stored:
        say(
            f"Nothing changed: parameter set {update.previous_id} of scenario "
            f"{update.scenario_id} already has these values; nothing was stored."
        )
        return
    if update.created_scenario:
        say(f"Created scenario {update.scenario_id}.")
    parent = "the first set" if update.parent_id is None else f"parent {update.parent_id}"
    say(
        f"Stored parameter set {update.parameter_set_id} ({update.source}, {parent}) and made "
        f"it the active set of scenario {update.scenario_id}."
    )
    if update.exported_to is not None:
        say(f"Updated {update.exported_to}.")
    if update.parameter_set_id is None:
        return
    if update.previous_id is None:
        view = application.lever_view(workspace, update.scenario_id)
        print_tables(levers_tables(view, level_names(workspace)))
        return
    changes = application.diff_parameter_sets(
        workspace, update.previous_id, update.parameter_set_id
    )
    title = f"Set {update.previous_id} → set {update.parameter_set_id}"
    if changes.differences:
        out().print(resolved_differences_table(changes.differences, title, level_names(workspace)))
    else:
        say(f"{title}: a simulation uses the same values as before.")


def _print_warnings(
    warnings: Sequence[Problem], grouped: Iterable[RangeWarning], rows_in: str | None = None
) -> None:
    """Values outside their usual range as one line per lever and side; other warnings (an
    ignored column, a locked value, a negative zero) one by one, at most 20 of each rule."""
    from planwise.errors import MAX_EXAMPLES
    from planwise.parameters.validation import OUTSIDE_USUAL_RANGE

    counts: dict[str, int] = {}
    for warning in warnings:
        if warning.rule == OUTSIDE_USUAL_RANGE:
            continue
        counts[warning.rule] = counts.get(warning.rule, 0) + 1
        if counts[warning.rule] <= MAX_EXAMPLES:
            warn(warning.describe())
    for rule, count in counts.items():
        if count > MAX_EXAMPLES:
            say(f"… and {count - MAX_EXAMPLES:,} more '{rule}' warning(s).")
    for range_warning in grouped:
        warn(range_warning.message)
    rows = sorted({w.row for w in warnings if w.rule == OUTSIDE_USUAL_RANGE and w.row is not None})
    if rows_in is not None and rows:
        shown = ", ".join(map(str, rows[:20])) + (
            f" and {len(rows) - 20} more" if len(rows) > 20 else ""
        )
        say(f"Rows of {rows_in} outside the usual range: {shown}.")


def resolved_differences_table(
    differences: Sequence[ResolvedDifference], title: str, names: dict[int, str]
) -> Table:
    """What a simulation uses differently, older → newer; levels with the same change over
    the same years share a row."""
    from planwise.parameters.declarations import parameter_spec

    groups: dict[tuple[Any, ...], list[int]] = {}
    for difference in differences:
        key = (
            difference.parameter_name,
            difference.first_year,
            difference.last_year,
            difference.before,
            difference.after,
            difference.locked_before,
            difference.locked_after,
        )
        groups.setdefault(key, []).append(difference.job_level)
    table = new_table(title)
    table.add_column("Lever", no_wrap=True)
    table.add_column("Level")
    table.add_column("Years", no_wrap=True)
    table.add_column("Before", justify="right", no_wrap=True)
    table.add_column("After", justify="right", no_wrap=True)
    table.add_column("Change")
    for (name, first, last, before, after, locked_before, locked_after), levels in groups.items():
        spec = parameter_spec(name)
        change = [spec.format_change(before, after)] if before != after else []
        if locked_before != locked_after:
            change.append("locked" if locked_after else "unlocked")
        table.add_row(
            spec.label,
            _levels(levels, names),
            _span(first, last),
            spec.format_value(before),
            spec.format_value(after),
            ", ".join(change),
        )
    return table


def _levels(levels: Sequence[int], names: dict[int, str]) -> str:
    if len(levels) > 1 and sorted(levels) == sorted(names):
        return "Every level"
    return ", ".join(names.get(level, f"Level {level}") for level in levels)


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"
