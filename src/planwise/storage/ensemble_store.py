"""Ensembles: the record of what was simulated and each member's metrics (append-only);
and blocks of members computed but not yet stored, as Parquet files in the workspace.

A member block is what one orchestrator task computes (one scenario under consecutive
seeds): it writes a file of its own and never the store, so blocks run side by side
without contending for DuckDB's single writer; one writer then stores them as an ensemble.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from planwise.config import Settings
from planwise.ensemble import MemberMetrics
from planwise.errors import UserError
from planwise.storage.database import insert_frame

__all__ = [
    "EnsembleRecord",
    "MemberBlock",
    "MemberRow",
    "insert_ensemble",
    "insert_members",
    "list_ensembles",
    "load_ensemble",
    "load_members",
    "read_member_block",
    "write_member_block",
]


@dataclass(frozen=True)
class EnsembleRecord:
    """What an ensemble simulated: census, scenarios (with their parameter sets), seeds,
    years, where it ran and how long it took."""

    ensemble_id: int
    census_id: str
    scenarios: tuple[str, ...]
    parameter_sets: Mapping[str, int]
    first_seed: int
    seeds: int
    start_year: int
    years: int
    workers: int | None
    scheduler: str | None
    timings: Mapping[str, float]
    created_at: dt.datetime
    created_by: str
    settings_json: str

    @property
    def seed_list(self) -> list[int]:
        return list(range(self.first_seed, self.first_seed + self.seeds))


@dataclass(frozen=True)
class MemberRow:
    """A member of an ensemble as stored: its run when its events were kept."""

    scenario_id: str
    parameter_set_id: int
    seed: int
    run_id: int | None
    seconds: float


_COLUMNS = (
    "ensemble_id, census_id, scenarios, parameter_sets, first_seed, seeds, start_year, years, "
    "workers, scheduler, timings, created_at, created_by, settings_json"
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def insert_ensemble(
    connection: duckdb.DuckDBPyConnection,
    *,
    census_id: str,
    parameter_sets: Mapping[str, int],
    first_seed: int,
    seeds: int,
    start_year: int,
    years: int,
    workers: int | None,
    scheduler: str | None,
    timings: Mapping[str, float],
    created_by: str,
    settings: Settings,
) -> int:
    """Store the ensemble's record; returns its id."""
    (ensemble_id,) = connection.execute("SELECT nextval('ensemble_id_seq')").fetchone()  # type: ignore[misc]
    connection.execute(
        f"INSERT INTO ensembles ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ensemble_id,
            census_id,
            json.dumps(list(parameter_sets)),
            json.dumps(dict(parameter_sets)),
            first_seed,
            seeds,
            start_year,
            years,
            workers,
            scheduler,
            json.dumps(dict(timings)),
            _now(),
            created_by,
            settings.model_dump_json(),
        ],
    )
    return int(ensemble_id)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


def insert_members(
    connection: duckdb.DuckDBPyConnection,
    ensemble_id: int,
    members: Sequence[MemberMetrics],
    rows: Sequence[MemberRow],
) -> None:
    """Each member's row and its per-year and horizon metrics, in bulk."""
    member_table = pa.table(
        {
            "ensemble_id": pa.array([ensemble_id] * len(rows), pa.int32()),
            "scenario_id": pa.array([row.scenario_id for row in rows], pa.string()),
            "parameter_set_id": pa.array([row.parameter_set_id for row in rows], pa.int32()),
            "seed": pa.array([row.seed for row in rows], pa.int64()),
            "run_id": pa.array([row.run_id for row in rows], pa.int32()),
            "seconds": pa.array([row.seconds for row in rows], pa.float64()),
        }
    )
    insert_frame(connection, "ensemble_members", member_table)
    values: list[tuple[str, int, int | None, str, float | None]] = []
    for member in members:
        for year, metrics in sorted(member.per_year.items()):
            values.extend(
                (member.scenario_id, member.seed, year, name, _finite(value))
                for name, value in metrics.items()
            )
        values.extend(
            (member.scenario_id, member.seed, None, name, _finite(value))
            for name, value in member.horizon.items()
        )
    scenarios, seeds, years, names, metric_values = zip(*values, strict=True)
    metric_table = pa.table(
        {
            "ensemble_id": pa.array([ensemble_id] * len(values), pa.int32()),
            "scenario_id": pa.array(scenarios, pa.string()),
            "seed": pa.array(seeds, pa.int64()),
            "simulation_year": pa.array(years, pa.int32()),
            "metric_name": pa.array(names, pa.string()),
            "metric_value": pa.array(metric_values, pa.float64()),
        }
    )
    insert_frame(connection, "ensemble_member_metrics", metric_table)


