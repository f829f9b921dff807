"""`planwise analytics …`: the dbt analytics layer over the stored results."""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING, Annotated

import typer

from planwise import application
from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    emit_json,
    err,
    new_table,
    out,
    say,
    workspace_at,
)
from planwise.errors import UserError

if TYPE_CHECKING:
    from rich.table import Table

    from planwise.application import AnalyticsResult, ProgressEvent, StepFinished

__all__ = ["analytics_app"]

analytics_app = typer.Typer(
    help="Build the dbt marts and run their data tests.", no_args_is_help=True
)


@command(analytics_app, "build")
def build(
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            "-s",
            help="dbt selection, e.g. 'fct_compensation_growth+' or a data test's name.",
        ),
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Build the marts and run the data tests (dbt build) over the workspace's store."""
    from planwise_dbt import DbtBuilder

    chosen = workspace_at(workspace)
    done: list[StepFinished] = []
    status = err().status("Building the analytics layer…") if err().is_terminal else None

    def advance(event: ProgressEvent) -> None:
        if isinstance(event, application.StepFinished):
            done.append(event)
            if status is not None:
                status.update(f"{len(done)} done · {event.kind} {event.name}: {event.status}")

    with status or nullcontext():
        result = application.build_analytics(
            chosen, application.AnalyticsRequest(select), DbtBuilder(), advance
        )
    if json_output:
        emit_json(result.as_dict())
    else:
        out().print(_summary(result))
    if not result.success:
        raise UserError(
            f"The analytics build failed: {result.failure_summary()}. Each data test's SQL is "
            f"in {result.target_path / 'compiled'}; run it against the workspace database to "
            "see the offending rows."
        )
    say(f"Built the analytics layer in {result.seconds:.1f} s ({chosen.root}).")


@command(analytics_app, "parse")
def parse(workspace: WorkspaceOption = None) -> None:
    """Parse the dbt project and write its manifest.json into the workspace."""
    from planwise_dbt import DbtBuilder

    manifest = application.parse_analytics(workspace_at(workspace), DbtBuilder())
    typer.echo(str(manifest))  # unwrapped, for scripts


def _summary(result: AnalyticsResult) -> Table:
    table = new_table("Analytics build")
    table.add_column("What", no_wrap=True)
    table.add_column("Count", justify="right", no_wrap=True)
    table.add_column("Names")
    rows = (  # (label, names, list the names?)
        ("seeds loaded", result.seeds_loaded, True),
        ("models built", result.models_built, True),
        ("data tests passed", result.tests_passed, False),
        ("data tests failed", result.tests_failed, True),
        ("errors", result.errors, True),
        ("skipped", result.skipped, True),
    )
    for label, names, listed in rows:
        table.add_row(label, str(len(names)), ", ".join(names) if listed else "")
    return table
