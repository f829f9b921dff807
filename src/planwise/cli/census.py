"""`planwise census …`: generate, import and validate census files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planwise import service
from planwise.census.load import read_census
from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    stderr,
    workspace_at,
)

__all__ = ["census_app"]

census_app = typer.Typer(
    help="Generate, import and validate the employee census.", no_args_is_help=True
)

FileArgument = Annotated[Path, typer.Argument(help="A CSV or Parquet census file.")]


@command(census_app, "generate")
def generate(
    employees: Annotated[int, typer.Option(help="Number of employees.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Generate a realistic, reproducible census and make it the active one."""
    census = service.generate_census_into(workspace_at(workspace), employees, seed)
    if json_output:
        emit_json({"census_id": census.census_id, "rows": len(census)})
    else:
        stderr.print(f"Stored census {census.census_id}: {len(census):,} employees.")


@command(census_app, "import")
def import_(
    file: FileArgument,
    keep_latest: Annotated[
        bool, typer.Option(help="For duplicate employee_id rows keep the last one (reported).")
    ] = False,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Validate a census file and store it; a bad file is rejected whole."""
    census = service.import_census(workspace_at(workspace), file, keep_latest=keep_latest)
    if json_output:
        emit_json(
            {
                "census_id": census.census_id,
                "rows": len(census),
                "starting_headcount": census.starting_headcount,
            }
        )
    else:
        stderr.print(
            f"Stored census {census.census_id}: {len(census):,} rows, "
            f"{census.starting_headcount:,} in the starting workforce."
        )


@command(census_app, "validate")
def validate(file: FileArgument, workspace: WorkspaceOption = None) -> None:
    """Check a census file against every rule without storing it."""
    chosen = workspace_at(workspace)
    census = read_census(file, chosen.settings())
    stderr.print(
        f"{file}: valid. {len(census):,} rows, {census.starting_headcount:,} in the starting workforce."
    )
