"""Ensembles in blocks: one scenario under a block of consecutive seeds, computed on Dask
and kept as a Parquet file in the workspace; then one ensemble stored from such files.

This is how an orchestrator spreads an ensemble over many tasks (Dagster's partitions,
scenario × seed block). A block's task writes its own file and only reads the store, so
blocks run side by side without contending for DuckDB's single writer; one step then
reads the files, checks that they belong together and still match the workspace, and
stores the ensemble: the tables and figures of `run_ensemble`, whose members the blocks
equal seed by seed (a member is a pure function of the census, the levers, the settings
and its seed).

A block is named by its seeds counted from the workspace's seed: `016-031` holds seeds
S+16 … S+31. Its file is `<workspace>/ensembles/<scenario>/<block>.parquet`, written
atomically (a temporary file, then a rename).
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.application.ensembles import (
    MAX_SEED,
    MAX_SEEDS,
    EnsembleResult,
    Threshold,
    _client,
    cluster_for,
    compute_members,
    load_inputs,
    record_ensemble,
)
from planwise.application.progress import ProgressListener
from planwise.application.workspace import Workspace
from planwise.config import Settings
from planwise.ensemble import MemberMetrics
from planwise.errors import UserError
from planwise.parameters.levers import DEFAULT_SCENARIO
from planwise.parameters.validation import check_scenario_id
from planwise.storage import census_store, ensemble_store, parameter_store
from planwise.storage.database import atomic
from planwise.storage.ensemble_store import MemberBlock, MemberRow

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ENSEMBLE_FILES",
    "BlocksStored",
    "MemberBlockRequest",
    "MemberBlockWritten",
    "SeedBlock",
    "StoreBlocksRequest",
    "list_member_blocks",
    "member_block_path",
    "seed_blocks",
    "simulate_member_block",
    "store_member_blocks",
]

ENSEMBLE_FILES = "ensembles"
"""The workspace's folder of member blocks: one subfolder per scenario."""
_SUFFIX = ".parquet"
_LABEL = re.compile(r"(?P<first>\d{1,5})-(?P<last>\d{1,5})")
# Settings that say where and how the work ran, not what a member is.
_NOT_SIMULATION = frozenset({"compute", "database"})


@dataclass(frozen=True, order=True)
class SeedBlock:
    """Consecutive seeds counted from the workspace's seed: `offset` … `offset + seeds − 1`.

    >>> SeedBlock(16, 16).label
    '016-031'
    >>> SeedBlock.parse("016-031") == SeedBlock(16, 16)
    True
    >>> SeedBlock(16, 16).seed_list(42)[:3]
    [58, 59, 60]
    """

    offset: int
    seeds: int

    @property
    def label(self) -> str:
        return f"{self.offset:03d}-{self.offset + self.seeds - 1:03d}"

    @property
    def end(self) -> int:
        """The offset just after the block."""
        return self.offset + self.seeds

    def seed_list(self, workspace_seed: int) -> list[int]:
        first = workspace_seed + self.offset
        return list(range(first, first + self.seeds))

    @classmethod
    def parse(cls, label: str) -> SeedBlock:
        match = _LABEL.fullmatch(label)
        if match is None or not int(match["first"]) <= int(match["last"]) < MAX_SEEDS:
            raise UserError(
                f"'{label}' is not a seed block. Write FIRST-LAST, the offsets of its first "
                f"and last seed from the workspace's seed, e.g. 000-015 (offsets below "
                f"{MAX_SEEDS:,})."
            )
        first = int(match["first"])
        return cls(first, int(match["last"]) - first + 1)


def seed_blocks(blocks: int, seeds_per_block: int) -> tuple[SeedBlock, ...]:
    """`blocks` consecutive blocks of `seeds_per_block` seeds from the workspace's seed.

    >>> [block.label for block in seed_blocks(3, 4)]
    ['000-003', '004-007', '008-011']
    """
    if blocks < 1 or seeds_per_block < 1 or blocks * seeds_per_block > MAX_SEEDS:
        raise UserError(
            f"{blocks} block(s) of {seeds_per_block} seed(s) is not a layout of seed blocks: "
            f"both must be at least 1, and together at most {MAX_SEEDS:,} seeds."
        )
    return tuple(SeedBlock(index * seeds_per_block, seeds_per_block) for index in range(blocks))


