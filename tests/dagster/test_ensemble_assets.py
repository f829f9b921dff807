"""Ensembles in Dagster: each partition (scenario × seed block) simulates its members on a
real Dask cluster and writes them to Parquet without touching the store; the bands asset
stores one ensemble from the files, and it is the ensemble `planwise ensemble` stores for
the same seeds, member by member.

The partitions are materialized one by one, as a backfill's runs are, on an ephemeral
instance whose scenario partitions the store sensor added.
"""

from __future__ import annotations

import dataclasses
import doctest
import math
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster_support import YEARS

import dagster as dg
from planwise import application
from planwise.application import (
    CreateScenarioRequest,
    EditLeversRequest,
    EnsembleRequest,
    EnsembleResult,
    LeverEdit,
    MemberBlock,
    SeedBlock,
    StoreBlocksRequest,
    Workspace,
)
from planwise.config import ComputeSettings
from planwise.ensemble import MemberMetrics
from planwise.errors import UserError
from planwise.storage import ensemble_store
from planwise_dagster.ensembles import (
    BLOCK_SEEDS_ENV,
    BLOCKS_ENV,
    SCENARIO_PARTITIONS,
    block_layout,
    ensemble_bands,
    ensemble_members,
)
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dagster.sensors import workspace_activity_sensor

if TYPE_CHECKING:
    from distributed import LocalCluster

SCENARIOS = ("default", "lean")
BLOCKS = ("000-015", "016-031")
SEEDS_PER_BLOCK = 16
FINAL_YEAR = 2024 + YEARS


@dataclass(frozen=True)
class Backfill:
    """What the partitions and then the bands asset materialized."""

    workspace: Workspace
    instance: dg.DagsterInstance
    blocks: dict[tuple[str, str], dict[str, Any]]
    bands: dict[str, Any]
    store_untouched_by_blocks: bool
    ensembles_before_bands: int


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    [event] = result.get_asset_materialization_events()
    return {
        name: getattr(value, "value", value)
        for name, value in event.materialization.metadata.items()
    }


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The step's failure as the UI shows it: the description of its `Failure`."""
    assert not result.success
    [event] = [event for event in result.all_events if event.is_step_failure]
    user_failure = event.step_failure_data.user_failure_data
    assert user_failure is not None, event.step_failure_data.error
    return str(user_failure.description)


def _resources(workspace: Workspace) -> dict[str, Any]:
    return {"planwise": PlanwiseWorkspace(path=str(workspace.root))}


def _store_files(workspace: Workspace) -> dict[str, int]:
    return {
        path.name: path.stat().st_mtime_ns
        for path in workspace.root.iterdir()
        if path.name.startswith("planwise.duckdb")
    }


@pytest.fixture(scope="module")
def ensemble_workspace(
    template_workspace: Path, tmp_path_factory: pytest.TempPathFactory, cluster: LocalCluster
) -> Workspace:
    """The template with scenario `lean` (COLA 1.5 %), running members on the test cluster
    through the workspace's compute.scheduler."""
    root = tmp_path_factory.mktemp("ensembles") / "workspace"
    shutil.copytree(template_workspace, root)
    workspace = Workspace(root)
    scheduler = ComputeSettings(scheduler=cluster.scheduler_address)
    workspace.write_settings(workspace.settings().model_copy(update={"compute": scheduler}))
    application.create_scenario(workspace, CreateScenarioRequest("lean"))
    application.edit_levers(
        workspace, EditLeversRequest((LeverEdit("cola_rate", 0.015),), scenario_id="lean")
    )
    return workspace


