"""`planwise census …`: generate, import and validate census files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planwise import application
from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    say,
    warn,
    workspace_at,
)

if TYPE_CHECKING:
    from planwise.application import CensusChecked
    from planwise.census.load import DroppedDuplicate

__all__ = ["census_app"]

census_app = typer.Typer(
    help="Generate, import and validate the employee census.", no_args_is_help=True
)

FileArgument = Annotated[Path, typer.Argument(help="A CSV or Parquet census file.", dir_okay=False)]
KeepLatestOption = Annotated[
    bool, typer.Option(help="For duplicate employee_id rows keep the last one (reported).")
]
_SHOWN_DROPPED = 10


def _report_dropped(dropped: tuple[DroppedDuplicate, ...]) -> None:
    if not dropped:
        return
    shown = ", ".join(
        f"row {d.row} (employee {d.employee_id}, kept row {d.kept_row})"
        for d in dropped[:_SHOWN_DROPPED]
    )
    more = f" and {len(dropped) - _SHOWN_DROPPED} more" if len(dropped) > _SHOWN_DROPPED else ""
    say(
        f"Dropped {len(dropped):,} duplicate employee_id row(s), keeping the last row of each "
        f"id: {shown}{more}."
    )


def _report_warnings(checked: CensusChecked) -> None:
    """Rows accepted with a warning: the counts by rule, then the examples (20 per rule)."""
    counts = checked.warning_counts
    if not counts:
        return
    by_rule = ", ".join(f"{rule} {count:,}" for rule, count in counts.items())
    say(f"{sum(counts.values()):,} row(s) accepted with a warning ({by_rule}):")
    for problem in checked.warnings:
        warn(problem.describe())
    hidden = sum(counts.values()) - len(checked.warnings)
    if hidden > 0:
        say(f"… and {hidden:,} more (counted above).")


@command(census_app, "generate")
def generate(
    employees: Annotated[int, typer.Option(help="Number of employees.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Generate a realistic, reproducible census and make it the active one."""
    stored = application.generate_census(
        workspace_at(workspace), application.GenerateCensusRequest(employees, seed)
    )
    if json_output:
        emit_json({"census_id": stored.census_id, "rows": stored.rows})
    else:
        say(f"Stored census {stored.census_id}: {stored.rows:,} employees.")


@command(census_app, "import")
def import_(
    file: FileArgument,
    keep_latest: KeepLatestOption = False,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Validate a census file and store it; a bad file is rejected whole."""
    stored = application.import_census(
        workspace_at(workspace), application.ImportCensusRequest(file, keep_latest)
    )
    if json_output:
        emit_json(
            {
                "census_id": stored.census_id,
                "rows": stored.rows,
                "starting_headcount": stored.starting_headcount,
                "dropped_duplicates": len(stored.dropped_duplicates),
                "warning_counts": stored.warning_counts,
                "warnings": [problem.as_dict() for problem in stored.warnings],
            }
        )
    else:
        _report_dropped(stored.dropped_duplicates)
        _report_warnings(stored)
        say(
            f"Stored census {stored.census_id}: {stored.rows:,} rows, "
            f"{stored.starting_headcount:,} in the starting workforce."
        )


@command(census_app, "validate")
def validate(
    file: FileArgument, keep_latest: KeepLatestOption = False, workspace: WorkspaceOption = None
) -> None:
    """Check a census file against every rule without storing it."""
    checked = application.validate_census_file(
        workspace_at(workspace), application.ImportCensusRequest(file, keep_latest)
    )
    _report_dropped(checked.dropped_duplicates)
    _report_warnings(checked)
    say(
        f"{file}: valid. {checked.rows:,} rows, "
        f"{checked.starting_headcount:,} in the starting workforce."
    )
