"""Jobs: the simulation (multi-year, one more year, the app's run) and the tuning loop
(whole, one step).

Each job materializes the inputs it reads (their metadata records which census and levers
it used), its own assets with their checks, and — except the one-step debugging job and the
app's run — the dbt marts with their data tests, built once at the end.
"""

# No `from __future__ import annotations`: Dagster reads the config mappings' annotations.

import dagster as dg
from planwise_dagster.analytics import planwise_dbt_models
from planwise_dagster.optimization import (
    OptimizationConfig,
    TuningConfig,
    compensation_optimization_loop,
    optimization_results_summary,
)
from planwise_dagster.simulation import (
    LeversConfig,
    SimulationConfig,
    SingleYearConfig,
    census,
    comp_levers,
    workforce_simulation,
)

__all__ = ["APP_SIMULATION_JOB", "JOBS"]

APP_SIMULATION_JOB = "app_simulation"

_INPUTS = dg.AssetSelection.assets(census, comp_levers)
_SIMULATION = _INPUTS | dg.AssetSelection.assets(workforce_simulation)
_OPTIMIZATION = _INPUTS | dg.AssetSelection.assets(
    compensation_optimization_loop, optimization_results_summary
)
_ANALYTICS = dg.AssetSelection.assets(planwise_dbt_models)


@dg.config_mapping
def _one_year(config: SingleYearConfig) -> dg.RunConfig:
    return dg.RunConfig(
        ops={
            "comp_levers": LeversConfig(scenario_id=config.scenario_id),
            "workforce_simulation": SimulationConfig.model_validate(
                {"scenario_id": config.scenario_id, "years": 1, "run_id": config.run_id}
            ),
        }
    )


@dg.config_mapping
def _one_step(config: TuningConfig) -> dg.RunConfig:
    step = OptimizationConfig(**config.model_dump(), extra_iterations=1)
    return dg.RunConfig(
        ops={
            "comp_levers": LeversConfig(scenario_id=config.scenario_id),
            "compensation_optimization_loop": step,
        }
    )


JOBS = [
    dg.define_asset_job(
        "multi_year_simulation",
        selection=_SIMULATION | _ANALYTICS,
        description="Simulate the years of planwise.yaml (or `years`), then build the marts.",
    ),
    dg.define_asset_job(
        APP_SIMULATION_JOB,
        selection=_SIMULATION,
        description=(
            "The app's run: the inputs and the simulation, without the marts (rebuilding them "
            "costs half a minute; `multi_year_simulation` or 'planwise analytics build' does). "
            "The same config as `multi_year_simulation`."
        ),
    ),
    dg.define_asset_job(
        "single_year_simulation",
        selection=_SIMULATION | _ANALYTICS,
        description=(
            "Simulate one year. Set `run_id` to continue a stored run from its last year (the "
            "same figures as simulating all the years at once); leave it unset to start a new "
            "one-year run."
        ),
        config=_one_year,
    ),
    dg.define_asset_job(
        "compensation_optimization_job",
        selection=_OPTIMIZATION | _ANALYTICS,
        description="Tune the levers to the targets (targets.yaml or inline); build the marts.",
    ),
    dg.define_asset_job(
        "single_optimization_iteration",
        selection=_OPTIMIZATION,
        description=(
            "One step of the tuning loop, for debugging. Set `resume` to a stored optimization "
            "to take one more step; leave it unset to start one that evaluates the current "
            "levers against the targets (and can be resumed)."
        ),
        config=_one_step,
    ),
]
