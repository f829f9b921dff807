"""Keeping a workspace's store bounded: `compact` drops the event logs no one needs (the
metrics, parameter sets, census and logs always stay) and gives the space back."""

from __future__ import annotations

from dataclasses import dataclass

from planwise.application.workspace import Workspace
from planwise.storage import compaction, runs

__all__ = ["CompactRequest", "WorkspaceCompacted", "compact_workspace"]


@dataclass(frozen=True)
class CompactRequest:
    dry_run: bool = False
    """Say what would be dropped and change nothing."""


@dataclass(frozen=True)
class WorkspaceCompacted:
    """What compacting did (or, for a dry run, would do)."""

    dropped_runs: tuple[int, ...]
    """Runs whose event logs were dropped (their metrics stay)."""
    dropped_rows: int
    kept_runs: tuple[int, ...]
    """Runs that keep their event logs: newest per scenario, active or applied sets,
    optimizations' start and answer, ensemble members kept on purpose."""
    bytes_before: int
    bytes_after: int
    dry_run: bool


def compact_workspace(workspace: Workspace, request: CompactRequest) -> WorkspaceCompacted:
    """Drop the event logs of runs no one references, and rewrite the store's file so the
    space comes back (DuckDB does not shrink a file when rows are deleted). Needs the
    workspace closed by every other program (a message says so otherwise)."""
    settings = workspace.settings()
    before = workspace.database_path.stat().st_size
    with workspace.database(settings).transaction() as connection:
        runs.discard_abandoned(connection)
        stored = compaction.runs_with_events(connection)
        kept = compaction.referenced_runs(connection)
        dropped = [run for run in stored if run.run_id not in kept]
        if dropped and not request.dry_run:
            compaction.drop_events(connection, [run.run_id for run in dropped])
    after = before
    if not request.dry_run:
        _, after = compaction.rewrite_file(workspace.database_path)
    return WorkspaceCompacted(
        dropped_runs=tuple(run.run_id for run in dropped),
        dropped_rows=sum(run.rows for run in dropped),
        kept_runs=tuple(sorted(run.run_id for run in stored if run.run_id in kept)),
        bytes_before=before,
        bytes_after=after,
        dry_run=request.dry_run,
    )
