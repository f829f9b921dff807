"""`planwise dagster`: the UI serves the PlanWise jobs on 127.0.0.1, shows the runs made
outside Dagster and the workspace's scenarios as ensemble partitions (the store sensor, run
by its daemon) and stops on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from planwise import application
from planwise.application import SimulateRequest, Workspace
from planwise.cli.orchestration import DAGSTER_YAML, dagster_dev_command, prepare_dagster_home

JOBS_QUERY = "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
EXPECTED_JOBS = {
    "app_simulation",
    "multi_year_simulation",
    "single_year_simulation",
    "compensation_optimization_job",
    "single_optimization_iteration",
}
MATERIALIZATIONS_QUERY = """{ assetOrError(assetKey: {path: ["workforce_simulation"]}) {
  ... on Asset { assetMaterializations(limit: 20) {
    runId metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""
PARTITIONS_QUERY = """{ assetNodeOrError(assetKey: {path: ["ensemble_members"]}) {
  ... on AssetNode { partitionKeysByDimension { name partitionKeys } } } }"""
START_TIMEOUT_SECONDS = 150
# The daemon evaluates the sensor as it starts, then every 30 s.
SENSOR_TIMEOUT_SECONDS = 75


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(port: int, query: str) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            payload: dict[str, Any] = json.load(response).get("data") or {}
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return payload


def _job_names(port: int) -> set[str] | None:
    payload = _graphql(port, JOBS_QUERY)
    if payload is None:
        return None
    nodes = payload.get("repositoriesOrError", {}).get("nodes") or []
    return {job["name"] for node in nodes for job in node["jobs"]}


def _materialized_runs(port: int) -> list[tuple[str, int | None]]:
    """Each materialization of `workforce_simulation`: its Dagster run id ("" for one the
    sensor reported) and the PlanWise run id in its metadata."""
    payload = _graphql(port, MATERIALIZATIONS_QUERY) or {}
    events = (payload.get("assetOrError") or {}).get("assetMaterializations") or []
    runs: list[tuple[str, int | None]] = []
    for event in events:
        ids = [entry.get("intValue") for entry in event["metadataEntries"]]
        labels = [entry["label"] for entry in event["metadataEntries"]]
        runs.append((event["runId"], dict(zip(labels, ids, strict=True)).get("run_id")))
    return runs


def _partition_keys(port: int) -> dict[str, list[str]]:
    """The partition keys of `ensemble_members`, by dimension."""
    payload = _graphql(port, PARTITIONS_QUERY) or {}
    dimensions = (payload.get("assetNodeOrError") or {}).get("partitionKeysByDimension") or []
    return {dimension["name"]: dimension["partitionKeys"] for dimension in dimensions}


def _ignore_sigint() -> None:
    # What a script's `cmd &` does to a background command.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_the_dagster_home_is_the_workspace_s_with_telemetry_off(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "workspace")
    home = prepare_dagster_home(workspace)
    assert home == workspace.root / ".dagster"
    assert (home / "dagster.yaml").read_text() == DAGSTER_YAML
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    prepare_dagster_home(workspace)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    command = dagster_dev_command(3333)
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("-m", 3) + 1] == "planwise_dagster"


@pytest.mark.slow
def test_planwise_dagster_serves_the_jobs_and_stops_on_sigterm(
    workspace: Workspace, tmp_path: Path
) -> None:
    outside = application.simulate(workspace, SimulateRequest(years=1))  # as the CLI does
    port = _free_port()
    log_path = tmp_path / "dagster.log"
    environment = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1"}
    environment.pop("DAGSTER_HOME", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from planwise.cli import main; main()",
                "dagster",
                "--workspace",
                str(workspace.root),
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
            preexec_fn=_ignore_sigint,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        names: set[str] | None = None
        while time.monotonic() < deadline and process.poll() is None:
            names = _job_names(port)
            if names:
                break
            time.sleep(1)
        assert names is not None, log_path.read_text(errors="replace")[-3000:]
        assert names >= EXPECTED_JOBS
        assert (workspace.root / ".dagster" / "dagster.yaml").exists()

        # The run made outside Dagster shows as a materialization, not "never materialized".
        deadline = time.monotonic() + SENSOR_TIMEOUT_SECONDS
        materialized = _materialized_runs(port)
        while not materialized and time.monotonic() < deadline and process.poll() is None:
            time.sleep(1)
            materialized = _materialized_runs(port)
        assert materialized == [("", outside.run_id)], log_path.read_text(errors="replace")[-3000:]
        # The same tick made the workspace's scenario a partition of the ensemble: a backfill
        # of scenario × seed block can be launched from the asset's page.
        partitions = _partition_keys(port)
        assert partitions.get("scenario") == ["default"], partitions
        assert partitions["seed_block"][:2] == ["000-015", "016-031"]

        process.terminate()  # SIGTERM to `planwise dagster`, which became `dagster dev`
        assert process.wait(timeout=60) is not None
    finally:
        if process.poll() is None:
            process.kill()
        with contextlib.suppress(ProcessLookupError):  # anything left in its process group
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