def _record(row: tuple[Any, ...]) -> EnsembleRecord:
    values = list(row)
    values[2] = tuple(json.loads(values[2]))
    values[3] = {str(k): int(v) for k, v in json.loads(values[3]).items()}
    values[10] = {str(k): float(v) for k, v in json.loads(values[10] or "{}").items()}
    return EnsembleRecord(*values)


def load_ensemble(connection: duckdb.DuckDBPyConnection, ensemble_id: int) -> EnsembleRecord:
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM ensembles WHERE ensemble_id = ?", [ensemble_id]
    ).fetchone()
    if row is None:
        raise UserError(f"There is no ensemble {ensemble_id}. 'planwise ensemble list' shows them.")
    return _record(row)


def list_ensembles(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[EnsembleRecord]:
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM ensembles ORDER BY ensemble_id DESC LIMIT ?", [limit]
    ).fetchall()
    return [_record(row) for row in rows]


def load_members(
    connection: duckdb.DuckDBPyConnection, ensemble_id: int
) -> tuple[list[MemberRow], list[MemberMetrics]]:
    """An ensemble's members (by scenario and seed) and their metrics."""
    rows = [
        MemberRow(str(scenario), int(set_id), int(seed), run_id, float(seconds or 0.0))
        for scenario, set_id, seed, run_id, seconds in connection.execute(
            "SELECT scenario_id, parameter_set_id, seed, run_id, seconds FROM ensemble_members "
            "WHERE ensemble_id = ? ORDER BY scenario_id, seed",
            [ensemble_id],
        ).fetchall()
    ]
    per_member: dict[tuple[str, int], tuple[dict[int, dict[str, float]], dict[str, float]]] = {
        (row.scenario_id, row.seed): ({}, {}) for row in rows
    }
    for scenario, seed, year, name, value in connection.execute(
        "SELECT scenario_id, seed, simulation_year, metric_name, metric_value "
        "FROM ensemble_member_metrics WHERE ensemble_id = ?",
        [ensemble_id],
    ).fetchall():
        per_year, horizon = per_member[(str(scenario), int(seed))]
        number = math.nan if value is None else float(value)
        if year is None:
            horizon[str(name)] = number
        else:
            per_year.setdefault(int(year), {})[str(name)] = number
    members = [
        MemberMetrics(scenario, seed, per_year, horizon)
        for (scenario, seed), (per_year, horizon) in per_member.items()
    ]
    return rows, members


@dataclass(frozen=True)
class MemberBlock:
    """Members of one scenario under consecutive seeds, computed but not stored, with
    what they were computed from (the store step checks the blocks it joins agree)."""

    scenario_id: str
    parameter_set_id: int
    default_parameter_set_id: int | None
    """The default scenario's set that filled the scenario's gaps (None for `default`)."""
    census_id: str
    start_year: int
    years: int
    settings_json: str
    members: tuple[MemberMetrics, ...]
    """By seed: consecutive seeds."""
    seconds: tuple[float, ...]
    """Each member's simulation seconds, in the order of `members`."""
    wall_seconds: float
    """The block's computation, from asking for a cluster to the last member back."""
    workers: int | None
    """Workers of the local cluster it ran on (None on an existing cluster)."""
    scheduler: str | None

    @property
    def seeds(self) -> list[int]:
        return [member.seed for member in self.members]


# The block's record, as JSON in the Parquet schema's metadata; its metrics are the rows.
_HEADER = b"planwise.member_block"
_FORMAT = 1


