"""Short-lived DuckDB connections to the workspace database.

DuckDB lets one process hold a file for writing and blocks every other process, readers
included. So a connection is opened late and closed early, never held across a user
interaction, and a lock conflict becomes a `DatabaseLockedError` with advice, not a trace.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from planwise.config import DatabaseSettings
from planwise.errors import DatabaseLockedError, UserError
from planwise.storage.schema import SCHEMA_STATEMENTS, SCHEMA_VERSION

__all__ = [
    "WRITE_ROW_GROUP_SIZE",
    "Database",
    "atomic",
    "insert_frame",
    "lock_conflict_detail",
]

_LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file")

# Rows per row group for connections that write. DuckDB's default (122,880) leaves a run's
# last, partly filled row group of each table to be compressed at commit or checkpoint and
# merged with the next run's rows; 32,768 measured fastest for simulate-and-store
# (benchmarks/run.py --case store) at 10,000 and 100,000 employees.
WRITE_ROW_GROUP_SIZE = 32_768


def _literal(text: str) -> str:
    """A SQL string literal (ATTACH takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _check_schema_version(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a database written by an incompatible version, with what to do about it."""
    (tables,) = connection.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = 'planwise' AND table_name = 'schema_info'"
    ).fetchone() or (0,)
    if not tables:
        return  # a new file: `initialize` creates the schema
    (version,) = connection.execute("SELECT max(schema_version) FROM schema_info").fetchone() or (
        None,
    )
    if version is not None and version != SCHEMA_VERSION:
        raise UserError(
            f"The workspace database {path} has storage schema version {version}; this "
            f"version of PlanWise reads version {SCHEMA_VERSION}. Create a new workspace "
            "with 'planwise init --workspace NEW_FOLDER' and import the census and levers "
            "there (planwise levers export / census import). The old file was not changed."
        )


class Database:
    """The workspace's DuckDB file. Each `connect()` opens and closes one connection."""

    def __init__(self, path: Path, settings: DatabaseSettings | None = None) -> None:
        self.path = path
        self.settings = settings or DatabaseSettings()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose default catalog is the workspace file (attached as `planwise`).

        The file is attached rather than opened directly so that writers can use smaller
        row groups (`ROW_GROUP_SIZE`): a run's rows then fill whole row groups that DuckDB
        compresses and writes while inserting, and commit and close have little left to do.
        The row-group size is a property of this connection, not of the file.
        """
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.settings.memory_limit,
            "threads": self.settings.threads,
            "temp_directory": f"{self.path}.tmp",
        }
        options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE}"
        connection = duckdb.connect(config=config)
        try:
            connection.execute(f"ATTACH {_literal(str(self.path))} AS planwise ({options})")
            connection.execute("USE planwise")
            _check_schema_version(connection, self.path)
        except duckdb.IOException as error:
            connection.close()
            detail = lock_conflict_detail(str(error))
            if detail is not None:
                raise DatabaseLockedError(str(self.path), detail) from None
            raise
        except BaseException:
            connection.close()
            raise
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection, one transaction: committed whole or rolled back whole."""
        with self.connect() as connection, atomic(connection):
            yield connection

    def initialize(self) -> None:
        """Create every contract table that does not exist yet (idempotent)."""
        with self.transaction() as connection:
            for statement in SCHEMA_STATEMENTS:
                connection.execute(statement)
            (count,) = connection.execute("SELECT count(*) FROM schema_info").fetchone() or (0,)
            if count == 0:
                connection.execute(
                    "INSERT INTO schema_info VALUES (?, current_timestamp)", [SCHEMA_VERSION]
                )


@contextmanager
def atomic(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on an open connection (opening one costs ~50 ms, so long operations
    such as an optimization keep one connection and commit each step atomically)."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def insert_frame(connection: duckdb.DuckDBPyConnection, table_name: str, frame: object) -> None:
    """Bulk-insert an Arrow table or DataFrame by column name (never row by row).

    `table_name` is one of the contract tables, never user input.
    """
    connection.register("_bulk_rows", frame)
    try:
        connection.execute(f"INSERT INTO {table_name} BY NAME SELECT * FROM _bulk_rows")
    finally:
        # After a failed insert the transaction is aborted and unregistering fails too;
        # that second error would hide the first, which is the one to report.
        with contextlib.suppress(duckdb.Error):
            connection.unregister("_bulk_rows")


def lock_conflict_detail(message: str) -> str | None:
    """The holder named in a DuckDB lock-conflict message, or None for any other error.

    DuckDB names it, e.g. "Conflicting lock is held in /usr/bin/python3 (PID 123)"; dbt
    passes the same text through, so the analytics build uses this too.
    """
    if not any(marker in message.lower() for marker in _LOCK_MARKERS):
        return None
    for line in message.splitlines():
        if "PID" in line or "lock" in line.lower():
            return line.split(":", 1)[-1].strip()[:200]
    return message[:200]
