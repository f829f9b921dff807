"""Persistence of optimization runs and their iterations (append-only)."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import psutil
import pyarrow as pa

from planwise.errors import UserError
from planwise.optimization.report import IterationKind, IterationRecord, OptimizationStatus
from planwise.optimization.targets import Mode
from planwise.storage.database import insert_frame

__all__ = [
    "OptimizationRecord",
    "create_optimization",
    "finish_optimization",
    "insert_iterations",
    "list_optimizations",
    "load_iterations",
    "load_optimization",
    "mark_running",
    "update_progress",
]


@dataclass(frozen=True)
class OptimizationRecord:
    """A row of `optimization_runs`: what was asked, how far it got, and its report (JSON)."""

    optimization_id: int
    scenario_id: str
    status: OptimizationStatus
    mode: Mode
    targets: str
    converged: bool
    iterations: int
    simulations: int
    replays: int
    start_parameter_set_id: int
    best_parameter_set_id: int | None
    seed: int
    stop_reason: str | None
    report: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None

    @property
    def targets_mapping(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.targets)
        return loaded

    @property
    def report_mapping(self) -> dict[str, Any] | None:
        if not self.report:
            return None
        loaded: dict[str, Any] = json.loads(self.report)
        return loaded


_COLUMNS = (
    "optimization_id, scenario_id, status, mode, targets, converged, iterations, simulations, "
    "replays, start_parameter_set_id, best_parameter_set_id, seed, stop_reason, report, "
    "started_at, finished_at"
)
_WRITER = "writer_host, writer_pid, writer_started_at, heartbeat_at"
STALE_AFTER = dt.timedelta(minutes=15)
"""A running optimization written from another machine that has not stored progress for
this long is taken as interrupted (on this machine the writer's process is checked)."""


def _writer() -> tuple[str, int, float]:
    """This process as a writer: host, PID and the process's start time (a PID alone may be
    reused by another process later)."""
    return socket.gethostname(), os.getpid(), psutil.Process().create_time()


def _writer_is_gone(
    host: str | None, pid: int | None, started_at: float | None, heartbeat: dt.datetime | None
) -> bool:
    if host is None or pid is None or started_at is None:
        return True  # written before writers were recorded: no process of today writes it
    if host == socket.gethostname():
        try:
            return abs(psutil.Process(pid).create_time() - started_at) > 1.0
        except psutil.Error:
            return True
    return heartbeat is None or _now() - heartbeat > STALE_AFTER


def _record(row: tuple[Any, ...]) -> OptimizationRecord:
    values = list(row[:16])
    status = OptimizationStatus(values[2])
    if status == OptimizationStatus.RUNNING and _writer_is_gone(*row[16:20]):
        status = OptimizationStatus.INTERRUPTED
    values[2] = status
    values[3] = Mode(values[3])
    return OptimizationRecord(*values)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def create_optimization(
    connection: duckdb.DuckDBPyConnection,
    *,
    scenario_id: str,
    mode: Mode,
    targets: dict[str, Any],
    start_parameter_set_id: int,
    seed: int,
) -> int:
    (optimization_id,) = connection.execute("SELECT nextval('optimization_id_seq')").fetchone()  # type: ignore[misc]
    now = _now()
    connection.execute(
        f"INSERT INTO optimization_runs ({_COLUMNS}, {_WRITER}) VALUES "
        "(?, ?, ?, ?, ?, false, 0, 0, 0, ?, NULL, ?, NULL, NULL, ?, NULL, ?, ?, ?, ?)",
        [
            optimization_id,
            scenario_id,
            OptimizationStatus.RUNNING,
            mode,
            json.dumps(targets, default=str),
            start_parameter_set_id,
            seed,
            now,
            *_writer(),
            now,
        ],
    )
    return int(optimization_id)


def insert_iterations(
    connection: duckdb.DuckDBPyConnection, optimization_id: int, records: Sequence[IterationRecord]
) -> None:
    if not records:
        return
    now = _now()
    table = pa.table(
        {
            "optimization_id": pa.array([optimization_id] * len(records), pa.int32()),
            "iteration": pa.array([r.iteration for r in records], pa.int32()),
            "kind": pa.array([r.kind for r in records], pa.string()),
            "parameter_set_id": pa.array([r.parameter_set_id for r in records], pa.int32()),
            "run_id": pa.array([r.run_id for r in records], pa.int32()),
            "levers": pa.array(
                [json.dumps({"values": r.levers, "point": r.point}) for r in records], pa.string()
            ),
            "metrics": pa.array([_json(r.metrics) for r in records], pa.string()),
            "residuals": pa.array([_json(r.residuals) for r in records], pa.string()),
            "within_tolerance": pa.array([r.within_tolerance for r in records], pa.bool_()),
            "error": pa.array([r.error for r in records], pa.string()),
            "created_at": pa.array([now] * len(records), pa.timestamp("us")),
        }
    )
    insert_frame(connection, "optimization_iterations", table)


def _json(values: dict[str, float]) -> str:
    return json.dumps({k: (None if v != v else v) for k, v in values.items()}, sort_keys=True)


def update_progress(
    connection: duckdb.DuckDBPyConnection,
    optimization_id: int,
    simulations: int,
    replays: int,
    iterations: int,
) -> None:
    connection.execute(
        "UPDATE optimization_runs SET simulations = ?, replays = ?, iterations = ?, "
        "heartbeat_at = ? WHERE optimization_id = ?",
        [simulations, replays, iterations, _now(), optimization_id],
    )


def finish_optimization(
    connection: duckdb.DuckDBPyConnection,
    optimization_id: int,
    *,
    status: OptimizationStatus,
    converged: bool,
    best_parameter_set_id: int | None,
    stop_reason: str,
    report: dict[str, Any],
) -> None:
    connection.execute(
        "UPDATE optimization_runs SET status = ?, converged = ?, best_parameter_set_id = ?, "
        "stop_reason = ?, report = ?, finished_at = ? WHERE optimization_id = ?",
        [
            status,
            converged,
            best_parameter_set_id,
            stop_reason,
            json.dumps(report, default=str),
            _now(),
            optimization_id,
        ],
    )


def mark_running(connection: duckdb.DuckDBPyConnection, optimization_id: int) -> None:
    """A resumed optimization runs again, written by this process."""
    connection.execute(
        "UPDATE optimization_runs SET status = ?, writer_host = ?, writer_pid = ?, "
        "writer_started_at = ?, heartbeat_at = ? WHERE optimization_id = ?",
        [OptimizationStatus.RUNNING, *_writer(), _now(), optimization_id],
    )


def load_optimization(
    connection: duckdb.DuckDBPyConnection, optimization_id: int
) -> OptimizationRecord:
    row = connection.execute(
        f"SELECT {_COLUMNS}, {_WRITER} FROM optimization_runs WHERE optimization_id = ?",
        [optimization_id],
    ).fetchone()
    if row is None:
        raise UserError(
            f"There is no optimization {optimization_id}. 'planwise optimize list' shows them."
        )
    return _record(row)


def list_optimizations(
    connection: duckdb.DuckDBPyConnection, limit: int = 50
) -> list[OptimizationRecord]:
    """The stored optimizations, newest first."""
    rows = connection.execute(
        f"SELECT {_COLUMNS}, {_WRITER} FROM optimization_runs "
        "ORDER BY optimization_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    return [_record(row) for row in rows]


def load_iterations(
    connection: duckdb.DuckDBPyConnection, optimization_id: int
) -> list[IterationRecord]:
    rows = connection.execute(
        "SELECT iteration, kind, parameter_set_id, run_id, levers, metrics, residuals, "
        "within_tolerance, error FROM optimization_iterations WHERE optimization_id = ? "
        "ORDER BY iteration",
        [optimization_id],
    ).fetchall()
    records = []
    for iteration, kind, set_id, run_id, levers, metrics, residuals, within, error in rows:
        lever_data = json.loads(levers) if levers else {}
        records.append(
            IterationRecord(
                iteration=iteration,
                kind=IterationKind(kind),
                parameter_set_id=set_id,
                run_id=run_id,
                levers=lever_data.get("values", {}),
                metrics=_floats(metrics),
                residuals=_floats(residuals),
                within_tolerance=bool(within),
                error=error,
                point=lever_data.get("point", []),
            )
        )
    return records


def _floats(text: str | None) -> dict[str, float]:
    values = json.loads(text) if text else {}
    return {key: float("nan") if value is None else float(value) for key, value in values.items()}
