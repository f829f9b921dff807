"""`planwise ensemble …`: the spread around every number, from many seeds, on Dask."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from planwise.cli._common import (
    JsonOption,
    WorkspaceOption,
    command,
    difference_text,
    emit_json,
    err,
    metric_text,
    new_table,
    print_tables,
    say,
    user_errors,
    workspace_at,
)

if TYPE_CHECKING:
    from rich.table import Table

    from planwise.application import EnsembleResult, ProgressEvent, ProgressListener, Threshold
    from planwise.ensemble import Band

__all__ = ["ensemble_app", "parse_threshold"]

ensemble_app = typer.Typer(
    help="Ensembles: each scenario under many seeds, with the spread of every metric.",
    invoke_without_command=True,
)

# The figures a finance reader looks at first, year by year; `--json` has every metric.
_BY_YEAR = ("total_compensation_cost", "average_salary", "median_merit_increase")
_COMPARED = (
    "total_compensation_cost",
    "average_salary",
    "median_merit_increase",
    "merit_spend",
    "compensation_growth_cagr",
    "cumulative_compensation_cost",
)
_STATISTICS = ("Mean", "P10", "P50", "P90", "Min", "Max")


def parse_threshold(text: str) -> Threshold:
    """`metric:value`, e.g. `total_compensation_cost:1.6e9`."""
    from planwise.application import Threshold
    from planwise.errors import UserError

    metric, separator, value = text.partition(":")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not separator or not metric.strip() or not math.isfinite(number):
        raise UserError(
            f"--threshold must be METRIC:VALUE, e.g. total_compensation_cost:1.6e9; got '{text}'."
        )
    return Threshold(metric.strip(), number)


@contextlib.contextmanager
def _member_progress() -> Iterator[ProgressListener]:
    """A progress bar counting members (stderr, a terminal only), and the dashboard link of
    a local cluster as soon as it is up."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from planwise.application import ClusterStarted, MemberSimulated

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("members"),
        console=err(),
        transient=True,
        disable=not err().is_terminal,
    )
    task = progress.add_task("Starting the cluster", total=None)

    def on_progress(event: ProgressEvent) -> None:
        if isinstance(event, ClusterStarted):
            where = event.scheduler or f"a local cluster of {event.workers} worker(s)"
            say(f"Running on {where}.")
            if event.dashboard_link:
                say(f"Dask dashboard: {event.dashboard_link}")
        elif isinstance(event, MemberSimulated):
            description = f"{event.scenario_id}, seed {event.seed}"
            progress.update(task, total=event.total, completed=event.done, description=description)

    with progress:
        yield on_progress


def _band_cells(name: str, band: Band) -> list[str]:
    values = (band.mean, band.p10, band.p50, band.p90, band.min, band.max)
    return [metric_text(name, value) for value in values]


def _statistics_table(title: str, caption: str | None = None) -> Table:
    table = new_table(title, caption)
    table.add_column("", no_wrap=True)
    for column in _STATISTICS:
        table.add_column(column, justify="right", no_wrap=True)
    return table


def _scenario_tables(result: EnsembleResult, scenario: str) -> list[Table]:
    from planwise.ensemble import HORIZON
    from planwise.metrics import METRICS

    own = result.bands(scenario)
    tables = []
    for name in _BY_YEAR:
        table = _statistics_table(f"{METRICS[name].label} · {scenario}")
        for year, band in own[name].items():
            table.add_row(str(year), *_band_cells(name, band))
        tables.append(table)
    # Statistics down, metrics across: the horizon labels are long, the figures short.
    horizon = new_table(f"Over the horizon · {scenario}")
    names = [name for name, spec in METRICS.items() if not spec.per_year]
    horizon.add_column("", no_wrap=True)
    for name in names:
        horizon.add_column(METRICS[name].label, justify="right")
    columns = [_band_cells(name, own[name][HORIZON]) for name in names]
    for row, statistic in enumerate(_STATISTICS):
        horizon.add_row(statistic, *(cells[row] for cells in columns))
    tables.append(horizon)
    return tables


def _deterministic_note(result: EnsembleResult) -> str | None:
    from planwise.metrics import METRICS

    own = result.bands()
    fixed = [
        METRICS[name].label.lower()
        for name, periods in own.items()
        if periods and all(band.deterministic for band in periods.values())
    ]
    if not fixed:
        return None
    return f"The same in every seed (no band): {', '.join(fixed)}."


def _difference_table(result: EnsembleResult, scenario: str) -> Table:
    from planwise.ensemble import HORIZON
    from planwise.metrics import METRICS

    record = result.record
    final = record.start_year + record.years - 1
    paired = result.differences(scenario)
    table = new_table(
        f"{scenario} − {result.reference} in {final}, seed by seed",
        caption="The same seeds in both scenarios, so the difference has a much tighter "
        "band than either scenario (compare the P10–P90 above).",
    )
    table.add_column("", no_wrap=True)
    for column in ("P10", "P50", "P90"):
        table.add_column(column, justify="right", no_wrap=True)
    for name in _COMPARED:
        band = paired[name][final if METRICS[name].per_year else HORIZON]
        cells = (band.p10, band.p50, band.p90)
        table.add_row(METRICS[name].label, *(difference_text(name, value) for value in cells))
    return table


