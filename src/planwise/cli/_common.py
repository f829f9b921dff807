"""What every command shares: options, error handling, output consoles, formatting."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from planwise import application
from planwise.application import Workspace
from planwise.errors import UserError
from planwise.metrics import METRICS, RunMetrics, format_metric
from planwise.optimization import IterationKind

if TYPE_CHECKING:
    from planwise.application import ProgressEvent, ProgressListener

__all__ = [
    "JsonOption",
    "WorkspaceOption",
    "command",
    "emit_json",
    "iteration_progress",
    "metrics_table",
    "stderr",
    "stdout",
    "user_errors",
    "workspace_at",
    "year_progress",
]

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $PLANWISE_WORKSPACE or ./workspace).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A user error prints one paragraph on stderr and exits with code 1, no traceback."""
    try:
        yield
    except UserError as error:
        stderr.print(f"Error: {error}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def command(app: typer.Typer, *args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Register a command whose user errors print one paragraph and exit with code 1."""

    def decorator(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*call_args: Any, **call_kwargs: Any) -> Any:
            with user_errors():
                return function(*call_args, **call_kwargs)

        app.command(*args, **kwargs)(wrapper)
        return function

    return decorator


def workspace_at(directory: Path | None) -> Workspace:
    return Workspace.resolve(directory)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_clean(payload), default=str, sort_keys=True) + "\n")


def metrics_table(metrics: RunMetrics, title: str) -> Table:
    """Metrics down, years across, the horizon figures at the bottom."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    years = metrics.years
    for year in years:
        table.add_column(str(year), justify="right")
    for name, spec in METRICS.items():
        if spec.per_year:
            table.add_row(
                name, *(format_metric(name, metrics.per_year[y].get(name)) for y in years)
            )
    for name, value in metrics.horizon.items():
        table.add_row(name, format_metric(name, value), *([""] * (len(years) - 1)))
    return table


@contextlib.contextmanager
def year_progress() -> Iterator[ProgressListener]:
    """A progress bar on stderr (a terminal only) drawn from `YearSimulated` events."""
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("years"),
        TimeElapsedColumn(),
        console=stderr,
        disable=not stderr.is_terminal,
        transient=True,
    )
    task = progress.add_task("Simulating", total=None)

    def on_progress(event: ProgressEvent) -> None:
        if isinstance(event, application.YearSimulated):
            description = f"Simulated {event.year}"
            progress.update(task, total=event.total, completed=event.done, description=description)

    with progress:
        yield on_progress


@contextlib.contextmanager
def iteration_progress() -> Iterator[ProgressListener]:
    """A progress bar on stderr (a terminal only) drawn from `IterationFinished` events: full
    simulations spent out of the budget, and what the last iteration was."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    task = progress.add_task("starting", total=None)

    def on_progress(event: ProgressEvent) -> None:
        if not isinstance(event, application.IterationFinished):
            return
        record = event.record
        if record.kind == IterationKind.REPLAY:
            description = f"replay {record.iteration}"
        else:
            worst = max((abs(value) for value in record.residuals.values()), default=0.0)
            description = f"simulation {record.kind} · max |residual| {worst:.2f}"
        progress.update(
            task, total=event.budget, completed=event.simulations, description=description
        )

    with progress:
        yield on_progress
