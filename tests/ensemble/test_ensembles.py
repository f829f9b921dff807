"""Ensembles on a real Dask cluster: members equal single runs, results do not depend on
the workers, a lost worker changes nothing, and everything is stored and shown again."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from distributed import LocalCluster
from ensemble_support import YEARS

from planwise import application
from planwise.application import SimulateRequest, Workspace
from planwise.application.ensembles import (
    EnsembleRequest,
    EnsembleResult,
    Threshold,
    list_ensembles,
    run_ensemble,
    show_ensemble,
)
from planwise.application.progress import ClusterStarted, MemberSimulated, ProgressEvent
from planwise.errors import UserError

SEEDS = 6
FIRST_SEED = 300


@pytest.fixture(scope="module")
def ensemble(workspace: Workspace, cluster: LocalCluster) -> EnsembleResult:
    return run_ensemble(
        workspace,
        EnsembleRequest(
            seeds=SEEDS,
            first_seed=FIRST_SEED,
            scenarios=("default", "lean"),
            scheduler=cluster.scheduler_address,
            keep_events=1,
            thresholds=(Threshold("total_compensation_cost", 1.5e8),),
        ),
    )


def test_member_seed_k_equals_a_simulation_with_seed_k(
    workspace: Workspace, ensemble: EnsembleResult
) -> None:
    run = application.simulate(workspace, SimulateRequest(seed=FIRST_SEED + 2))
    [member] = [m for m in ensemble.of("default") if m.seed == FIRST_SEED + 2]
    for year, metrics in run.metrics.per_year.items():
        for name, value in metrics.items():
            assert member.per_year[year][name] == pytest.approx(value, rel=0, abs=0, nan_ok=True)
    assert dict(member.horizon) == run.metrics.horizon


def test_the_bands_do_not_depend_on_the_number_of_workers(
    workspace: Workspace, ensemble: EnsembleResult
) -> None:
    alone = run_ensemble(
        workspace,
        EnsembleRequest(
            seeds=SEEDS, first_seed=FIRST_SEED, scenarios=("default", "lean"), workers=1
        ),
    )
    assert alone.members == ensemble.members
    assert alone.bands() == ensemble.bands()
    assert alone.differences("lean") == ensemble.differences("lean")
    assert alone.record.workers == 1 and ensemble.record.scheduler is not None


def test_a_worker_killed_mid_run_changes_nothing(
    workspace: Workspace, cluster: LocalCluster, ensemble: EnsembleResult
) -> None:
    # The worker processes' PIDs from their nannies (no second client in this process:
    # the ensemble's own client is the one that must recover).
    pids = [nanny.process.pid for nanny in cluster.workers.values()]
    killed: list[int] = []

    def kill_one(event: ProgressEvent) -> None:
        if isinstance(event, MemberSimulated) and not killed:
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    again = run_ensemble(
        workspace,
        EnsembleRequest(
            seeds=SEEDS,
            first_seed=FIRST_SEED,
            scenarios=("default", "lean"),
            scheduler=cluster.scheduler_address,
        ),
        kill_one,
    )
    assert killed and again.members == ensemble.members
    deadline = time.monotonic() + 60  # the nanny restarts the worker for the next tests
    while len(cluster.scheduler.workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)


def test_scenarios_compare_seed_by_seed_with_a_much_tighter_band(
    ensemble: EnsembleResult,
) -> None:
    final = YEARS + 2024
    own = ensemble.bands("lean")["total_compensation_cost"][final]
    paired = ensemble.differences("lean")["total_compensation_cost"][final]
    assert paired.max < 0  # a lower COLA costs less on every seed
    assert paired.max - paired.min < (own.max - own.min) / 5
    assert ensemble.bands()["headcount"][final].deterministic


def test_the_ensemble_is_stored_and_shown_again(
    workspace: Workspace, ensemble: EnsembleResult
) -> None:
    shown = show_ensemble(workspace, ensemble.record.ensemble_id, ensemble.thresholds)
    assert shown.members == ensemble.members
    assert shown.as_dict()["bands"] == ensemble.as_dict()["bands"]
    assert ensemble.record.ensemble_id in [r.ensemble_id for r in list_ensembles(workspace)]
    kept = [row for row in shown.rows if row.run_id is not None]
    assert [(row.scenario_id, row.seed) for row in kept] == [
        ("default", FIRST_SEED),
        ("lean", FIRST_SEED),
    ]
    stored = application.run_results(workspace, kept[0].run_id)
    [member] = [m for m in ensemble.of("default") if m.seed == FIRST_SEED]
    assert (
        stored.metrics.per_year[2025]["total_compensation_cost"]
        == (member.per_year[2025]["total_compensation_cost"])
    )


def test_the_json_follows_the_contract(ensemble: EnsembleResult) -> None:
    payload = ensemble.as_dict()
    assert {"ensemble_id", "members", "bands", "differences", "members_metrics"} <= set(payload)
    assert payload["members"] == 2 * SEEDS
    band = payload["bands"]["total_compensation_cost"]["2025"]
    assert set(band) >= {"mean", "p10", "p50", "p90", "min", "max"}
    assert set(payload["differences"]) == {"lean"}
    first = payload["members_metrics"][0]
    assert (first["scenario"], first["seed"]) == ("default", FIRST_SEED)
    assert first["metrics"]["headcount"]["2025"] > 0
    assert payload["exceedance"]["default"]["total_compensation_cost>1.5e+08"]["2025"] in (0, 1)


def test_an_unreachable_scheduler_is_a_clear_error_not_a_hang(workspace: Workspace) -> None:
    # Nothing listens on port 9 (discard): the connection attempt gives up after its
    # timeout with a one-paragraph message instead of waiting for a cluster forever.
    address = "tcp://127.0.0.1:9"
    with pytest.raises(
        UserError, match=re.escape(f"Could not reach the Dask scheduler at {address}")
    ):
        run_ensemble(workspace, EnsembleRequest(seeds=2, scheduler=address))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (EnsembleRequest(seeds=0), "--seeds must be between 1"),
        (EnsembleRequest(seeds=2, first_seed=-1), "--first-seed must be between 0"),
        (EnsembleRequest(seeds=2, first_seed=2**63), "--first-seed must be between 0"),
        (EnsembleRequest(seeds=2, scenarios=("default", "default")), "each scenario once"),
        (EnsembleRequest(seeds=2, keep_events=3), "--keep-events must be between 0"),
        (EnsembleRequest(seeds=2, thresholds=(Threshold("cost", 1.0),)), "unknown metric"),
        (EnsembleRequest(seeds=2, scenarios=("nope",)), "Unknown scenario 'nope'"),
    ],
    ids=["no-seeds", "negative-seed", "seed-too-large", "repeated", "keep", "metric", "scenario"],
)
def test_a_bad_request_is_refused_before_anything_runs(
    workspace: Workspace, request_: EnsembleRequest, message: str
) -> None:
    events: list[ProgressEvent] = []
    with pytest.raises(UserError, match=message):
        run_ensemble(workspace, request_, events.append)
    assert not any(isinstance(event, ClusterStarted) for event in events)
