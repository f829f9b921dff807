"""Helpers of the Dagster tests: run a job in-process, read what it materialized."""

from __future__ import annotations

from typing import Any

import dagster as dg

EMPLOYEES = 1_500
CENSUS_SEED = 20250101
YEARS = 3


def execute(
    job_name: str,
    instance: dg.DagsterInstance,
    run_config: dict[str, Any] | None = None,
    assets: list[str] | None = None,
    resources: dict[str, Any] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a job of the PlanWise definitions in this process (optionally a subset of assets,
    optionally with resources in place of the definitions')."""
    from planwise_dagster import defs

    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        asset_selection=None if assets is None else [dg.AssetKey(name) for name in assets],
        raise_on_error=False,
        resources=resources,
    )
    failures = [event.message for event in result.all_events if event.is_failure]
    assert result.success, "\n".join(str(message) for message in failures)
    return result


def materialized(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values of the asset's materialization in the run."""
    [event] = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(asset)
    ]
    metadata = event.materialization.metadata
    return {name: getattr(value, "value", value) for name, value in metadata.items()}


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    """Each evaluated check, by name."""
    return {
        evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()
    }


def dbt_checks_all_passed(result: dg.ExecuteInProcessResult) -> int:
    """The number of dbt data tests evaluated as checks; every one must have passed."""
    evaluations = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.check_name.startswith("validate_")
    ]
    failed = [evaluation.check_name for evaluation in evaluations if not evaluation.passed]
    assert not failed, failed
    return len(evaluations)