def _exceedance_tables(result: EnsembleResult) -> list[Table]:
    from planwise.metrics import METRICS

    tables = []
    for threshold in result.thresholds:
        label = METRICS[threshold.metric].label
        title = f"Chance {label.lower()} is above {metric_text(threshold.metric, threshold.value)}"
        table = new_table(title)
        table.min_width = len(title)  # a narrow table would wrap its title word by word
        table.add_column("Year", no_wrap=True)
        by_scenario = {
            scenario: result.exceedances(scenario)[f"{threshold.metric}>{threshold.value:g}"]
            for scenario in result.record.scenarios
        }
        for scenario in by_scenario:
            table.add_column(scenario, justify="right", no_wrap=True)
        periods = next(iter(by_scenario.values()))
        for period in periods:
            table.add_row(
                str(period), *(f"{shares[period]:.0%}" for shares in by_scenario.values())
            )
        tables.append(table)
    return tables


def _tables(result: EnsembleResult) -> list[Table]:
    tables = [
        table
        for scenario in result.record.scenarios
        for table in _scenario_tables(result, scenario)
    ]
    tables += [_difference_table(result, scenario) for scenario in result.record.scenarios[1:]]
    return tables + _exceedance_tables(result)


def _render(result: EnsembleResult, json_output: bool) -> None:
    if json_output:
        emit_json(result.as_dict())
        return
    record = result.record
    where = record.scheduler or f"{record.workers} local worker(s)"
    say(
        f"Ensemble {record.ensemble_id}: {len(result.members)} members "
        f"({len(record.scenarios)} scenario(s) × seeds {record.first_seed}–"
        f"{record.first_seed + record.seeds - 1}) on {where}, "
        f"{record.timings.get('total_seconds', 0.0):.1f} s."
    )
    note = _deterministic_note(result)
    if note:
        say(note)
    print_tables(_tables(result))


@ensemble_app.callback()
def run(
    context: typer.Context,
    seeds: Annotated[int | None, typer.Option(help="Seeds per scenario (S…S+N−1).")] = None,
    first_seed: Annotated[
        int | None, typer.Option(help="The first seed S (default: the workspace's seed).")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="A scenario (repeat for several; the first is the reference)."),
    ] = None,
    years: Annotated[int | None, typer.Option(help="Years to simulate (1–50).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Workers of a local Dask cluster (default: cores).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of an existing Dask scheduler (tcp://host:8786)."),
    ] = None,
    keep_events: Annotated[
        int, typer.Option(help="Store the full events of the first K seeds of each scenario.")
    ] = 0,
    threshold: Annotated[
        list[str] | None,
        typer.Option(help="METRIC:VALUE, e.g. total_compensation_cost:1.6e9 (repeatable)."),
    ] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Simulate each scenario's active levers under the same seeds; report the spread."""
    if context.invoked_subcommand is not None:
        return
    with user_errors():
        from planwise.application import EnsembleRequest, run_ensemble
        from planwise.errors import UserError

        if seeds is None:
            raise UserError("An ensemble needs --seeds N (how many seeds per scenario).")
        request = EnsembleRequest(
            seeds=seeds,
            first_seed=first_seed,
            scenarios=tuple(scenario or ("default",)),
            years=years,
            workers=workers,
            scheduler=scheduler,
            keep_events=keep_events,
            thresholds=tuple(parse_threshold(text) for text in threshold or ()),
        )
        with _member_progress() as on_progress:
            result = run_ensemble(workspace_at(workspace), request, on_progress)
        _render(result, json_output)


@command(ensemble_app, "show")
def show(
    ensemble_id: Annotated[int, typer.Argument(help="Ensemble id.")],
    threshold: Annotated[list[str] | None, typer.Option(help="METRIC:VALUE (repeatable).")] = None,
    json_output: JsonOption = False,
    workspace: WorkspaceOption = None,
) -> None:
    """A stored ensemble's spread of every metric."""
    from planwise.application import show_ensemble

    thresholds: Sequence[Threshold] = tuple(parse_threshold(text) for text in threshold or ())
    _render(show_ensemble(workspace_at(workspace), ensemble_id, thresholds), json_output)


@command(ensemble_app, "list")
def list_(json_output: JsonOption = False, workspace: WorkspaceOption = None) -> None:
    """The stored ensembles, newest first."""
    from planwise.application import list_ensembles

    records = list_ensembles(workspace_at(workspace))
    if json_output:
        emit_json(
            {
                "ensembles": [
                    {
                        "ensemble_id": r.ensemble_id,
                        "scenarios": list(r.scenarios),
                        "first_seed": r.first_seed,
                        "seeds": r.seeds,
                        "years": r.years,
                        "workers": r.workers,
                        "scheduler": r.scheduler,
                        "created_at": r.created_at,
                    }
                    for r in records
                ]
            }
        )
        return
    table = new_table("Ensembles")
    for column in ("Id", "Scenarios", "Seeds", "Years", "Ran on", "Created"):
        table.add_column(column)
    for record in records:
        table.add_row(
            str(record.ensemble_id),
            ", ".join(record.scenarios),
            f"{record.first_seed}–{record.first_seed + record.seeds - 1}",
            f"{record.start_year}–{record.start_year + record.years - 1}",
            record.scheduler or f"{record.workers} local",
            record.created_at.isoformat(sep=" ", timespec="minutes"),
        )
    print_tables([table])
