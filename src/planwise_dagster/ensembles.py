"""Ensembles in Dagster: members by scenario × seed block, then one ensemble from them.

`ensemble_members` is partitioned by scenario × seed block:

- scenario: dynamic partitions (`ensemble_scenarios`), one per scenario of the workspace.
  The store sensor adds a scenario's partition when it first sees the scenario (the UI can
  add one by hand too); nothing reads the store when the definitions load.
- seed block: static blocks of consecutive seeds counted from the workspace's seed S:
  `000-015` is seeds S … S+15, `016-031` is S+16 … S+31, and so on. There are
  $PLANWISE_ENSEMBLE_SEED_BLOCKS blocks (default 16) of $PLANWISE_ENSEMBLE_BLOCK_SEEDS seeds
  (default 16), read when the definitions load: 256 seeds by default. A block's name says
  its seeds, so a new layout never changes what an existing file holds.

A partition simulates its scenario's active levers under its block's seeds on Dask and
writes the members' metrics to `<workspace>/ensembles/<scenario>/<block>.parquet`
(atomically). It only reads the store, so partitions never wait on DuckDB's single writer.
`ensemble_bands` reads the files, stores one ensemble — the tables `planwise ensemble`
fills — and shows its bands. A backfill in the UI of both assets runs an ensemble:
Dagster materializes the chosen partitions, then the bands once.

Where Dask runs: each partition's own client, through the application layer — the
workspace's existing cluster (`compute.scheduler` in planwise.yaml, or
$PLANWISE_DASK_SCHEDULER), else a local cluster started for the run on 127.0.0.1. This is
the path of `planwise ensemble`: the workforce is scattered to each worker once, the
block's members fan out over the workers, a member whose worker is lost runs again. The
dagster-dask executor would distribute Dagster steps instead; a partition is one step, so
its members would run one after another on one worker, and every worker would need the
Dagster code and a persistent instance to report to. Runs keep the in-process executor.
For a backfill of many blocks, set compute.scheduler to a long-lived cluster so that each
run does not start a local one.
"""

# No `from __future__ import annotations`: Dagster reads the config and resource annotations.

import os
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field

import dagster as dg
from planwise import application
from planwise.application import (
    BlocksStored,
    ClusterStarted,
    MemberBlockRequest,
    MemberBlockWritten,
    ProgressEvent,
    ProgressListener,
    SeedBlock,
    StoreBlocksRequest,
)
from planwise.ensemble import HORIZON, Band, MemberMetrics, bands, paired_differences
from planwise.errors import UserError
from planwise.metrics import format_difference, format_metric, metric_label
from planwise_dagster.metadata import markdown_table, numeric, year_span
from planwise_dagster.resources import PlanwiseWorkspace, user_errors_as_failures
from planwise_dagster.simulation import census, comp_levers

__all__ = [
    "BLOCKS_ENV",
    "BLOCK_SEEDS_ENV",
    "ENSEMBLE_PARTITIONS",
    "SCENARIO_PARTITIONS",
    "EnsembleBandsConfig",
    "block_layout",
    "ensemble_bands",
    "ensemble_members",
    "ensemble_partitions",
]

ENSEMBLE_GROUP = "ensemble"
SCENARIO_PARTITIONS = "ensemble_scenarios"
"""The dynamic partitions of the scenario dimension (the store sensor adds them)."""
SCENARIO_DIMENSION = "scenario"
BLOCK_DIMENSION = "seed_block"
BLOCKS_ENV = "PLANWISE_ENSEMBLE_SEED_BLOCKS"
BLOCK_SEEDS_ENV = "PLANWISE_ENSEMBLE_BLOCK_SEEDS"
DEFAULT_BLOCKS = 16
DEFAULT_BLOCK_SEEDS = 16

# The figures the bands show year by year, and over the horizon; the store has them all.
_BY_YEAR = ("total_compensation_cost", "average_salary", "median_merit_increase", "headcount")
_OVER_HORIZON = ("compensation_growth_cagr", "cumulative_compensation_cost")
_COST = "total_compensation_cost"


def _layout_number(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"${name} must be a whole number of at least 1, got '{text}'.")
    return int(text)


def block_layout() -> tuple[SeedBlock, ...]:
    """The seed blocks: $PLANWISE_ENSEMBLE_SEED_BLOCKS blocks of $PLANWISE_ENSEMBLE_BLOCK_SEEDS
    seeds (16 of 16 when unset)."""
    blocks = _layout_number(BLOCKS_ENV, DEFAULT_BLOCKS)
    seeds = _layout_number(BLOCK_SEEDS_ENV, DEFAULT_BLOCK_SEEDS)
    try:
        return application.seed_blocks(blocks, seeds)
    except UserError as error:
        raise UserError(f"${BLOCKS_ENV} and ${BLOCK_SEEDS_ENV}: {error}") from None


