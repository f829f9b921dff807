"""The dbt analytics layer (marts + data tests) built in-process over a workspace's store.

`build_analytics` runs `dbt build` through dbt's programmatic runner against the repo's
`dbt/` project. The profile reads the database path from `PLANWISE_DATABASE`, set here to
the workspace's file for the duration of the call; dbt's target and log folders live in the
workspace (`.dbt/`), so a read-only checkout works. DuckDB is single-writer: this function
opens no connection of its own, and dbt-duckdb closes its connection when the run ends.

The marts recompute every metric of simulation-model.md §7 in SQL; the metric definitions
(and the choices the design leaves open) are those of `planwise.metrics`.

>>> render_lever_defaults_csv().splitlines()[0]
'parameter_name,event_type,job_level,default_value'
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planwise.config import DatabaseSettings
from planwise.errors import DatabaseLockedError, UserError, lock_conflict_detail
from planwise.parameters.declarations import PARAMETERS
from planwise.workspace import Workspace

__all__ = [
    "DATABASE_ENV",
    "DBT_PROJECT_ENV",
    "AnalyticsResult",
    "NodeOutcome",
    "build_analytics",
    "dbt_project_dir",
    "lever_defaults_seed_path",
    "parse_analytics",
    "render_lever_defaults_csv",
]

DATABASE_ENV = "PLANWISE_DATABASE"
DBT_PROJECT_ENV = "PLANWISE_DBT_PROJECT_DIR"
# The workspace's DuckDB limits (planwise.yaml `database:`), read by profiles.yml.
_MEMORY_LIMIT_ENV = "PLANWISE_DUCKDB_MEMORY_LIMIT"
_THREADS_ENV = "PLANWISE_DUCKDB_THREADS"
_ARTIFACTS_FOLDER = ".dbt"
_FAILED_TEST_STATUSES = frozenset({"fail", "error", "warn"})
_FAILED_NODE_STATUSES = frozenset({"error", "runtime error"})
_NOT_PROJECT_FILES = frozenset({"target", "logs", "dbt_packages"})
# dbt keeps process-wide state (flags, adapters): one invocation at a time per process.
_DBT_LOCK = threading.RLock()
_MANIFESTS: dict[str, Any] = {}

NodeCallback = Callable[["NodeOutcome"], None]


@dataclass(frozen=True)
class NodeOutcome:
    """One dbt node of a build: a model, seed or data test, with how it ended."""

    name: str
    resource_type: str  # "model", "seed", "test"
    status: str  # models/seeds: success, error, skipped; tests: pass, fail, error, skipped
    seconds: float
    message: str | None = None
    failures: int | None = None  # rows a failing test returned

    @property
    def failed(self) -> bool:
        if self.resource_type == "test":
            return self.status in _FAILED_TEST_STATUSES
        return self.status in _FAILED_NODE_STATUSES

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resource_type": self.resource_type,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "message": self.message,
            "failures": self.failures,
        }


@dataclass(frozen=True)
class AnalyticsResult:
    """What a build did: models and seeds built, tests passed and failed, and how long."""

    nodes: tuple[NodeOutcome, ...]
    seconds: float
    database_path: Path
    target_path: Path

    def _names(self, resource_type: str, statuses: frozenset[str]) -> tuple[str, ...]:
        return tuple(
            node.name
            for node in self.nodes
            if node.resource_type == resource_type and node.status in statuses
        )

    @property
    def models_built(self) -> tuple[str, ...]:
        return self._names("model", frozenset({"success"}))

    @property
    def seeds_loaded(self) -> tuple[str, ...]:
        return self._names("seed", frozenset({"success"}))

    @property
    def tests_passed(self) -> tuple[str, ...]:
        return self._names("test", frozenset({"pass"}))

    @property
    def tests_failed(self) -> tuple[str, ...]:
        return self._names("test", _FAILED_TEST_STATUSES)

    @property
    def errors(self) -> tuple[str, ...]:
        """Models or seeds that could not be built."""
        return tuple(
            node.name for node in self.nodes if node.resource_type != "test" and node.failed
        )

    @property
    def skipped(self) -> tuple[str, ...]:
        return tuple(node.name for node in self.nodes if node.status == "skipped")

    @property
    def success(self) -> bool:
        return not self.tests_failed and not self.errors and not self.skipped

    def failure_summary(self) -> str:
        """One paragraph naming every failing test and model, for an error message."""
        parts = []
        for node in self.nodes:
            if node.failed:
                detail = (
                    f"{node.failures} failing rows"
                    if node.failures
                    else (node.message or node.status)
                )
                parts.append(f"{node.name} ({detail})")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped because of them")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "seconds": round(self.seconds, 3),
            "database_path": str(self.database_path),
            "target_path": str(self.target_path),
            "models_built": list(self.models_built),
            "seeds_loaded": list(self.seeds_loaded),
            "tests_passed": list(self.tests_passed),
            "tests_failed": list(self.tests_failed),
            "errors": list(self.errors),
            "skipped": list(self.skipped),
            "nodes": [node.as_dict() for node in self.nodes],
        }


def dbt_project_dir() -> Path:
    """The dbt project: `$PLANWISE_DBT_PROJECT_DIR`, else `dbt/` of the (editable) checkout."""
    configured = os.environ.get(DBT_PROJECT_ENV)
    candidate = (
        Path(configured).expanduser().resolve()
        if configured
        else Path(__file__).resolve().parents[2] / "dbt"
    )
    if not (candidate / "dbt_project.yml").is_file():
        source = f"${DBT_PROJECT_ENV}" if configured else "the planwise checkout"
        raise UserError(
            f"No dbt project at {candidate} (from {source}): dbt_project.yml is missing. "
            f"Set {DBT_PROJECT_ENV} to the folder holding PlanWise's dbt_project.yml."
        )
    return candidate


def lever_defaults_seed_path(project_dir: Path | None = None) -> Path:
    return (project_dir or dbt_project_dir()) / "seeds" / "lever_defaults.csv"


def render_lever_defaults_csv() -> str:
    """The `lever_defaults` seed, generated from the lever declarations (one row per level).

    Regenerate the file after changing a declaration:
    `python -c "from planwise.analytics import *; lever_defaults_seed_path().write_text(
    render_lever_defaults_csv())"`.
    """
    lines = ["parameter_name,event_type,job_level,default_value"]
    for spec in PARAMETERS:
        for level, value in enumerate(spec.defaults, start=1):
            lines.append(f"{spec.name},{spec.event_type},{level},{value!r}")
    return "\n".join(lines) + "\n"


def _artifact_paths(workspace: Workspace) -> tuple[Path, Path]:
    root = workspace.root / _ARTIFACTS_FOLDER
    return root / "target", root / "logs"


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _project_fingerprint(project: Path, database_path: Path) -> str:
    """Changes when a project file, dbt or the database's name (dbt-duckdb makes it the
    relations' database) changes: the key of the manifest caches."""
    from importlib.metadata import version

    digest = hashlib.sha256(
        "|".join(
            (str(project), database_path.stem, version("dbt-core"), version("dbt-duckdb"))
        ).encode()
    )
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        hidden = any(part.startswith(".") for part in relative.parts)
        if hidden or relative.parts[0] in _NOT_PROJECT_FILES or not path.is_file():
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _manifest_cache_path(fingerprint: str) -> Path:
    """A per-user cache (never inside the workspace, which may come from someone else)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "planwise" / "dbt" / f"manifest-{fingerprint[:32]}.pickle"


def _rebuild_manifest(fields: dict[str, Any]) -> Any:
    from dbt.contracts.graph.manifest import Manifest

    return Manifest(**fields)


def _reduce_manifest(manifest: Any) -> tuple[Callable[[dict[str, Any]], Any], tuple[Any, ...]]:
    """Pickle a manifest by its public dataclass fields; its lookups and lock are rebuilt.

    (dbt's own `Manifest.__reduce_ex__` lists fewer fields than its constructor takes.)
    """
    fields = {
        field.name: getattr(manifest, field.name)
        for field in dataclasses.fields(manifest)
        if field.init and not field.name.startswith("_")
    }
    return _rebuild_manifest, (fields,)


def _read_cached_manifest(fingerprint: str) -> Any:
    path = _manifest_cache_path(fingerprint)
    try:
        with path.open("rb") as stream:
            return pickle.load(stream)  # our own per-user cache file, written below
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def _write_cached_manifest(fingerprint: str, manifest: Any) -> None:
    path = _manifest_cache_path(fingerprint)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        from dbt.contracts.graph.manifest import Manifest

        partial = path.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as stream:
            pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
            pickler.dispatch_table = {**copyreg.dispatch_table, Manifest: _reduce_manifest}
            pickler.dump(manifest)
        partial.replace(path)
        for stale in path.parent.glob("manifest-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError):
        return  # a cache: building works without it, only slower


def _dbt_arguments(workspace: Workspace, command: list[str]) -> list[str]:
    project = dbt_project_dir()
    target_path, log_path = _artifact_paths(workspace)
    return [
        *command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
        "--log-level",
        "none",
        "--no-send-anonymous-usage-stats",
    ]


def _run_dbt(
    workspace: Workspace,
    command: list[str],
    manifest: Any = None,
    on_node: NodeCallback | None = None,
) -> Any:
    """One dbt invocation against the workspace's database; dbt's result, or a clear error.

    The caller holds `_DBT_LOCK`.
    """
    from dbt.cli.main import dbtRunner  # heavy import: only when the analytics layer runs

    callbacks = [] if on_node is None else [_node_callback(on_node)]
    database = (
        workspace.settings().database if workspace.settings_path.exists() else DatabaseSettings()
    )
    environment = {
        DATABASE_ENV: str(workspace.database_path),
        _MEMORY_LIMIT_ENV: database.memory_limit,
        _THREADS_ENV: str(database.threads),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    with _environment(environment):
        try:
            outcome = dbtRunner(manifest=manifest, callbacks=callbacks).invoke(
                _dbt_arguments(workspace, command)
            )
        finally:
            _release_database()
    if outcome.exception is not None:
        detail = lock_conflict_detail(str(outcome.exception))
        if detail is not None:
            raise DatabaseLockedError(str(workspace.database_path), detail)
        raise RuntimeError(f"dbt {command[0]} failed: {outcome.exception}")
    return outcome


def _release_database() -> None:
    """Close dbt-duckdb's connection once dbt returns (single writer).

    dbt-duckdb keeps the database open after a run (`keep_open` defaults to true, which
    spares reopening the file for every node), which would lock other processes out.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    environment = getattr(DuckDBConnectionManager, "_ENV", None)
    if environment is not None and getattr(environment, "conn", None) is not None:
        environment.close()


def _manifest(workspace: Workspace) -> Any:
    """The parsed project. A full `dbt parse` costs seconds and the manifest does not depend
    on the workspace, so it is kept per process and in a per-user cache, keyed by the
    project's content and the dbt versions."""
    key = _project_fingerprint(dbt_project_dir(), workspace.database_path)
    manifest = _MANIFESTS.get(key)
    if manifest is None:
        manifest = _read_cached_manifest(key)
        if manifest is None:
            manifest = _run_dbt(workspace, ["parse"]).result
            _write_cached_manifest(key, manifest)
        _MANIFESTS.clear()
        _MANIFESTS[key] = manifest
    return manifest


def _node_callback(on_node: NodeCallback) -> Callable[[Any], None]:
    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info = event.data.node_info
        on_node(
            NodeOutcome(
                name=info.node_name,
                resource_type=info.resource_type,
                status=str(info.node_status),
                seconds=0.0,
            )
        )

    return callback


def _outcomes(results: Any) -> tuple[NodeOutcome, ...]:
    outcomes = []
    for result in getattr(results, "results", None) or ():
        node = result.node
        failures = getattr(result, "failures", None)
        outcomes.append(
            NodeOutcome(
                name=node.name,
                resource_type=str(node.resource_type),
                status=str(result.status),
                seconds=float(result.execution_time or 0.0),
                message=result.message,
                failures=int(failures) if failures is not None else None,
            )
        )
    return tuple(outcomes)


def build_analytics(
    workspace: Workspace, select: str | None = None, on_node: NodeCallback | None = None
) -> AnalyticsResult:
    """`dbt build` (seeds, models, data tests) over the workspace's store, in-process.

    `select` is a dbt selection (e.g. `fct_compensation_growth+` or a test's name). Failing
    data tests do not raise: they are reported in the result. Raises `UserError` when the
    selection matches nothing, `DatabaseLockedError` when another process holds the file.
    """
    started = time.perf_counter()
    if not workspace.database_path.exists():
        raise UserError(
            f"{workspace.root} has no database ({workspace.database_path.name}). "
            f"Create the workspace with 'planwise init --workspace {workspace.root}'."
        )
    command = ["build", "--no-write-json"]
    if select is not None:
        command += ["--select", select]
    with _DBT_LOCK:
        outcome = _run_dbt(workspace, command, _manifest(workspace), on_node)
    nodes = _outcomes(outcome.result)
    for node in nodes:
        detail = lock_conflict_detail(node.message or "") if node.failed else None
        if detail is not None:
            raise DatabaseLockedError(str(workspace.database_path), detail)
    if not nodes:
        chosen = "the project" if select is None else f"--select '{select}'"
        raise UserError(f"Nothing to build: {chosen} matched no model, seed or data test.")
    return AnalyticsResult(
        nodes=nodes,
        seconds=time.perf_counter() - started,
        database_path=workspace.database_path,
        target_path=_artifact_paths(workspace)[0],
    )


def parse_analytics(workspace: Workspace) -> Path:
    """`dbt parse`: write the project's manifest.json into the workspace; return its path.

    Dagster (dagster-dbt) and other tools read the project from this manifest.
    """
    with _DBT_LOCK:
        _run_dbt(workspace, ["parse"])
    return _artifact_paths(workspace)[0] / "manifest.json"
