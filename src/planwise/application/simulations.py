"""Simulate: a new stored run of a scenario, or more years of a stored run."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from planwise.application.pipeline import NewRun, StoredRun, extend_run, store_new_run
from planwise.application.progress import ProgressListener
from planwise.application.workspace import Workspace
from planwise.config import check_seed
from planwise.errors import UserError
from planwise.metrics import RunMetrics
from planwise.parameters.levers import DEFAULT_SCENARIO
from planwise.simulation.outputs import SimulationResult
from planwise.simulation.state import Workforce
from planwise.storage import census_store, parameter_store, runs
from planwise.storage.database import atomic

__all__ = [
    "MAX_START_GAP_YEARS",
    "MAX_YEARS",
    "SimulateRequest",
    "SimulationRun",
    "check_start_year",
    "simulate",
]

MAX_YEARS = 50
MAX_START_GAP_YEARS = 10
"""A run starts at most this many years after its census's as-of year. The years between
are not simulated: the census's people start the run as they were at the as-of date, only
older. A few years of gap is a usual plan; decades would simulate a workforce no one knows
(and a far year is beyond the calendar the engine dates events in)."""


@dataclass(frozen=True)
class SimulateRequest:
    """A new run (scenario, years, start year, seed, parameter set), or `continue_run_id`
    to add `years` (default 1) to a stored run, which fixes everything else."""

    scenario_id: str = DEFAULT_SCENARIO
    years: int | None = None
    start_year: int | None = None
    seed: int | None = None
    parameter_set_id: int | None = None
    continue_run_id: int | None = None


@dataclass(frozen=True)
class SimulationRun:
    """A stored run: its ids, the simulation, its metrics and how long it took."""

    run_id: int
    scenario_id: str
    parameter_set_id: int
    seed: int
    result: SimulationResult
    metrics: RunMetrics
    engine_seconds: float
    total_seconds: float


def simulate(
    workspace: Workspace, request: SimulateRequest, on_progress: ProgressListener | None = None
) -> SimulationRun:
    """Simulate and store a run in one transaction; `YearSimulated` events as years finish."""
    if request.continue_run_id is not None:
        return _continue(workspace, request.continue_run_id, request, on_progress)
    started = time.perf_counter()
    if request.seed is not None:
        check_seed(request.seed)
    if request.years is not None:
        _check_years(request.years)
    settings = workspace.settings()
    first = settings.start_year if request.start_year is None else request.start_year
    years = settings.years if request.years is None else request.years
    seed = settings.seed if request.seed is None else request.seed
    with workspace.database(settings).connect() as connection:
        census_id = census_store.active_census_id(connection)
        as_of_date, workforce = census_store.load_starting_workforce(connection, census_id)
        _check_new_run(as_of_date, workforce, first, years, request)
        set_id, _, resolved = parameter_store.load_levers(
            connection,
            settings,
            request.scenario_id,
            range(first, first + years),
            request.parameter_set_id,
        )
        with atomic(connection):
            stored = store_new_run(
                connection,
                NewRun(
                    scenario_id=request.scenario_id,
                    parameter_set_id=set_id,
                    census_id=census_id,
                    workforce=workforce,
                    settings=settings,
                    levers=resolved,
                    start_year=first,
                    years=years,
                    seed=seed,
                    default_parameter_set_id=parameter_store.default_set_for(
                        connection, request.scenario_id
                    ),
                ),
                on_progress,
            )
    return _finished(stored, request.scenario_id, set_id, seed, started)


def _continue(
    workspace: Workspace,
    run_id: int,
    request: SimulateRequest,
    on_progress: ProgressListener | None,
) -> SimulationRun:
    """More years of a stored run, from its stored year-end state, with its own settings."""
    fixed = (request.start_year, request.seed, request.parameter_set_id)
    if fixed != (None, None, None):
        raise UserError(
            "Continuing a run takes only the number of years: the stored run fixes the start "
            "year, the seed and the parameter set."
        )
    if request.scenario_id != DEFAULT_SCENARIO:
        raise UserError("Continuing a run takes no scenario: the stored run fixes it.")
    started = time.perf_counter()
    years = 1 if request.years is None else request.years
    with workspace.database().transaction() as connection:
        record = runs.load_run(connection, run_id)
        covered = record.end_year - record.start_year + 1
        if not 1 <= years <= MAX_YEARS - covered:
            raise UserError(
                f"A run may cover at most {MAX_YEARS} years; run {record.run_id} covers "
                f"{covered}, so it cannot take {years} more."
            )
        first = record.end_year + 1
        _, _, resolved = parameter_store.load_levers(
            connection,
            record.settings,
            record.scenario_id,
            range(first, first + years),
            record.parameter_set_id,
            record.default_parameter_set_id,
        )
        stored = extend_run(connection, record, resolved, years, on_progress)
    return _finished(stored, record.scenario_id, record.parameter_set_id, record.seed, started)


def _check_years(years: int) -> None:
    if not 1 <= years <= MAX_YEARS:
        raise UserError(f"--years must be between 1 and {MAX_YEARS}, got {years}.")


def check_start_year(as_of_date: dt.date, start_year: int, name: str = "--start-year") -> None:
    """A run's first year comes after its census's as-of year, by at most
    `MAX_START_GAP_YEARS`; else a `UserError` saying why. `name` is where the start year
    came from (`--start-year`, `start_year in planwise.yaml`)."""
    if start_year <= as_of_date.year:
        raise UserError(
            f"{name} {start_year} must come after the census as-of date "
            f"{as_of_date} (its year {as_of_date.year})."
        )
    latest = as_of_date.year + MAX_START_GAP_YEARS
    if start_year > latest:
        raise UserError(
            f"{name} {start_year} is {start_year - as_of_date.year} years after the "
            f"census as-of date {as_of_date}; a run starts at most {MAX_START_GAP_YEARS} "
            f"years after it (by {latest}). The years between are not simulated: the "
            "census's people would start the run as they were at its as-of date, only "
            "older. Import a newer census, or choose an earlier start year (start_year in "
            "planwise.yaml, or --start-year)."
        )


def _check_new_run(
    as_of_date: dt.date, workforce: Workforce, start_year: int, years: int, request: SimulateRequest
) -> None:
    _check_years(years)
    named = "--start-year" if request.start_year is not None else "start_year in planwise.yaml"
    check_start_year(as_of_date, start_year, named)
    if len(workforce) == 0:
        raise UserError(
            "The census has no active employees at its as-of date; nothing to simulate."
        )


def _finished(
    stored: StoredRun, scenario_id: str, parameter_set_id: int, seed: int, started: float
) -> SimulationRun:
    return SimulationRun(
        run_id=stored.run_id,
        scenario_id=scenario_id,
        parameter_set_id=parameter_set_id,
        seed=seed,
        result=stored.result,
        metrics=stored.metrics,
        engine_seconds=stored.engine_seconds,
        total_seconds=time.perf_counter() - started,
    )
