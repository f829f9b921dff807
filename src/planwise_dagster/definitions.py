"""The Dagster definitions of PlanWise: `dagster dev -m planwise_dagster` loads `defs`.

The workspace comes from `$PLANWISE_WORKSPACE`, which `planwise dagster` sets. Under
`dagster dev` the daemon runs the store sensor, which shows the runs, applied parameter sets
and optimizations made outside Dagster (planwise_dagster.sensors) and adds each scenario's
ensemble partitions (planwise_dagster.ensembles).
"""

from __future__ import annotations

import dagster as dg
from planwise.application import WORKSPACE_ENV
from planwise_dagster.analytics import PROJECT, dbt_resource, planwise_dbt_models
from planwise_dagster.checks import (
    validate_optimization_convergence,
    validate_optimization_results_quality,
)
from planwise_dagster.ensembles import ensemble_bands, ensemble_members
from planwise_dagster.jobs import JOBS
from planwise_dagster.optimization import (
    compensation_optimization_loop,
    optimization_results_summary,
)
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dagster.sensors import workspace_activity_sensor
from planwise_dagster.simulation import census, comp_levers, workforce_simulation

__all__ = ["defs"]

defs = dg.Definitions(
    assets=[
        census,
        comp_levers,
        workforce_simulation,
        compensation_optimization_loop,
        optimization_results_summary,
        ensemble_members,
        ensemble_bands,
        planwise_dbt_models,
    ],
    asset_checks=[validate_optimization_convergence, validate_optimization_results_quality],
    jobs=JOBS,
    sensors=[workspace_activity_sensor],
    resources={
        "planwise": PlanwiseWorkspace(path=dg.EnvVar(WORKSPACE_ENV)),
        "dbt": dbt_resource(PROJECT),
    },
    # Steps run one after another in the run's process: a multiprocess step costs seconds,
    # and DuckDB lets only one process write the store anyway.
    executor=dg.in_process_executor,
)