scenario_partitions = dg.DynamicPartitionsDefinition(name=SCENARIO_PARTITIONS)


def ensemble_partitions(blocks: Sequence[SeedBlock]) -> dg.MultiPartitionsDefinition:
    """Scenario (dynamic) × seed block (static, these blocks)."""
    return dg.MultiPartitionsDefinition(
        {
            SCENARIO_DIMENSION: scenario_partitions,
            BLOCK_DIMENSION: dg.StaticPartitionsDefinition([block.label for block in blocks]),
        }
    )


ENSEMBLE_PARTITIONS = ensemble_partitions(block_layout())


class EnsembleBandsConfig(dg.Config):
    """Which blocks make the ensemble (default: every block present, which every scenario
    must have)."""

    scenarios: list[str] | None = Field(
        None,
        description=(
            "Scenarios, the first the reference of the differences (default: every scenario "
            "with blocks, `default` first)."
        ),
    )
    seed_blocks: list[str] | None = Field(
        None,
        description="Seed blocks, e.g. ['000-015', '016-031'] (default: every block present).",
    )

    def request(self) -> StoreBlocksRequest:
        return StoreBlocksRequest(
            scenarios=tuple(self.scenarios) if self.scenarios else None,
            blocks=(
                tuple(SeedBlock.parse(label) for label in self.seed_blocks)
                if self.seed_blocks
                else None
            ),
        )


def _seeds_text(seeds: Sequence[int]) -> str:
    return f"{year_span(seeds[0], seeds[-1])} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"


def _final_year(members: Sequence[MemberMetrics]) -> int:
    return max(year for member in members for year in member.per_year)


def _cost_band(members: Sequence[MemberMetrics]) -> tuple[int, Band]:
    year = _final_year(members)
    return year, bands(members)[_COST][year]


def _cost_numbers(band: Band) -> dict[str, Any]:
    """The final-year cost's P10, P50 and P90 as numbers, for the UI's metadata plots."""
    return {
        f"final_{_COST}_p10": numeric(band.p10),
        f"final_{_COST}_p50": numeric(band.p50),
        f"final_{_COST}_p90": numeric(band.p90),
    }


def _ran_on(workers: int | None, scheduler: str | None) -> str:
    if scheduler:
        return f"the Dask cluster at {scheduler}"
    return f"a local Dask cluster of {workers} worker(s)"


def block_metadata(written: MemberBlockWritten) -> dict[str, Any]:
    """A block's members: which, where they ran, and its final-year cost in plain words."""
    computed = written.computed
    year, band = _cost_band(computed.members)
    cost = (
        f"In {year}, {metric_label(_COST).lower()} is {format_metric(_COST, band.p50)} at the "
        f"median (P50) of the block's {band.members} seeds; 10 % of them give less than "
        f"{format_metric(_COST, band.p10)} (P10) and 10 % more than "
        f"{format_metric(_COST, band.p90)} (P90)."
    )
    return {
        "scenario_id": computed.scenario_id,
        "seed_block": written.block.label,
        "seeds": _seeds_text(computed.seeds),
        "members": dg.MetadataValue.int(len(computed.members)),
        "seconds": dg.MetadataValue.float(round(computed.wall_seconds, 3)),
        "parameter_set_id": dg.MetadataValue.int(computed.parameter_set_id),
        "census_id": computed.census_id,
        "years": year_span(computed.start_year, computed.start_year + computed.years - 1),
        "ran_on": _ran_on(computed.workers, computed.scheduler),
        "path": dg.MetadataValue.path(str(written.path)),
        f"final_year_{_COST}": cost,
        **_cost_numbers(band),
    }


def _cell(name: str, band: Band, difference: bool = False) -> str:
    """P50 with the P10–P90 band; a figure with no spread across the seeds, alone."""
    text = format_difference if difference else format_metric
    if band.members == 0:
        return "–"
    if band.deterministic:
        return f"{text(name, band.p50)} (no spread)"
    return f"{text(name, band.p50)} ({text(name, band.p10)} to {text(name, band.p90)})"


def _bands_markdown(
    table: Mapping[str, Mapping[int | str, Band]], years: Sequence[int], difference: bool = False
) -> str:
    by_year = [
        [metric_label(name), *(_cell(name, table[name][year], difference) for year in years)]
        for name in _BY_YEAR
    ]
    horizon = [
        [metric_label(name), _cell(name, table[name][HORIZON], difference)]
        for name in _OVER_HORIZON
    ]
    return (
        markdown_table(["Metric", *(str(year) for year in years)], by_year)
        + "\n\n"
        + markdown_table(["Over the horizon", year_span(years[0], years[-1])], horizon)
    )


