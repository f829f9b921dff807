"""Short-lived DuckDB connections to the workspace database.

DuckDB lets one process hold a file for writing and blocks every other process, readers
included (and a process reading the file blocks writers). So a connection is opened late
and closed early, never held across a user interaction, and a lock conflict becomes a
`DatabaseLockedError` with advice, not a trace. So does every other way the file can be
out of reach: missing, not a DuckDB file, read-only, in a read-only folder, a full disk.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from planwise.config import DatabaseSettings
from planwise.errors import (
    DatabaseLockedError,
    UserError,
    lock_conflict_detail,
    lock_holder_reads,
)
from planwise.storage.schema import (
    BACKFILL_STATEMENTS,
    MIGRATABLE_VERSIONS,
    SCHEMA_STATEMENTS,
    SCHEMA_VERSION,
)

__all__ = [
    "WRITE_ROW_GROUP_SIZE",
    "Database",
    "atomic",
    "insert_frame",
]

# Rows per row group for connections that write. DuckDB's default (122,880) leaves a run's
# last, partly filled row group of each table to be compressed at commit or checkpoint and
# merged with the next run's rows; 32,768 measured fastest for simulate-and-store
# (benchmarks/run.py --case store) at 10,000 and 100,000 employees.
WRITE_ROW_GROUP_SIZE = 32_768


def _literal(text: str) -> str:
    """A SQL string literal (ATTACH takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _schema_version(connection: duckdb.DuckDBPyConnection, alias: str) -> int | None:
    """The attached file's storage schema version (None for a new, empty file)."""
    ((tables,),) = connection.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = ? AND table_name = 'schema_info'",
        [alias],
    ).fetchall()
    if not tables:
        return None
    ((version,),) = connection.execute(
        f"SELECT max(schema_version) FROM {alias}.schema_info"
    ).fetchall()
    return None if version is None else int(version)


_WRITE_FAILURES = (
    "permission denied",
    "read-only file system",
    "no space left on device",
    "disk quota exceeded",
)


def _write_failure(message: str) -> str | None:
    """The operating system's reason when DuckDB could not write a file, else None."""
    lowered = message.lower()
    return next((reason for reason in _WRITE_FAILURES if reason in lowered), None)


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _writable(path: Path) -> bool:
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def _require_writable(path: Path, upgrading_from: int | None = None) -> None:
    """Refuse, before anything is written or computed, to open for writing a database this
    user cannot write: DuckDB would fail only at the first commit (the write-ahead log
    `planwise.duckdb.wal` is created beside the file). `upgrading_from`: the write is the
    one-time upgrade of an older store, which even a command that only reads needs."""
    folder = path.parent
    why = (
        "this command cannot store anything"
        if upgrading_from is None
        else f"its store, written by an earlier PlanWise (storage version {upgrading_from}), "
        f"cannot get the one-time upgrade to version {SCHEMA_VERSION} that every command "
        "needs first"
    )
    advice = (
        "or copy the workspace to a folder you can write and use --workspace there, then "
        "run the command again. Nothing was changed."
    )
    if folder.is_dir() and not _writable(folder):
        raise UserError(
            f"The workspace folder {folder} is read-only for this user, so {why}: DuckDB "
            f"writes each change to {_wal_path(path).name} beside {path.name}. Make the "
            f"folder writable (e.g. chmod u+w {folder}) {advice}"
        )
    for file in (path, _wal_path(path)):
        if file.exists() and not _writable(file):
            raise UserError(
                f"The workspace database file {file} is read-only for this user, so {why}. "
                f"Make it writable (e.g. chmod u+w {file}) {advice}"
            )


def _missing(path: Path) -> UserError:
    return UserError(
        f"The workspace {path.parent} has no database ({path.name}). Create it with "
        f"'planwise init --workspace {path.parent}' (planwise.yaml is kept as it is)."
    )


def _not_a_store(path: Path, reason: str) -> UserError:
    return UserError(
        f"{path} is not a PlanWise store: {reason}. It may have been replaced by another "
        "file. Restore it from a backup, or create a new workspace with 'planwise init "
        "--workspace NEW_FOLDER'. The file was not changed."
    )


def _refuse_version(version: int, path: Path) -> UserError:
    return UserError(
        f"The workspace database {path} has storage schema version {version}; this "
        f"version of PlanWise reads version {SCHEMA_VERSION}. Create a new workspace "
        "with 'planwise init --workspace NEW_FOLDER' and import the census and levers "
        "there (planwise levers export / census import). The old file was not changed."
    )


