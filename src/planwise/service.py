"""Workspace operations the shells call: init, census, simulate, continue, results.

The CLI, Dagster and the Streamlit app all go through these functions, so there is one
execution path (architecture.md decision 1).
"""

from __future__ import annotations

import datetime as dt
import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb

from planwise.census import Census, generate_census
from planwise.census.load import read_census
from planwise.config import Settings
from planwise.errors import UserError
from planwise.metrics import RunMetrics, run_metrics, summarize
from planwise.parameters.csv_io import export_active_levers
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    ResolvedLevers,
    default_lever_set,
)
from planwise.parameters.loading import default_set_for, load_levers
from planwise.simulation.engine import simulate
from planwise.simulation.outputs import SimulationResult, YearOutcome
from planwise.simulation.state import Workforce
from planwise.storage import census_store, parameter_store, runs
from planwise.storage.database import atomic
from planwise.workspace import Workspace

__all__ = [
    "MAX_YEARS",
    "SimulationRun",
    "continue_simulation",
    "current_user",
    "generate_census_into",
    "import_census",
    "init_workspace",
    "load_levers",
    "run_simulation",
]

MAX_YEARS = 50
ProgressCallback = Callable[[YearOutcome], None]


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "analyst"


def init_workspace(workspace: Workspace, settings: Settings | None = None) -> bool:
    """Write `planwise.yaml` (if missing), create the store and the default parameter set.

    Returns True if anything was created. Never overwrites existing settings or sets.
    """
    created = False
    if not workspace.settings_path.exists():
        workspace.write_settings(settings or Settings())
        created = True
    chosen = workspace.settings()
    database = workspace.database(chosen)
    existed = workspace.database_path.exists()
    database.initialize()
    with database.transaction() as connection:
        if parameter_store.active_parameter_set_id(connection, DEFAULT_SCENARIO) is None:
            parameter_store.create_parameter_set(
                connection,
                default_lever_set(chosen.start_year, chosen.level_numbers),
                source="init",
                created_by=current_user(),
                note="built-in defaults",
            )
            created = True
    if not workspace.targets_path.exists():
        example = resources.files("planwise").joinpath("example_targets.yaml")
        workspace.targets_path.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    if not workspace.levers_path.exists():
        export_active_levers(workspace, workspace.levers_path)
    return created or not existed


def generate_census_into(workspace: Workspace, employees: int, seed: int) -> Census:
    if employees < 1:
        raise UserError(f"--employees must be at least 1, got {employees}.")
    settings = workspace.settings()
    census = generate_census(employees, seed, settings)
    with workspace.database(settings).transaction() as connection:
        census_store.store_census(
            connection, census, f"generated: {employees} employees, seed {seed}"
        )
    return census


def import_census(workspace: Workspace, path: Path, *, keep_latest: bool = False) -> Census:
    """Validate a census file and store it; a bad file is rejected whole, nothing stored."""
    settings = workspace.settings()
    census = read_census(path, settings, keep_latest=keep_latest)
    with workspace.database(settings).transaction() as connection:
        census_store.store_census(connection, census, str(path))
    return census


@dataclass(frozen=True)
class SimulationRun:
    run_id: int
    scenario_id: str
    parameter_set_id: int
    seed: int
    result: SimulationResult
    metrics: RunMetrics
    engine_seconds: float
    total_seconds: float


def _check_request(as_of_date: dt.date, workforce: Workforce, start_year: int, years: int) -> None:
    if not 1 <= years <= MAX_YEARS:
        raise UserError(f"--years must be between 1 and {MAX_YEARS}, got {years}.")
    if start_year <= as_of_date.year:
        raise UserError(
            f"--start-year {start_year} must come after the census as-of date "
            f"{as_of_date} (its year {as_of_date.year})."
        )
    if len(workforce) == 0:
        raise UserError(
            "The census has no active employees at its as-of date; nothing to simulate."
        )


def _each(*callbacks: ProgressCallback | None) -> ProgressCallback:
    """One `on_year` callback that calls each given one in turn."""

    def call(outcome: YearOutcome) -> None:
        for callback in callbacks:
            if callback is not None:
                callback(outcome)

    return call


@dataclass(frozen=True)
class _Request:
    workforce: Workforce
    settings: Settings
    levers: ResolvedLevers
    start_year: int
    years: int
    seed: int


