"""Simulation assets: the active census, the scenario's levers, the stored simulation run."""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations.

from pydantic import Field

import dagster as dg
from planwise import service
from planwise.errors import UserError
from planwise.parameters import DEFAULT_SCENARIO
from planwise.parameters.loading import load_levers
from planwise.simulation import YearOutcome
from planwise.storage import census_store, parameter_store
from planwise_dagster.metadata import lever_table_markdown, run_metadata
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures

__all__ = [
    "LeversConfig",
    "SimulationConfig",
    "SingleYearConfig",
    "census",
    "comp_levers",
    "workforce_simulation",
]

INPUTS_GROUP = "inputs"
SIMULATION_GROUP = "simulation"


class LeversConfig(dg.Config):
    scenario_id: str = Field(DEFAULT_SCENARIO, description="Scenario whose active levers to show.")


class SimulationConfig(dg.Config):
    """A new run (scenario, years, start year, seed, parameter set), or `run_id` to extend one."""

    scenario_id: str = Field(DEFAULT_SCENARIO, description="Scenario whose active levers to use.")
    years: int | None = Field(
        None, description="Years to simulate (default: planwise.yaml; 1 when extending a run)."
    )
    start_year: int | None = Field(None, description="First simulated year (default: settings).")
    seed: int | None = Field(None, description="Random seed (default: planwise.yaml).")
    parameter_set_id: int | None = Field(
        None, description="Use this parameter set instead of the scenario's active one."
    )
    run_id: int | None = Field(
        None,
        description="Extend this stored run by `years` (default 1), from its stored last year.",
    )


class SingleYearConfig(dg.Config):
    """One more year of a stored run, or a new one-year run."""

    run_id: int | None = Field(
        None, description="Continue this stored run by one year; unset: a new one-year run."
    )
    scenario_id: str = Field(DEFAULT_SCENARIO, description="Scenario of a new run.")


@dg.asset(group_name=INPUTS_GROUP, kinds={"duckdb"})
def census(planwise: PlanwiseWorkspace) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The workspace's active census: the starting workforce every simulation begins from."""
    workspace = planwise.workspace()
    with user_errors_as_failures(), workspace.database().connect(read_only=True) as connection:
        active = census_store.load_census(connection, census_store.active_census_id(connection))
    return dg.MaterializeResult(
        metadata={
            "census_id": active.census_id,
            "row_count": dg.MetadataValue.int(len(active)),
            "starting_headcount": dg.MetadataValue.int(active.starting_headcount),
            "as_of_date": active.as_of_date.isoformat(),
        }
    )


@dg.asset(group_name=INPUTS_GROUP, kinds={"duckdb"})
def comp_levers(config: LeversConfig, planwise: PlanwiseWorkspace) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The scenario's active parameter set, resolved for the simulated years."""
    workspace = planwise.workspace()
    with user_errors_as_failures():
        settings = workspace.settings()
        years = range(settings.start_year, settings.start_year + settings.years)
        with workspace.database(settings).connect(read_only=True) as connection:
            set_id, lever_set, resolved = load_levers(
                connection, settings, config.scenario_id, years
            )
            record = parameter_store.load_parameter_set(connection, set_id)
    return dg.MaterializeResult(
        metadata={
            "parameter_set_id": dg.MetadataValue.int(set_id),
            "scenario_id": config.scenario_id,
            "source": record.source,
            "created_by": record.created_by,
            "note": record.note or "",
            "locked_values": dg.MetadataValue.int(sum(lever.is_locked for lever in lever_set)),
            "levers": dg.MetadataValue.md(lever_table_markdown(resolved)),
        }
    )


@dg.asset(group_name=SIMULATION_GROUP, deps=[census, comp_levers], kinds={"python", "duckdb"})
def workforce_simulation(
    context: dg.AssetExecutionContext, config: SimulationConfig, planwise: PlanwiseWorkspace
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """A multi-year simulation run stored in the workspace: events, snapshots, metrics."""
    workspace = planwise.workspace()

    def log_year(outcome: YearOutcome) -> None:
        # planwise_app.launch follows these lines for its progress bar: keep the wording.
        context.log.info(f"Simulated {outcome.year}")

    with user_errors_as_failures():
        if config.run_id is None:
            run = service.run_simulation(
                workspace,
                scenario_id=config.scenario_id,
                years=config.years,
                start_year=config.start_year,
                seed=config.seed,
                parameter_set_id=config.parameter_set_id,
                on_year=log_year,
            )
        else:
            if (config.start_year, config.seed, config.parameter_set_id) != (None, None, None):
                raise UserError(
                    "run_id takes only years: the stored run fixes the start year, the seed "
                    "and the parameter set."
                )
            run = service.continue_simulation(
                workspace, config.run_id, config.years or 1, on_year=log_year
            )
    context.log.info(
        f"Stored run {run.run_id} ({run.metrics.years[0]}–{run.metrics.years[-1]}) "
        f"in {run.total_seconds:.2f} s (engine {run.engine_seconds:.2f} s)"
    )
    return dg.MaterializeResult(
        metadata=run_metadata(
            run.run_id,
            run.scenario_id,
            run.parameter_set_id,
            run.seed,
            run.metrics,
            run.total_seconds,
        )
    )