def ensemble_metadata(stored: BlocksStored) -> dict[str, Any]:
    """The stored ensemble: each scenario's bands, the differences between scenarios taken
    seed by seed, and the final-year cost of the reference scenario as numbers."""
    result = stored.ensemble
    record = result.record
    years = list(range(record.start_year, record.start_year + record.years))
    reference = result.reference
    legend = (
        f"The median (P50) of each figure over the {record.seeds} seeds, with the P10 to P90 "
        "band in brackets; a figure that is the same under every seed shows no spread."
    )
    sections = [
        f"**{scenario}** (parameter set {record.parameter_sets[scenario]})\n\n"
        + _bands_markdown(result.bands(scenario), years)
        for scenario in record.scenarios
    ]
    metadata: dict[str, Any] = {
        "ensemble_id": dg.MetadataValue.int(record.ensemble_id),
        "members": dg.MetadataValue.int(len(result.members)),
        "scenarios": ", ".join(record.scenarios),
        "seeds": _seeds_text(record.seed_list),
        "seed_blocks": ", ".join(block.label for block in stored.blocks),
        "census_id": record.census_id,
        "years": year_span(years[0], years[-1]),
        "bands": dg.MetadataValue.md(legend + "\n\n" + "\n\n".join(sections)),
        **_cost_numbers(result.bands()[_COST][years[-1]]),
    }
    others = record.scenarios[1:]
    if others:
        differences = [
            f"**{scenario} − {reference}**, seed by seed\n\n"
            + _bands_markdown(paired_differences(result.members, reference, scenario), years, True)
            for scenario in others
        ]
        metadata["differences"] = dg.MetadataValue.md(
            "Each scenario minus the first under the same seed (common random numbers): the "
            "band of the difference is much tighter than either scenario's own.\n\n"
            + "\n\n".join(differences)
        )
    return metadata


def _partition(context: dg.AssetExecutionContext) -> tuple[str, SeedBlock]:
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise dg.Failure(f"ensemble_members needs a scenario × seed block partition, got {key}.")
    dimensions = key.keys_by_dimension
    return dimensions[SCENARIO_DIMENSION], SeedBlock.parse(dimensions[BLOCK_DIMENSION])


def _log_cluster(context: dg.AssetExecutionContext) -> ProgressListener:
    """The cluster in the run's log, with the dashboard of a local one."""

    def on_progress(event: ProgressEvent) -> None:
        if isinstance(event, ClusterStarted):
            where = _ran_on(event.workers, event.scheduler)
            dashboard = f"; Dask dashboard {event.dashboard_link}" if event.dashboard_link else ""
            context.log.info(f"Running on {where}{dashboard}")

    return on_progress


@dg.asset(
    group_name=ENSEMBLE_GROUP,
    partitions_def=ENSEMBLE_PARTITIONS,
    deps=[census, comp_levers],
    kinds={"python", "dask", "parquet"},
)
def ensemble_members(
    context: dg.AssetExecutionContext, planwise: PlanwiseWorkspace
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """One scenario's active levers under one block of seeds, simulated on Dask: the
    members' metrics in <workspace>/ensembles/<scenario>/<block>.parquet (the store is
    only read)."""
    with user_errors_as_failures():
        scenario_id, block = _partition(context)
        written = application.simulate_member_block(
            planwise.workspace(), MemberBlockRequest(scenario_id, block), _log_cluster(context)
        )
    context.log.info(
        f"Wrote the members of '{scenario_id}' under seeds "
        f"{_seeds_text(written.computed.seeds)} to {written.path} "
        f"in {written.computed.wall_seconds:.2f} s"
    )
    return dg.MaterializeResult(metadata=block_metadata(written))


@dg.asset(group_name=ENSEMBLE_GROUP, deps=[ensemble_members], kinds={"python", "duckdb"})
def ensemble_bands(
    context: dg.AssetExecutionContext, config: EnsembleBandsConfig, planwise: PlanwiseWorkspace
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """One ensemble stored from the blocks of `ensemble_members` (this run is the single
    DuckDB writer), with the spread of every figure per scenario and year, and the
    differences between scenarios taken seed by seed."""
    with user_errors_as_failures():
        stored = application.store_member_blocks(planwise.workspace(), config.request())
    record = stored.ensemble.record
    context.log.info(
        f"Stored ensemble {record.ensemble_id}: {len(stored.ensemble.members)} members of "
        f"{', '.join(record.scenarios)} from {len(stored.paths)} block file(s)"
    )
    return dg.MaterializeResult(metadata=ensemble_metadata(stored))