def _simulate_and_store(
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    request: _Request,
    metrics_of: Callable[[SimulationResult], RunMetrics],
    on_year: ProgressCallback | None,
) -> tuple[SimulationResult, RunMetrics, float]:
    """Simulate while a background thread stores each finished year in the caller's
    transaction; the result, its metrics and the seconds the engine and metrics took."""
    started = time.perf_counter()
    with runs.writing_years(
        connection, run_id, request.start_year, request.workforce, request.years
    ) as store_year:
        result = simulate(
            request.workforce,
            request.settings,
            request.levers,
            start_year=request.start_year,
            years=request.years,
            seed=request.seed,
            on_year=_each(store_year, on_year),
        )
        metrics = metrics_of(result)
        engine_seconds = time.perf_counter() - started
    return result, metrics, engine_seconds


def run_simulation(
    workspace: Workspace,
    *,
    scenario_id: str = DEFAULT_SCENARIO,
    years: int | None = None,
    start_year: int | None = None,
    seed: int | None = None,
    parameter_set_id: int | None = None,
    on_year: ProgressCallback | None = None,
) -> SimulationRun:
    """Simulate the active census under a scenario's levers; store the run in one transaction."""
    started = time.perf_counter()
    settings = workspace.settings()
    first = settings.start_year if start_year is None else start_year
    count = settings.years if years is None else years
    chosen_seed = settings.seed if seed is None else seed
    with workspace.database(settings).connect() as connection:
        census_id = census_store.active_census_id(connection)
        as_of_date, workforce = census_store.load_starting_workforce(connection, census_id)
        _check_request(as_of_date, workforce, first, count)
        set_id, _, resolved = load_levers(
            connection, settings, scenario_id, range(first, first + count), parameter_set_id
        )
        with atomic(connection):
            run_id = runs.insert_run(
                connection,
                scenario_id=scenario_id,
                parameter_set_id=set_id,
                census_id=census_id,
                seed=chosen_seed,
                start_year=first,
                end_year=first + count - 1,
                settings=settings,
                default_parameter_set_id=default_set_for(connection, scenario_id),
            )
            result, metrics, engine_seconds = _simulate_and_store(
                connection,
                run_id,
                _Request(workforce, settings, resolved, first, count, chosen_seed),
                run_metrics,
                on_year,
            )
            runs.write_metrics(connection, run_id, metrics, result.years, with_baseline=True)
    return SimulationRun(
        run_id,
        scenario_id,
        set_id,
        chosen_seed,
        result,
        metrics,
        engine_seconds,
        time.perf_counter() - started,
    )


def continue_simulation(
    workspace: Workspace, run_id: int, years: int = 1, on_year: ProgressCallback | None = None
) -> SimulationRun:
    """Extend a stored run by `years`, starting from its stored year-end state.

    The result is identical to having simulated all the years in one call.
    """
    started = time.perf_counter()
    with workspace.database().transaction() as connection:
        run = runs.load_run(connection, run_id)
        settings = run.settings  # the run's own settings, not today's planwise.yaml
        first = run.end_year + 1
        if not 1 <= years <= MAX_YEARS - (run.end_year - run.start_year + 1):
            raise UserError(f"A run may cover at most {MAX_YEARS} years; cannot add {years}.")
        workforce: Workforce = runs.load_year_end_workforce(connection, run_id, run.end_year)
        stored = runs.load_run_metrics(connection, run_id)
        _, _, resolved = load_levers(
            connection,
            settings,
            run.scenario_id,
            range(first, first + years),
            run.parameter_set_id,
            run.default_parameter_set_id,
        )

        def continued_metrics(result: SimulationResult) -> RunMetrics:
            return run_metrics(
                result,
                baseline=stored.baseline,
                previous=summarize(run.end_year, stored.per_year[run.end_year]),
                earlier_years=stored.per_year.items(),
            )

        result, metrics, engine_seconds = _simulate_and_store(
            connection,
            run_id,
            _Request(workforce, settings, resolved, first, years, run.seed),
            continued_metrics,
            on_year,
        )
        runs.write_metrics(connection, run_id, metrics, result.years, with_baseline=False)
        runs.append_years(connection, run_id, first + years - 1)
    return SimulationRun(
        run_id,
        run.scenario_id,
        run.parameter_set_id,
        run.seed,
        result,
        metrics,
        engine_seconds,
        time.perf_counter() - started,
    )
