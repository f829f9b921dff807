"""Build the analytics layer: the dbt marts and data tests over a workspace's store.

The rules a user meets live here: a workspace without a database, a selection that matches
nothing, a database another process holds. Running dbt is the job of an `AnalyticsBuilder`,
an adapter beside the shells (`planwise_dbt.DbtBuilder`), so the core never imports dbt.

The marts recompute every metric of simulation-model.md §7 in SQL; the metric definitions
(and the choices the design leaves open) are those of `planwise.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from planwise.application.progress import ProgressListener, StepFinished, emit
from planwise.application.workspace import Workspace
from planwise.config import DatabaseSettings
from planwise.errors import DatabaseLockedError, UserError, lock_conflict_detail

__all__ = [
    "AnalyticsBuilder",
    "AnalyticsRequest",
    "AnalyticsResult",
    "AnalyticsTarget",
    "NodeCallback",
    "NodeOutcome",
    "build_analytics",
    "parse_analytics",
]

_FAILED_TEST_STATUSES = frozenset({"fail", "error", "warn"})
_FAILED_NODE_STATUSES = frozenset({"error", "runtime error"})


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


NodeCallback = Callable[[NodeOutcome], None]


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


@dataclass(frozen=True)
class AnalyticsTarget:
    """Where a build runs: the workspace's database with its DuckDB limits (planwise.yaml
    `database:`), and the folder where dbt keeps this workspace's artifacts.

    dbt's partial parse (`target/partial_parse.msgpack`) depends on the database path, so
    each workspace keeps its own and its next build skips the full parse.
    """

    database_path: Path
    memory_limit: str
    threads: int
    artifacts_path: Path

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> AnalyticsTarget:
        """The workspace's target; DuckDB's default limits when it has no settings yet."""
        settings = (
            workspace.settings().database
            if workspace.settings_path.exists()
            else DatabaseSettings()
        )
        return cls(
            database_path=workspace.database_path,
            memory_limit=settings.memory_limit,
            threads=settings.threads,
            artifacts_path=workspace.analytics_path,
        )

    @property
    def target_path(self) -> Path:
        """dbt's target folder: compiled SQL, the partial parse, manifest.json."""
        return self.artifacts_path / "target"

    @property
    def log_path(self) -> Path:
        return self.artifacts_path / "logs"

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"


class AnalyticsBuilder(Protocol):
    """Runs the dbt project against a target (an adapter: `planwise_dbt.DbtBuilder`)."""

    def build(
        self, target: AnalyticsTarget, select: str | None, on_node: NodeCallback | None
    ) -> tuple[NodeOutcome, ...]:
        """`dbt build` (seeds, models, data tests), or the nodes `select` names; `on_node`
        hears of each node as it finishes. Failing nodes are outcomes, not errors; raises
        `RuntimeError` (with dbt's message) when dbt itself cannot run."""
        ...

    def parse(self, target: AnalyticsTarget) -> Path:
        """`dbt parse`: write the project's manifest.json into the target; return its path."""
        ...


@dataclass(frozen=True)
class AnalyticsRequest:
    """`select`: a dbt selection (e.g. `fct_compensation_growth+` or a data test's name);
    None builds the whole project."""

    select: str | None = None


def build_analytics(
    workspace: Workspace,
    request: AnalyticsRequest,
    builder: AnalyticsBuilder,
    on_progress: ProgressListener | None = None,
) -> AnalyticsResult:
    """Build the marts and run the data tests over the workspace's store.

    Failing data tests do not raise: they are reported in the result. Emits `StepFinished`
    for each node. Raises `UserError` when the workspace has no database or the selection
    matches nothing, `DatabaseLockedError` when another process holds the file.
    """
    started = time.perf_counter()
    if not workspace.database_path.exists():
        raise UserError(
            f"{workspace.root} has no database ({workspace.database_path.name}). "
            f"Create the workspace with 'planwise init --workspace {workspace.root}'."
        )
    target = AnalyticsTarget.for_workspace(workspace)

    def finished(node: NodeOutcome) -> None:
        emit(
            on_progress,
            StepFinished(
                name=node.name, status=node.status, kind=node.resource_type, seconds=node.seconds
            ),
        )

    try:
        nodes = builder.build(target, request.select, None if on_progress is None else finished)
    except RuntimeError as error:  # dbt could not run; one cause is the user's to fix
        _raise_if_locked(workspace, str(error), error)
        raise
    for node in nodes:
        if node.failed:
            _raise_if_locked(workspace, node.message or "")
    if not nodes:
        chosen = "the project" if request.select is None else f"--select '{request.select}'"
        raise UserError(f"Nothing to build: {chosen} matched no model, seed or data test.")
    return AnalyticsResult(
        nodes=nodes,
        seconds=time.perf_counter() - started,
        database_path=workspace.database_path,
        target_path=target.target_path,
    )


def parse_analytics(workspace: Workspace, builder: AnalyticsBuilder) -> Path:
    """Write the dbt project's manifest.json into the workspace; return its path.

    Dagster (dagster-dbt) and other tools read the project from this manifest.
    """
    return builder.parse(AnalyticsTarget.for_workspace(workspace))


def _raise_if_locked(workspace: Workspace, message: str, cause: Exception | None = None) -> None:
    detail = lock_conflict_detail(message)
    if detail is not None:
        raise DatabaseLockedError(str(workspace.database_path), detail) from cause