def _block_table(block: MemberBlock) -> pa.Table:
    """One row per member, year (null: a horizon metric) and metric, NaN kept as NaN."""
    seeds: list[int] = []
    member_seconds: list[float] = []
    years: list[int | None] = []
    names: list[str] = []
    values: list[float] = []
    for member, seconds in zip(block.members, block.seconds, strict=True):
        periods: list[tuple[int | None, Mapping[str, float]]] = [
            *sorted(member.per_year.items()),
            (None, member.horizon),
        ]
        for year, metrics in periods:
            for name, value in metrics.items():
                seeds.append(member.seed)
                member_seconds.append(seconds)
                years.append(year)
                names.append(name)
                values.append(value)
    header = {
        "format": _FORMAT,
        "scenario_id": block.scenario_id,
        "parameter_set_id": block.parameter_set_id,
        "default_parameter_set_id": block.default_parameter_set_id,
        "census_id": block.census_id,
        "start_year": block.start_year,
        "years": block.years,
        "settings_json": block.settings_json,
        "seeds": block.seeds,
        "wall_seconds": block.wall_seconds,
        "workers": block.workers,
        "scheduler": block.scheduler,
    }
    table = pa.table(
        {
            "seed": pa.array(seeds, pa.int64()),
            "seconds": pa.array(member_seconds, pa.float64()),
            "simulation_year": pa.array(years, pa.int32()),
            "metric_name": pa.array(names, pa.string()),
            "metric_value": pa.array(values, pa.float64()),
        }
    )
    return table.replace_schema_metadata({_HEADER: json.dumps(header).encode("utf-8")})


def write_member_block(path: Path, block: MemberBlock) -> None:
    """Write the block to `path` atomically: a temporary file beside it, then a rename, so
    a reader sees the previous file or the whole new one, never a part."""
    import pyarrow.parquet as pq  # only when blocks are written

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(_block_table(block), temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _unreadable(path: Path, reason: str) -> UserError:
    return UserError(
        f"{path} is not a block of ensemble members PlanWise can read ({reason}). Delete it "
        "and compute the block again."
    )


def read_member_block(path: Path) -> MemberBlock:
    """A block written by `write_member_block`; anything else is a clear error."""
    import pyarrow.parquet as pq  # only when blocks are read

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise _unreadable(path, str(error)) from None
    try:
        header = json.loads((table.schema.metadata or {})[_HEADER])
    except (KeyError, ValueError):
        raise _unreadable(path, "it has no PlanWise block header") from None
    if header.get("format") != _FORMAT:
        raise _unreadable(path, f"format {header.get('format')}, this version reads {_FORMAT}")
    per_member: dict[int, tuple[dict[int, dict[str, float]], dict[str, float]]] = {
        int(seed): ({}, {}) for seed in header["seeds"]
    }
    seconds: dict[int, float] = {}
    columns = table.select(["seed", "seconds", "simulation_year", "metric_name", "metric_value"])
    for seed, member_seconds, year, name, value in zip(
        *(column.to_pylist() for column in columns.columns), strict=True
    ):
        if seed not in per_member:
            raise _unreadable(path, f"seed {seed} is not one of its header's seeds")
        per_year, horizon = per_member[seed]
        seconds[seed] = float(member_seconds)
        if year is None:
            horizon[str(name)] = float(value)
        else:
            per_year.setdefault(int(year), {})[str(name)] = float(value)
    scenario_id = str(header["scenario_id"])
    members = tuple(
        MemberMetrics(scenario_id, seed, per_year, horizon)
        for seed, (per_year, horizon) in per_member.items()
    )
    return MemberBlock(
        scenario_id=scenario_id,
        parameter_set_id=int(header["parameter_set_id"]),
        default_parameter_set_id=header["default_parameter_set_id"],
        census_id=str(header["census_id"]),
        start_year=int(header["start_year"]),
        years=int(header["years"]),
        settings_json=str(header["settings_json"]),
        members=members,
        seconds=tuple(seconds.get(member.seed, 0.0) for member in members),
        wall_seconds=float(header["wall_seconds"]),
        workers=header["workers"],
        scheduler=header["scheduler"],
    )
