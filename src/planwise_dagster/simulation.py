"""Simulation assets: the active census, the scenario's levers, the stored simulation run."""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations.

from pydantic import Field

import dagster as dg
from planwise import application
from planwise.application import ProgressEvent, ProgressListener, SimulateRequest, YearSimulated
from planwise.parameters import DEFAULT_SCENARIO
from planwise_dagster.metadata import (
    census_metadata,
    level_names,
    levers_metadata,
    run_metadata,
)
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

    def request(self) -> SimulateRequest:
        """The use case's request; what a continuation may not set, the use case refuses."""
        return SimulateRequest(
            scenario_id=self.scenario_id,
            years=self.years,
            start_year=self.start_year,
            seed=self.seed,
            parameter_set_id=self.parameter_set_id,
            continue_run_id=self.run_id,
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
    with user_errors_as_failures():
        active = application.active_census(planwise.workspace()).census
    return dg.MaterializeResult(metadata=census_metadata(active))


@dg.asset(group_name=INPUTS_GROUP, kinds={"duckdb"})
def comp_levers(config: LeversConfig, planwise: PlanwiseWorkspace) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """The scenario's active parameter set, resolved for the simulated years."""
    workspace = planwise.workspace()
    with user_errors_as_failures():
        view = application.lever_view(workspace, config.scenario_id)
        names = level_names(workspace.settings())
    return dg.MaterializeResult(metadata=levers_metadata(view, names))


def _observe_years(context: dg.AssetExecutionContext) -> ProgressListener:
    """One observation of the asset per simulated year: planwise_app.launch follows these
    (the run's structured events, not its log text) for its progress bar, so the asset key
    and the metadata names are a contract."""

    def observe(event: ProgressEvent) -> None:
        if isinstance(event, YearSimulated):
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    metadata={
                        "simulation_year": event.year,
                        "years_done": event.done,
                        "years_total": event.total,
                    },
                )
            )

    return observe


@dg.asset(group_name=SIMULATION_GROUP, deps=[census, comp_levers], kinds={"python", "duckdb"})
def workforce_simulation(
    context: dg.AssetExecutionContext, config: SimulationConfig, planwise: PlanwiseWorkspace
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """A multi-year simulation run stored in the workspace: events, snapshots, metrics."""
    with user_errors_as_failures():
        run = application.simulate(planwise.workspace(), config.request(), _observe_years(context))
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
