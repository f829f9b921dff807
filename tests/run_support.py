"""A stored run's years again, in memory: the engine is deterministic, so simulating the
run's census, levers, settings and seed once more gives exactly the years that were
stored (a stored run keeps no years in memory: they stream to the store)."""

from __future__ import annotations

from planwise.application import SimulationRun, Workspace
from planwise.simulation import SimulationResult, YearOutcome, simulate
from planwise.storage import census_store, parameter_store, runs


def outcomes_of(workspace: Workspace, run: SimulationRun) -> tuple[YearOutcome, ...]:
    return result_of(workspace, run).outcomes


def result_of(workspace: Workspace, run: SimulationRun) -> SimulationResult:
    with workspace.database().connect(read_only=True) as connection:
        record = runs.load_run(connection, run.run_id)
        _, workforce = census_store.load_starting_workforce(connection, record.census_id)
        years = range(record.start_year, record.end_year + 1)
        _, _, levers = parameter_store.load_levers(
            connection,
            record.settings,
            record.scenario_id,
            years,
            record.parameter_set_id,
            record.default_parameter_set_id,
        )
    return simulate(
        workforce,
        record.settings,
        levers,
        start_year=record.start_year,
        years=len(years),
        seed=record.seed,
    )