@pytest.fixture(scope="module")
def backfill(ensemble_workspace: Workspace) -> Backfill:
    workspace = ensemble_workspace
    instance = dg.DagsterInstance.ephemeral()
    tick = workspace_activity_sensor(
        dg.build_sensor_context(instance=instance, resources=_resources(workspace))
    )
    assert isinstance(tick, dg.SensorResult)
    for request in tick.dynamic_partitions_requests or ():
        assert isinstance(request, dg.AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
    before = _store_files(workspace)
    blocks = {}
    for scenario in SCENARIOS:
        for block in BLOCKS:
            key = dg.MultiPartitionKey({"scenario": scenario, "seed_block": block})
            result = dg.materialize(
                [ensemble_members],
                partition_key=key,
                instance=instance,
                resources=_resources(workspace),
            )
            blocks[(scenario, block)] = _metadata(result)
    untouched = _store_files(workspace) == before
    ensembles_before = len(application.list_ensembles(workspace))
    bands = dg.materialize([ensemble_bands], instance=instance, resources=_resources(workspace))
    return Backfill(workspace, instance, blocks, _metadata(bands), untouched, ensembles_before)


def _figures(member: MemberMetrics) -> tuple[Any, ...]:
    """A member's figures, NaN as None: equal members give equal tuples."""

    def plain(values: Any) -> dict[str, float | None]:
        return {name: None if math.isnan(value) else value for name, value in values.items()}

    per_year = {year: plain(values) for year, values in member.per_year.items()}
    return member.scenario_id, member.seed, per_year, plain(member.horizon)


def test_the_partitions_are_scenario_by_blocks_of_consecutive_seeds(backfill: Backfill) -> None:
    partitions = ensemble_members.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    keys = partitions.get_partition_keys(dynamic_partitions_store=backfill.instance)
    assert len(keys) == len(SCENARIOS) * 16
    blocks = sorted({key.keys_by_dimension["seed_block"] for key in keys})
    assert blocks[:2] == list(BLOCKS) and blocks[-1] == "240-255"
    assert backfill.instance.get_dynamic_partitions(SCENARIO_PARTITIONS) == list(SCENARIOS)


def test_each_partition_writes_its_members_to_parquet_not_to_the_store(
    backfill: Backfill,
) -> None:
    seed = backfill.workspace.settings().seed
    assert backfill.store_untouched_by_blocks
    assert backfill.ensembles_before_bands == 0
    for (scenario, label), metadata in backfill.blocks.items():
        path = backfill.workspace.root / "ensembles" / scenario / f"{label}.parquet"
        assert metadata["path"] == str(path) and path.exists()
        assert metadata["members"] == SEEDS_PER_BLOCK
        first = seed + int(label[:3])
        assert metadata["seeds"] == f"{first}–{first + SEEDS_PER_BLOCK - 1} (16 seeds)"
        assert metadata["ran_on"].startswith("the Dask cluster at tcp://127.0.0.1:")
        words = metadata["final_year_total_compensation_cost"]
        assert words.startswith(f"In {FINAL_YEAR}, total compensation cost is $")
        assert "(P50)" in words and "(P10)" in words and "(P90)" in words
        assert (
            metadata["final_total_compensation_cost_p10"]
            < metadata["final_total_compensation_cost_p50"]
            < metadata["final_total_compensation_cost_p90"]
        )
    leftovers = [p for p in (backfill.workspace.root / "ensembles").rglob("*") if p.is_file()]
    assert sorted(p.name for p in leftovers) == sorted(
        f"{b}.parquet" for _ in SCENARIOS for b in BLOCKS
    )


def test_the_stored_ensemble_is_planwise_ensemble_s_for_the_same_seeds(
    backfill: Backfill,
) -> None:
    workspace = backfill.workspace
    shown = application.show_ensemble(workspace, backfill.bands["ensemble_id"])
    direct: EnsembleResult = application.run_ensemble(
        workspace,
        EnsembleRequest(seeds=len(BLOCKS) * SEEDS_PER_BLOCK, scenarios=SCENARIOS),
    )
    assert [_figures(m) for m in shown.members] == [_figures(m) for m in direct.members]
    record, reference = shown.record, direct.record
    assert (record.scenarios, record.first_seed, record.seeds) == (
        reference.scenarios,
        reference.first_seed,
        reference.seeds,
    )
    assert record.parameter_sets == reference.parameter_sets
    assert record.census_id == reference.census_id
    assert (record.start_year, record.years) == (reference.start_year, reference.years)
    assert record.scheduler == reference.scheduler  # the workspace's cluster, both times
    assert shown.as_dict()["bands"] == direct.as_dict()["bands"]
    assert shown.as_dict()["differences"] == direct.as_dict()["differences"]


def test_the_bands_are_in_plain_words_with_the_differences_seed_by_seed(
    backfill: Backfill,
) -> None:
    metadata = backfill.bands
    assert metadata["members"] == len(SCENARIOS) * len(BLOCKS) * SEEDS_PER_BLOCK
    assert metadata["scenarios"] == "default, lean"
    assert metadata["seed_blocks"] == "000-015, 016-031"
    bands = metadata["bands"]
    assert "**default** (parameter set" in bands and "**lean** (parameter set" in bands
    assert f"| Metric | 2025 | 2026 | {FINAL_YEAR} |" in bands
    assert "| Total compensation cost | $" in bands
    assert "(no spread)" in bands  # headcount follows the aligned counts
    assert "total_compensation_cost" not in bands
    differences = metadata["differences"]
    assert "**lean − default**, seed by seed" in differences
    assert "| Total compensation cost | −$" in differences  # a lower COLA costs less
    shown = application.show_ensemble(backfill.workspace, metadata["ensemble_id"])
    final = shown.bands()["total_compensation_cost"][FINAL_YEAR]
    assert metadata["final_total_compensation_cost_p50"] == final.p50


def test_missing_or_stale_blocks_fail_with_what_to_do(backfill: Backfill, tmp_path: Path) -> None:
    config = dg.RunConfig(ops={"ensemble_bands": {"config": {"seed_blocks": ["032-047"]}}})
    missing = dg.materialize(
        [ensemble_bands],
        run_config=config,
        instance=backfill.instance,
        resources=_resources(backfill.workspace),
        raise_on_error=False,
    )
    assert "these blocks are missing: 'default' 032-047, 'lean' 032-047" in _failure(missing)

    # A copy of the workspace whose levers moved after the blocks were computed.
    copy = Workspace(tmp_path / "workspace")
    shutil.copytree(backfill.workspace.root, copy.root)
    application.edit_levers(
        copy, EditLeversRequest((LeverEdit("cola_rate", 0.01),), scenario_id="lean")
    )
    stale = dg.materialize(
        [ensemble_bands],
        instance=backfill.instance,
        resources=_resources(copy),
        raise_on_error=False,
    )
    message = _failure(stale)
    assert "The blocks no longer match the workspace: scenario 'lean' now uses" in message
    assert "Compute them again" in message
    assert application.list_ensembles(copy) == application.list_ensembles(backfill.workspace)


def _shifted(block: MemberBlock, by: int) -> MemberBlock:
    """The block's members under seeds `by` further on (only the seeds differ)."""
    members = tuple(dataclasses.replace(m, seed=m.seed + by) for m in block.members)
    return dataclasses.replace(block, members=members)


def _rewrite(source: str, target: str, by: int) -> Callable[[Workspace], None]:
    def arrange(workspace: Workspace) -> None:
        folder = workspace.root / "ensembles" / "default"
        block = ensemble_store.read_member_block(folder / f"{source}.parquet")
        ensemble_store.write_member_block(folder / f"{target}.parquet", _shifted(block, by))

    return arrange


def _from_lean(label: str) -> Callable[[Workspace], None]:
    def arrange(workspace: Workspace) -> None:
        folder = workspace.root / "ensembles"
        shutil.copy(folder / "lean" / f"{label}.parquet", folder / "default" / f"{label}.parquet")

    return arrange


@pytest.mark.parametrize(
    ("arrange", "blocks", "message"),
    [
        pytest.param(
            _rewrite("016-031", "048-063", 32),
            None,
            "Seed blocks 016-031 and 048-063 leave a gap between them",
            id="gap",
        ),
        pytest.param(
            _rewrite("000-015", "008-023", 8),
            ("000-015", "008-023"),
            "Seed blocks 000-015 and 008-023 overlap",
            id="overlap",
        ),
        pytest.param(
            _from_lean("000-015"),
            None,
            "000-015.parquet holds scenario 'lean' under seeds 42–57, not the block its name",
            id="other-scenario",
        ),
        pytest.param(
            _rewrite("016-031", "016-031", 1),
            None,
            "016-031.parquet counts its seeds from 43, other blocks from 42",
            id="seed-changed",
        ),
    ],
)
def test_blocks_that_do_not_make_one_ensemble_are_refused(
    backfill: Backfill,
    tmp_path: Path,
    arrange: Callable[[Workspace], None],
    blocks: tuple[str, ...] | None,
    message: str,
) -> None:
    copy = Workspace(tmp_path / "workspace")
    shutil.copytree(backfill.workspace.root, copy.root)
    arrange(copy)
    chosen = None if blocks is None else tuple(SeedBlock.parse(label) for label in blocks)
    request = StoreBlocksRequest(scenarios=("default",), blocks=chosen)
    with pytest.raises(UserError, match=re.escape(message)):
        application.store_member_blocks(copy, request)


def test_a_block_file_is_replaced_whole_or_not_at_all(
    backfill: Backfill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = backfill.workspace.root / "ensembles" / "default" / "000-015.parquet"
    path = tmp_path / "000-015.parquet"
    shutil.copy(source, path)
    block = ensemble_store.read_member_block(path)
    assert block.seeds == list(range(block.seeds[0], block.seeds[0] + SEEDS_PER_BLOCK))

    def interrupted(table: pa.Table, where: Any, **_: Any) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", interrupted)
    with pytest.raises(OSError, match="disk full"):
        ensemble_store.write_member_block(path, block)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    assert ensemble_store.read_member_block(path) == block  # the previous file, whole

    pq.write_table(pa.table({"seed": [1]}), path)
    with pytest.raises(UserError, match="is not a block of ensemble members PlanWise can read"):
        ensemble_store.read_member_block(path)


@pytest.mark.parametrize(
    ("blocks", "seeds", "labels"),
    [
        pytest.param(None, None, ("000-015", "240-255"), id="default-16x16"),
        pytest.param("4", "8", ("000-007", "024-031"), id="4x8"),
        pytest.param("2", "1000", ("000-999", "1000-1999"), id="wide"),
    ],
)
def test_the_block_layout_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
    blocks: str | None,
    seeds: str | None,
    labels: tuple[str, str],
) -> None:
    for name, value in ((BLOCKS_ENV, blocks), (BLOCK_SEEDS_ENV, seeds)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    layout = block_layout()
    assert (layout[0].label, layout[-1].label) == labels


@pytest.mark.parametrize(
    ("blocks", "seeds", "message"),
    [
        pytest.param("0", "16", "$PLANWISE_ENSEMBLE_SEED_BLOCKS must be a whole number", id="zero"),
        pytest.param("16", "x", "$PLANWISE_ENSEMBLE_BLOCK_SEEDS must be a whole number", id="text"),
        pytest.param("1000", "11", "together at most 10,000 seeds", id="too-many"),
    ],
)
def test_a_bad_block_layout_says_which_variable(
    monkeypatch: pytest.MonkeyPatch, blocks: str, seeds: str, message: str
) -> None:
    monkeypatch.setenv(BLOCKS_ENV, blocks)
    monkeypatch.setenv(BLOCK_SEEDS_ENV, seeds)
    with pytest.raises(UserError, match=message.replace("$", r"\$")):
        block_layout()


def test_the_module_examples_run() -> None:
    from planwise.application import ensemble_blocks

    outcome = doctest.testmod(ensemble_blocks)
    assert outcome.attempted > 0 and outcome.failed == 0
