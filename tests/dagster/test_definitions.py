"""The definitions load, and their asset keys, groups, jobs, checks and sensors are the
committed ones.

Regenerate `expected_definitions.json` deliberately when the graph changes:
`python tests/dagster/test_definitions.py > tests/dagster/expected_definitions.json`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import dagster as dg

EXPECTED = Path(__file__).with_name("expected_definitions.json")
OWN_CHECKS = {"validate_optimization_convergence", "validate_optimization_results_quality"}


def _describe(defs: dg.Definitions) -> dict[str, Any]:
    graph = defs.resolve_asset_graph()
    return {
        "assets": {
            key.to_user_string(): graph.get(key).group_name
            for key in sorted(graph.get_all_asset_keys())
        },
        "jobs": sorted(
            job.name for job in defs.resolve_all_job_defs() if job.name != "__ASSET_JOB"
        ),
        "checks": sorted(
            key.to_user_string() for key in graph.asset_check_keys if key.name in OWN_CHECKS
        ),
        "sensors": sorted(sensor.name for sensor in defs.sensors or ()),
    }


def test_definitions_match_the_committed_list() -> None:
    from planwise_dagster import defs

    defs.validate_loadable(defs)
    assert _describe(defs) == json.loads(EXPECTED.read_text(encoding="utf-8"))


def test_every_dbt_model_test_is_an_asset_check() -> None:
    from planwise_dagster import defs
    from planwise_dagster.analytics import PROJECT

    manifest = json.loads(PROJECT.manifest_path.read_text(encoding="utf-8"))
    model_tests = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and len(node["depends_on"]["nodes"]) == 1
        and node["depends_on"]["nodes"][0].split(".")[0] in ("model", "seed")
    }
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert model_tests
    assert model_tests <= checks


def test_dbt_sources_are_the_assets_that_write_them() -> None:
    from planwise_dagster import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    staging = [key for key in keys if key.path[0].startswith("stg_")]
    assert staging
    for key in staging:
        assert graph.get(key).parent_keys <= keys, f"{key} reads an unmapped source"
    assert (
        dg.AssetKey("workforce_simulation")
        in graph.get(dg.AssetKey("stg_yearly_events")).parent_keys
    )
    assert (
        dg.AssetKey("compensation_optimization_loop")
        in graph.get(dg.AssetKey("stg_optimization_runs")).parent_keys
    )


def test_runs_use_the_in_process_executor() -> None:
    from planwise_dagster import defs

    for job in defs.resolve_all_job_defs():
        assert job.executor_def.name == "in_process", job.name


if __name__ == "__main__":
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    from planwise_dagster import defs

    json.dump(_describe(defs), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