def member_block_path(workspace: Workspace, scenario_id: str, block: SeedBlock) -> Path:
    """Where a scenario's block of members is kept: ensembles/<scenario>/<block>.parquet.

    The scenario id names a folder, so it is checked first (no `..`, no `/`)."""
    problem = check_scenario_id(scenario_id)
    if problem is not None:
        raise UserError(f"The {problem}.")
    return workspace.root / ENSEMBLE_FILES / scenario_id / f"{block.label}{_SUFFIX}"


def _block_named(stem: str) -> SeedBlock | None:
    try:
        return SeedBlock.parse(stem)
    except UserError:
        return None


def list_member_blocks(workspace: Workspace) -> dict[str, tuple[SeedBlock, ...]]:
    """The blocks present, by scenario (by offset); other files are left alone."""
    root = workspace.root / ENSEMBLE_FILES
    found: dict[str, tuple[SeedBlock, ...]] = {}
    if not root.is_dir():
        return found
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        blocks = [
            block
            for block in (_block_named(file.stem) for file in folder.glob(f"*{_SUFFIX}"))
            if block is not None
        ]
        if blocks:
            found[folder.name] = tuple(sorted(blocks))
    return found


@dataclass(frozen=True)
class MemberBlockRequest:
    scenario_id: str
    block: SeedBlock
    workers: int | None = None
    """Workers of a local cluster (default: the workspace's compute.workers, else cores)."""
    scheduler: str | None = None
    """An existing Dask cluster's address (default: compute.scheduler, $PLANWISE_DASK_SCHEDULER)."""


@dataclass(frozen=True)
class MemberBlockWritten:
    """A block computed and written: its members, its file, and the dashboard of the local
    cluster it ran on."""

    block: SeedBlock
    computed: MemberBlock
    path: Path
    dashboard_link: str | None = None


def simulate_member_block(
    workspace: Workspace,
    request: MemberBlockRequest,
    on_progress: ProgressListener | None = None,
) -> MemberBlockWritten:
    """Simulate the scenario's active levers under the block's seeds, on Dask, for the
    workspace's years, and write the members' metrics to the block's file. The store is
    only read."""
    settings = workspace.settings()
    seeds = request.block.seed_list(settings.seed)
    if seeds[-1] > MAX_SEED:
        raise UserError(
            f"Block {request.block.label} from the workspace's seed {settings.seed} passes "
            f"the largest seed ({MAX_SEED}); choose a smaller seed in planwise.yaml."
        )
    if request.workers is not None and not 1 <= request.workers <= 256:
        raise UserError(f"workers must be between 1 and 256, got {request.workers}.")
    inputs = load_inputs(workspace, settings, (request.scenario_id,), settings.years)
    workers, scheduler = cluster_for(settings, request.workers, request.scheduler)
    started = time.perf_counter()
    with _client(workers, scheduler, on_progress) as client:
        dashboard = None if scheduler is not None else str(client.dashboard_link)
        computed = compute_members(client, inputs, seeds, on_progress)
    wall_seconds = time.perf_counter() - started
    levers = inputs.levers[request.scenario_id]
    ordered = [computed[(request.scenario_id, seed)] for seed in seeds]
    block = MemberBlock(
        scenario_id=request.scenario_id,
        parameter_set_id=levers.parameter_set_id,
        default_parameter_set_id=levers.default_parameter_set_id,
        census_id=inputs.census_id,
        start_year=inputs.start_year,
        years=inputs.years,
        settings_json=settings.model_dump_json(),
        members=tuple(member for member, _ in ordered),
        seconds=tuple(seconds for _, seconds in ordered),
        wall_seconds=wall_seconds,
        workers=None if scheduler is not None else workers,
        scheduler=scheduler,
    )
    path = member_block_path(workspace, request.scenario_id, request.block)
    ensemble_store.write_member_block(path, block)
    return MemberBlockWritten(request.block, block, path, dashboard)


@dataclass(frozen=True)
class StoreBlocksRequest:
    scenarios: tuple[str, ...] | None = None
    """The scenarios, the first the reference of the differences (default: every scenario
    with blocks, `default` first, then by name)."""
    blocks: tuple[SeedBlock, ...] | None = None
    """The blocks (default: every block present); every scenario must have each of them,
    and together they must be consecutive seeds."""
    thresholds: tuple[Threshold, ...] = ()


