"""`DbtBuilder`: the PlanWise dbt project run in this process by dbt's programmatic runner.

Public dbt only: `dbtRunner`, its event callbacks and its results. dbt parses the project
at each invocation; its partial parse (`partial_parse.msgpack` in the workspace's target
folder) makes that a fraction of a second once a workspace has been built. The profile sets
dbt-duckdb's `keep_open: false`, so the database is closed when a build's last connection
is, and another connection or process can open it right away (DuckDB is single-writer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planwise.application.analytics import AnalyticsTarget, NodeCallback, NodeOutcome
from planwise_dbt.command import DbtCommand, dbt_command

if TYPE_CHECKING:
    from dbt.cli.main import dbtRunnerResult

__all__ = ["DbtBuilder"]

# dbt keeps process-wide state (flags, adapters, the invocation's environment): one
# invocation at a time per process.
_DBT_LOCK = threading.RLock()


class DbtBuilder:
    """An `AnalyticsBuilder` running dbt in this process (dbt is imported on first use)."""

    def build(
        self, target: AnalyticsTarget, select: str | None, on_node: NodeCallback | None
    ) -> tuple[NodeOutcome, ...]:
        command = ["build", "--no-write-json"]
        if select is not None:
            command += ["--select", select]
        outcome = _invoke(dbt_command(target, *command), on_node)
        return _outcomes(outcome)

    def parse(self, target: AnalyticsTarget) -> Path:
        _invoke(dbt_command(target, "parse"), None)
        return target.manifest_path


def _invoke(command: DbtCommand, on_node: NodeCallback | None) -> dbtRunnerResult:
    """One dbt invocation; its result, or `RuntimeError` with dbt's message when dbt could
    not run (a project that does not compile, a database it cannot open)."""
    from dbt.cli.main import dbtRunner  # heavy: only when the analytics layer runs

    callbacks = [] if on_node is None else [_node_callback(on_node)]
    with _DBT_LOCK, command.environment():
        outcome = dbtRunner(callbacks=callbacks).invoke([*command.args, "--log-level", "none"])
    if outcome.exception is not None:
        raise RuntimeError(f"dbt {command.args[0]} failed: {outcome.exception}") from (
            outcome.exception
        )
    return outcome


def _node_callback(on_node: NodeCallback) -> Callable[[Any], None]:
    """A dbt event callback: each finished node (dbt's `NodeFinished` event) to `on_node`."""

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        info, result = event.data.node_info, event.data.run_result
        on_node(
            NodeOutcome(
                name=info.node_name,
                resource_type=info.resource_type,
                status=str(info.node_status),
                seconds=float(result.execution_time),
            )
        )

    return callback


def _outcomes(outcome: dbtRunnerResult) -> tuple[NodeOutcome, ...]:
    from dbt.artifacts.schemas.run import RunExecutionResult

    if not isinstance(outcome.result, RunExecutionResult):
        return ()
    return tuple(
        NodeOutcome(
            name=result.node.name,
            resource_type=str(result.node.resource_type),
            status=str(result.status),
            seconds=float(result.execution_time or 0.0),
            message=result.message,
            failures=None if result.failures is None else int(result.failures),
        )
        for result in outcome.result.results
    )
