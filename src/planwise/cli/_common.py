"""What every command shares: options, error handling, output consoles, the table style and
the formats an analyst reads.

Importing this module (or any command module) loads Typer and nothing heavy: Rich, the core
and the store are imported inside the functions that use them, so `planwise --help` and the
light commands stay quick.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from planwise.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from planwise.application import ProgressEvent, ProgressListener, Workspace
    from planwise.metrics import RunMetrics

__all__ = [
    "AMBER",
    "DEFAULT_SCENARIO",
    "JsonOption",
    "UserOption",
    "WorkspaceOption",
    "command",
    "difference_text",
    "emit_json",
    "err",
    "iteration_progress",
    "level_names",
    "metric_text",
    "metrics_tables",
    "new_table",
    "out",
    "print_tables",
    "say",
    "split_to_fit",
    "timestamp",
    "user_errors",
    "warn",
    "workspace_at",
    "year_progress",
]

AMBER = "dark_orange"
"""The colour of a warning and of "converged with warnings" (never green)."""

DEFAULT_SCENARIO = "default"
"""`planwise.parameters.levers.DEFAULT_SCENARIO`, named here so that importing the CLI (for
`--help`) does not load the parameters package and NumPy; a test checks that they agree."""

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
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="Who is recorded as making the change (default: the OS user)."),
]

F = TypeVar("F", bound=Callable[..., Any])

# --- consoles ----------------------------------------------------------------------------

_consoles: dict[bool, Console] = {}


def _console(stderr: bool) -> Console:
    console = _consoles.get(stderr)
    if console is None:
        from rich.console import Console

        console = Console(stderr=stderr, highlight=False)
        _consoles[stderr] = console
    return console


def out() -> Console:
    """The console on stdout: tables and results."""
    return _console(False)


def err() -> Console:
    """The console on stderr: status lines, warnings, progress."""
    return _console(True)


def _fresh_consoles() -> None:
    """New consoles for a new command: they read the terminal width ($COLUMNS) again."""
    _consoles.clear()


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A user error prints one paragraph on stderr and exits with code 1, no traceback."""
    _fresh_consoles()
    try:
        yield
    except UserError as error:
        err().print(f"Error: {error}", markup=False, soft_wrap=True)
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
    from planwise.application import Workspace

    return Workspace.resolve(directory)


def say(message: str) -> None:
    """A status line on stderr, unwrapped (paths stay whole) and without markup."""
    err().print(message, markup=False, highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr, in amber, unwrapped and without markup."""
    from rich.text import Text

    err().print(Text(f"Warning: {message}", style=AMBER), soft_wrap=True)


# --- JSON --------------------------------------------------------------------------------


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


# --- words and numbers -------------------------------------------------------------------

_COMPACT_FROM = 1e6
"""Money from $1M up is shown compact ($1.20B, $37.1M); smaller amounts to the dollar."""


def _compact(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and abs(value) >= _COMPACT_FROM


def metric_text(name: str, value: float | None) -> str:
    """A metric in its unit, the one style of every table: $ (compact from $1M), %, counts."""
    from planwise.metrics import format_metric

    return format_metric(name, value, compact=_compact(value))


def difference_text(name: str, value: float | None) -> str:
    """A change in a metric: pp for rates, signed $ (compact from $1M) or counts."""
    from planwise.metrics import format_difference

    if value is None:
        return "–"
    return format_difference(name, value, compact=_compact(value))


def timestamp(moment: dt.datetime | None) -> str:
    """A stored time to the minute (seconds add nothing a reader needs)."""
    return "" if moment is None else moment.isoformat(sep=" ", timespec="minutes")


def level_names(workspace: Workspace) -> dict[int, str]:
    """Job levels by number → their names in the workspace settings (Staff … VP)."""
    return {level.level: level.name for level in workspace.settings().job_levels}


# --- tables ------------------------------------------------------------------------------


def new_table(title: str | None = None, caption: str | None = None) -> Table:
    """The house style: a rule under the header, no frame, two spaces between columns, so a
    table of five years or five levels fits an 80-column terminal."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        caption=caption,
        title_justify="left",
        caption_justify="left",
        title_style="bold",
        caption_style="dim",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )


def split_to_fit(columns: Sequence[Any], build: Callable[[Sequence[Any]], Table]) -> list[Table]:
    """`build` over all `columns`, or over even chunks of them when the table cannot fit the
    terminal even with its wrappable headers wrapped: Rich would otherwise cut names and
    values short."""
    console = out()
    unbounded = console.options.update_width(10_000)  # the width a table wants, uncut
    for parts in range(1, max(len(columns), 1) + 1):
        size = math.ceil(len(columns) / parts)
        chunks = [columns[start : start + size] for start in range(0, len(columns), size)]
        tables = [build(chunk) for chunk in chunks]
        if all(console.measure(t, options=unbounded).minimum <= console.width for t in tables):
            return tables
    return tables


def print_tables(tables: Sequence[Table]) -> None:
    for position, table in enumerate(tables):
        if position:
            out().print()
        out().print(table)


def metrics_tables(metrics: RunMetrics, title: str) -> list[Table]:
    """Metrics down and years across (split when the years do not fit), then the figures
    over the whole horizon in a small table of their own."""
    from planwise.metrics import METRICS

    yearly = [name for name, spec in METRICS.items() if spec.per_year]

    def by_year(years: Sequence[int]) -> Table:
        span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
        table = new_table(title if len(years) == len(metrics.years) else f"{title} · {span}")
        table.add_column("Metric", no_wrap=True)
        for year in years:
            table.add_column(str(year), justify="right", no_wrap=True)
        for name in yearly:
            values = [metrics.per_year[year].get(name) for year in years]
            table.add_row(METRICS[name].label, *(metric_text(name, value) for value in values))
        return table

    tables = split_to_fit(list(metrics.years), by_year)
    if metrics.horizon:
        years = metrics.years
        span = f"{years[0]}–{years[-1]}" if years else ""
        horizon = new_table(f"Over the horizon {span}")
        horizon.add_column("Metric", no_wrap=True)
        horizon.add_column("Value", justify="right", no_wrap=True)
        for name, value in metrics.horizon.items():
            label = METRICS[name].label if name in METRICS else name
            horizon.add_row(label, metric_text(name, value))
        tables.append(horizon)
    return tables


# --- progress ----------------------------------------------------------------------------


@contextlib.contextmanager
def year_progress() -> Iterator[ProgressListener]:
    """A progress bar on stderr (a terminal only) drawn from `YearSimulated` events."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from planwise import application

    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("years"),
        TimeElapsedColumn(),
        console=err(),
        disable=not err().is_terminal,
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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from planwise import application
    from planwise.application.labels import plain_word
    from planwise.optimization.report import IterationKind

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
        disable=not err().is_terminal,
    )
    task = progress.add_task("Starting", total=None)

    def on_progress(event: ProgressEvent) -> None:
        if not isinstance(event, application.IterationFinished):
            return
        record = event.record
        if record.kind == IterationKind.REPLAY:
            description = f"Pay-only replay {record.iteration}"
        else:
            worst = max((abs(value) for value in record.residuals.values()), default=0.0)
            description = (
                f"Simulation {event.simulations} ({plain_word(record.kind).lower()}) · "
                f"furthest target {worst:.1f} tolerances away"
            )
        progress.update(
            task, total=event.budget, completed=event.simulations, description=description
        )

    with progress:
        yield on_progress