@dataclass(frozen=True)
class BlocksStored:
    """The ensemble stored from the blocks, and which blocks (files) it was made of."""

    ensemble: EnsembleResult
    blocks: tuple[SeedBlock, ...]
    paths: tuple[Path, ...]


def _default_order(present: Mapping[str, object]) -> tuple[str, ...]:
    return tuple(sorted(present, key=lambda scenario: (scenario != DEFAULT_SCENARIO, scenario)))


def _labels(blocks: Sequence[SeedBlock]) -> str:
    return ", ".join(block.label for block in blocks)


def _chosen(
    workspace: Workspace, request: StoreBlocksRequest
) -> tuple[tuple[str, ...], tuple[SeedBlock, ...]]:
    """The scenarios and blocks to join: every scenario must have every block, and the
    blocks must follow one another without a gap or an overlap."""
    present = list_member_blocks(workspace)
    scenarios = request.scenarios or _default_order(present)
    if not scenarios:
        raise UserError(
            f"There are no blocks of ensemble members in {workspace.root / ENSEMBLE_FILES}. "
            "Compute some first (one per scenario and seed block), then store the ensemble."
        )
    if len(set(scenarios)) != len(scenarios):
        raise UserError("Name each scenario once.")
    if request.blocks is not None:
        blocks = tuple(sorted(set(request.blocks)))
    else:
        blocks = tuple(sorted({block for s in scenarios for block in present.get(s, ())}))
    if not blocks:
        raise UserError("Choose at least one seed block.")
    missing = [
        f"'{scenario}' {block.label}"
        for scenario in scenarios
        for block in blocks
        if block not in present.get(scenario, ())
    ]
    if missing:
        found = "; ".join(f"'{s}' {_labels(present.get(s, ())) or 'none'}" for s in scenarios)
        raise UserError(
            "The ensemble needs every scenario under the same seeds, and these blocks are "
            f"missing: {', '.join(missing)}. Compute them, or choose the scenarios and blocks "
            f"to use (present: {found})."
        )
    for before, after in itertools.pairwise(blocks):
        if after.offset != before.end:
            trouble = "overlap" if after.offset < before.end else "leave a gap between them"
            raise UserError(
                f"Seed blocks {before.label} and {after.label} {trouble}: an ensemble's seeds "
                "follow one another. Choose blocks that do, or compute the missing ones."
            )
    return scenarios, blocks


def _simulation(settings: Settings) -> dict[str, Any]:
    return settings.model_dump(mode="json", exclude=set(_NOT_SIMULATION))


def _differences(block: MemberBlock, reference: MemberBlock) -> list[str]:
    """What the block was computed from that differs from the reference block."""
    differences = [
        f"{name} {getattr(block, name)} instead of {getattr(reference, name)}"
        for name in ("census_id", "start_year", "years")
        if getattr(block, name) != getattr(reference, name)
    ]
    if block.scenario_id == reference.scenario_id:
        differences += [
            f"{name} {getattr(block, name)} instead of {getattr(reference, name)}"
            for name in ("parameter_set_id", "default_parameter_set_id")
            if getattr(block, name) != getattr(reference, name)
        ]
    own = _simulation(Settings.model_validate_json(block.settings_json))
    if own != _simulation(Settings.model_validate_json(reference.settings_json)):
        differences.append("other settings in planwise.yaml")
    return differences


def _read(
    workspace: Workspace, scenarios: Sequence[str], blocks: Sequence[SeedBlock]
) -> dict[tuple[str, SeedBlock], MemberBlock]:
    """Each file, checked against its name and against the others."""
    loaded: dict[tuple[str, SeedBlock], MemberBlock] = {}
    first_seed: int | None = None
    for scenario in scenarios:
        for block in blocks:
            path = member_block_path(workspace, scenario, block)
            computed = ensemble_store.read_member_block(path)
            base = computed.seeds[0] - block.offset if computed.seeds else None
            if (
                computed.scenario_id != scenario
                or base is None
                or computed.seeds != block.seed_list(base)
            ):
                held = f"{computed.seeds[0]}–{computed.seeds[-1]}" if computed.seeds else "none"
                raise UserError(
                    f"{path} holds scenario '{computed.scenario_id}' under seeds {held}, not "
                    f"the block its name says ('{scenario}', {block.seeds} consecutive seeds). "
                    "Delete it and compute the block again."
                )
            first_seed = base if first_seed is None else first_seed
            if base != first_seed:
                raise UserError(
                    f"{path} counts its seeds from {base}, other blocks from {first_seed}: "
                    "the workspace's seed changed between them. Compute the blocks again."
                )
            reference = next(
                (other for (s, _), other in loaded.items() if s == scenario),
                next(iter(loaded.values()), computed),
            )
            differences = _differences(computed, reference)
            if differences:
                raise UserError(
                    f"{path} was computed from other inputs than the blocks before it "
                    f"({'; '.join(differences)}). Compute the blocks again from the "
                    "workspace as it is now."
                )
            loaded[(scenario, block)] = computed
    return loaded


