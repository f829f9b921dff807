"""`planwise levers …`: show, set, import, export, validate, history, diff, rollback, scenarios."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from planwise import service
from planwise.cli._common import WorkspaceOption, command, stdout, workspace_at
from planwise.parameters.levers import DEFAULT_SCENARIO

__all__ = ["levers_app"]

levers_app = typer.Typer(
    help="Compensation levers: versioned parameter sets.", no_args_is_help=True
)

ScenarioOption = Annotated[str, typer.Option("--scenario", help="Scenario id.")]


@command(levers_app, "show")
def show(
    scenario: ScenarioOption = DEFAULT_SCENARIO,
    year: Annotated[int | None, typer.Option(help="Only this fiscal year.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The resolved levers of a scenario's active set, with the source of each value."""
    chosen = workspace_at(workspace)
    settings = chosen.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    with chosen.database(settings).connect(read_only=True) as connection:
        set_id, _, resolved = service.load_levers(connection, settings, scenario, years)
    table = Table(
        title=f"Scenario {scenario} · active parameter set {set_id}", title_justify="left"
    )
    for column in ("parameter", "year", "level", "value", "locked", "source"):
        table.add_column(column)
    for row in resolved.rows():
        if year is None or row["fiscal_year"] == year:
            table.add_row(
                str(row["parameter_name"]),
                str(row["fiscal_year"]),
                str(row["job_level"]),
                f"{row['parameter_value']:.4f}",
                "yes" if row["is_locked"] else "",
                str(row["source"]),
            )
    stdout.print(table)