def _upgrade(base: duckdb.DuckDBPyConnection, alias: str, version: int) -> None:
    """Bring an attached file of an additive older version up to `SCHEMA_VERSION`, in one
    transaction: the schema statements (all idempotent), the backfills, the new version."""
    cursor = base.cursor()
    try:
        cursor.execute(f"USE {alias}")
        with atomic(cursor):
            for statement in (*SCHEMA_STATEMENTS, *BACKFILL_STATEMENTS):
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO schema_info VALUES (?, current_timestamp)", [SCHEMA_VERSION]
            )
    finally:
        cursor.close()


@dataclass
class _Attachment:
    alias: str
    read_only: bool
    users: int
    reading_threads: Counter[int] = field(default_factory=Counter)


class _Attachments:
    """The process's in-memory DuckDB and the workspace files attached to it, counted
    by the connections using them. Thread-safe; a forked child starts its own."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._instance: duckdb.DuckDBPyConnection | None = None
        self._pid = 0
        self._attached: dict[Path, _Attachment] = {}
        self._aliases = itertools.count(1)
        self._configured: tuple[str, int] | None = None

    def _base(self) -> duckdb.DuckDBPyConnection:
        if self._instance is None or self._pid != os.getpid():
            spill = Path(tempfile.gettempdir()) / f"planwise-duckdb-{os.getpid()}"
            self._instance = duckdb.connect(config={"temp_directory": str(spill)})
            self._pid = os.getpid()
            self._attached = {}
            self._configured = None
        return self._instance

    def open(
        self, path: Path, settings: DatabaseSettings, *, read_only: bool, create: bool = False
    ) -> duckdb.DuckDBPyConnection:
        key = path.resolve()
        with self._lock:
            base = self._base()
            attachment = self._attached.get(key)
            if attachment is None or (attachment.read_only and not read_only):
                if not create and not path.exists():
                    raise _missing(path)
                if not read_only:
                    _require_writable(path)
            if attachment is not None and attachment.read_only and not read_only:
                if threading.get_ident() in attachment.reading_threads:
                    raise RuntimeError(
                        f"{path} is open read-only in this thread; close that connection "
                        "before opening one that writes"
                    )
                # A writer waits for this process's readers (other threads) to finish.
                if not self._lock.wait_for(lambda: key not in self._attached, timeout=60):
                    raise UserError(
                        f"The workspace database {path} has been read by another task of "
                        "this program for over a minute, so it cannot be opened for writing. "
                        "Try again when that task has finished. Nothing was changed."
                    )
                attachment = None
            if attachment is None:
                attachment = self._attach(base, key, path, read_only=read_only, create=create)
            attachment.users += 1
            if read_only:
                attachment.reading_threads[threading.get_ident()] += 1
            self._configure(base, settings)
            connection = base.cursor()
        try:
            connection.execute(f"USE {attachment.alias}")
        except BaseException:
            self.close(path, connection, read_only=read_only)
            raise
        return connection

    def _configure(self, base: duckdb.DuckDBPyConnection, settings: DatabaseSettings) -> None:
        """Apply the memory limit and threads when they change: setting the memory limit
        costs ~10 ms (DuckDB re-evaluates its buffer pool), too much for every connection."""
        wanted = (settings.memory_limit, settings.threads)
        if self._configured != wanted:
            base.execute(f"SET memory_limit = {_literal(settings.memory_limit)}")
            base.execute(f"SET threads = {settings.threads}")
            self._configured = wanted

    def _attach(
        self,
        base: duckdb.DuckDBPyConnection,
        key: Path,
        path: Path,
        *,
        read_only: bool,
        create: bool = False,
    ) -> _Attachment:
        alias = self._attach_file(base, path, read_only=read_only)
        try:
            version = _schema_version(base, alias)
            if version is None and not create:
                raise _not_a_store(path, "it holds none of the store's tables")
            if version is not None and version != SCHEMA_VERSION:
                if version not in MIGRATABLE_VERSIONS:
                    raise _refuse_version(version, path)
                _require_writable(path, upgrading_from=version)
                if read_only:  # an upgrade writes: once, through a writer's attachment
                    base.execute(f"DETACH {alias}")
                    writer = self._attach_file(base, path, read_only=False)
                    try:
                        _upgrade(base, writer, version)
                    finally:
                        base.execute(f"DETACH {writer}")
                    alias = self._attach_file(base, path, read_only=True)
                else:
                    _upgrade(base, alias, version)
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                base.execute(f"DETACH {alias}")
            raise
        attachment = _Attachment(alias, read_only, 0)
        self._attached[key] = attachment
        return attachment

    def _attach_file(self, base: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> str:
        alias = f"planwise_{next(self._aliases)}"
        options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {WRITE_ROW_GROUP_SIZE}"
        try:
            base.execute(f"ATTACH {_literal(str(path))} AS {alias} ({options})")
        except duckdb.IOException as error:
            message = str(error)
            detail = lock_conflict_detail(message)
            if detail is not None:
                # A reader blocks writers too; say so when it is a reader that holds it.
                reads = not read_only and (lock_holder_reads(message) or self._readable(base, path))
                raise DatabaseLockedError(str(path), detail, holder_reads=reads) from None
            if "not a valid duckdb database" in message.lower():
                raise _not_a_store(path, "it is not a DuckDB database file") from None
            if _write_failure(message) is not None and not read_only:
                _require_writable(path)  # names the file or folder when it is ours to name
            raise
        return alias

    def _readable(self, base: duckdb.DuckDBPyConnection, path: Path) -> bool:
        """Whether the file opens read-only now: the other process holds it to read."""
        alias = f"planwise_probe_{next(self._aliases)}"
        try:
            base.execute(f"ATTACH {_literal(str(path))} AS {alias} (READ_ONLY)")
        except duckdb.Error:
            return False
        base.execute(f"DETACH {alias}")
        return True

    def close(self, path: Path, connection: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        connection.close()
        key = path.resolve()
        with self._lock:
            attachment = self._attached.get(key)
            if attachment is None:
                return
            attachment.users -= 1
            if read_only:
                attachment.reading_threads[threading.get_ident()] -= 1
                attachment.reading_threads += Counter()  # drops the zero counts
            if attachment.users == 0:
                # Detaching checkpoints the file and releases its lock. Should it fail, the
                # file stays attached and the next connection in this process reuses it.
                self._base().execute(f"DETACH {attachment.alias}")
                del self._attached[key]
                self._lock.notify_all()


_ATTACHMENTS = _Attachments()


class Database:
    """The workspace's DuckDB file. Each `connect()` opens and closes one connection."""

    def __init__(self, path: Path, settings: DatabaseSettings | None = None) -> None:
        self.path = path
        self.settings = settings or DatabaseSettings()

    @contextmanager
    def connect(
        self, read_only: bool = False, *, create: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose default catalog is the workspace file.

        Opening a DuckDB database costs ~30 ms (registering its built-in functions), so
        each process keeps one in-memory DuckDB and attaches the workspace file to it
        only while a connection uses it: the file is detached (checkpointed, its lock
        released) when the last connection to it in this process closes. Writers attach
        with smaller row groups (`WRITE_ROW_GROUP_SIZE`), a property of the attachment,
        not of the file.

        A missing file, one that is not a PlanWise store, and (to write) a file or folder
        this user cannot write are `UserError`s; `create` (only `initialize`) makes the
        file when it is missing.
        """
        connection = _ATTACHMENTS.open(self.path, self.settings, read_only=read_only, create=create)
        try:
            yield connection
        finally:
            _ATTACHMENTS.close(self.path, connection, read_only=read_only)

    def check_writable(self) -> None:
        """The `UserError` a writer would meet now for a missing file or one this user
        cannot write: for long work that writes only at its end (an ensemble on a
        cluster), so that it is refused before it starts."""
        if not self.path.exists():
            raise _missing(self.path)
        _require_writable(self.path)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection, one transaction: committed whole or rolled back whole."""
        with self.connect() as connection, atomic(connection):
            yield connection

    def initialize(self) -> None:
        """Create every contract table that does not exist yet (idempotent)."""
        with self.connect(create=True) as connection, atomic(connection):
            for statement in SCHEMA_STATEMENTS:
                connection.execute(statement)
            (count,) = connection.execute("SELECT count(*) FROM schema_info").fetchone() or (0,)
            if count == 0:
                connection.execute(
                    "INSERT INTO schema_info VALUES (?, current_timestamp)", [SCHEMA_VERSION]
                )


@contextmanager
def atomic(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A transaction on an open connection (long operations such as an optimization keep
    one connection and commit each step atomically)."""
    connection.execute("BEGIN TRANSACTION")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    try:
        connection.execute("COMMIT")
    except duckdb.Error as error:
        reason = _write_failure(str(error))
        if reason is None:
            raise
        raise UserError(
            f"The workspace database could not be written ({reason}: {error}). DuckDB "
            "rolled the change back, so nothing was changed. Free the space or fix the "
            "permissions, then run the command again."
        ) from None


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