def _check_current(
    connection: duckdb.DuckDBPyConnection,
    settings: Settings,
    loaded: Mapping[tuple[str, SeedBlock], MemberBlock],
) -> None:
    """The blocks must still be the workspace's ensemble: its active census, each scenario's
    active levers and its settings, as `run_ensemble` would simulate now."""
    stale: list[str] = []
    first = next(iter(loaded.values()))
    census_id = census_store.active_census_id(connection)
    if first.census_id != census_id:
        stale.append(f"the active census is now {census_id}, not {first.census_id}")
    if _simulation(Settings.model_validate_json(first.settings_json)) != _simulation(settings):
        stale.append("planwise.yaml changed since")
    scenario_blocks = {scenario: block for (scenario, _), block in loaded.items()}
    for scenario, block in scenario_blocks.items():
        active = parameter_store.active_parameter_set_id(connection, scenario)
        if active != block.parameter_set_id:
            stale.append(
                f"scenario '{scenario}' now uses parameter set {active}, "
                f"not {block.parameter_set_id}"
            )
        default = parameter_store.default_set_for(connection, scenario)
        if default != block.default_parameter_set_id:
            stale.append(
                f"the default scenario's set that fills '{scenario}' is now {default}, "
                f"not {block.default_parameter_set_id}"
            )
    if stale:
        raise UserError(
            f"The blocks no longer match the workspace: {'; '.join(stale)}. Compute them "
            "again, then store the ensemble. Nothing was stored."
        )


def store_member_blocks(
    workspace: Workspace, request: StoreBlocksRequest | None = None
) -> BlocksStored:
    """Store one ensemble from blocks already computed (the single writer): its record, its
    members and their metrics, in one transaction; the same tables as `run_ensemble`."""
    started = time.perf_counter()
    chosen = request or StoreBlocksRequest()
    settings = workspace.settings()
    scenarios, blocks = _chosen(workspace, chosen)
    loaded = _read(workspace, scenarios, blocks)
    first = next(iter(loaded.values()))
    members: list[MemberMetrics] = []
    rows: list[MemberRow] = []
    for (scenario, _), block in loaded.items():
        for member, seconds in zip(block.members, block.seconds, strict=True):
            members.append(member)
            rows.append(MemberRow(scenario, block.parameter_set_id, member.seed, None, seconds))
    blocks_seconds = sum(block.wall_seconds for block in loaded.values())
    schedulers = sorted({block.scheduler for block in loaded.values() if block.scheduler})
    local = [block.workers for block in loaded.values() if block.workers is not None]
    with workspace.database(settings).connect() as connection, atomic(connection):
        _check_current(connection, settings, loaded)
        read = time.perf_counter()
        timings = {
            "blocks": float(len(loaded)),
            "blocks_seconds": round(blocks_seconds, 3),
            "member_seconds_median": round(sorted(row.seconds for row in rows)[len(rows) // 2], 4),
            "read_seconds": round(read - started, 3),
            "total_seconds": round(blocks_seconds + time.perf_counter() - started, 3),
        }
        record = record_ensemble(
            connection,
            census_id=first.census_id,
            parameter_sets={
                scenario: loaded[(scenario, blocks[0])].parameter_set_id for scenario in scenarios
            },
            first_seed=first.seeds[0],
            seeds=sum(block.seeds for block in blocks),
            start_year=first.start_year,
            years=first.years,
            workers=None if schedulers else max(local, default=None),
            scheduler=", ".join(schedulers) or None,
            timings=timings,
            settings=Settings.model_validate_json(first.settings_json),
            members=members,
            rows=rows,
        )
    paths = tuple(member_block_path(workspace, s, b) for s, b in loaded)
    ensemble = EnsembleResult(record, tuple(members), tuple(rows), chosen.thresholds)
    return BlocksStored(ensemble, blocks, paths)
