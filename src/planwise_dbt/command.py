"""One dbt command for a target: its arguments and environment, the same whichever way dbt
runs (in this process through `DbtBuilder`, or as dagster-dbt's `dbt` process).

The project's profile (`dbt/profiles.yml`) reads the database and DuckDB's limits from the
environment; the target and log folders are the workspace's, so a read-only checkout works.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from planwise.application.analytics import AnalyticsTarget
from planwise_dbt.project import dbt_project_dir

__all__ = [
    "DATABASE_ENV",
    "MEMORY_LIMIT_ENV",
    "THREADS_ENV",
    "DbtCommand",
    "dbt_command",
]

DATABASE_ENV = "PLANWISE_DATABASE"
MEMORY_LIMIT_ENV = "PLANWISE_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "PLANWISE_DUCKDB_THREADS"


@dataclass(frozen=True)
class DbtCommand:
    """`dbt <args>` with `env` set: what every PlanWise dbt invocation runs.

    `args` start with the dbt command (`build`, `parse`) and hold no logging options: the
    in-process runner silences dbt's output, dagster-dbt reads it as JSON.
    """

    args: tuple[str, ...]
    env: Mapping[str, str]
    target_path: Path
    log_path: Path

    @contextmanager
    def environment(self) -> Iterator[None]:
        """`env` in this process's environment while dbt starts, restored on leaving.

        dbt reads the profile's variables from `os.environ` when an invocation starts
        (in-process) and a `dbt` process inherits them.
        """
        saved = {name: os.environ.get(name) for name in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def dbt_command(target: AnalyticsTarget, *command: str) -> DbtCommand:
    """The dbt command (e.g. `"build", "--select", "stg_census"`) against a target.

    >>> from pathlib import Path
    >>> target = AnalyticsTarget(Path("/w/planwise.duckdb"), "8GB", 2, Path("/w/.dbt"))
    >>> call = dbt_command(target, "parse")
    >>> call.args[0], call.args[call.args.index("--target-path") + 1]
    ('parse', '/w/.dbt/target')
    >>> call.env["PLANWISE_DATABASE"], call.env["PLANWISE_DUCKDB_THREADS"]
    ('/w/planwise.duckdb', '2')
    """
    project = str(dbt_project_dir())
    return DbtCommand(
        args=(
            *command,
            "--project-dir",
            project,
            "--profiles-dir",
            project,
            "--target-path",
            str(target.target_path),
            "--log-path",
            str(target.log_path),
        ),
        env={
            DATABASE_ENV: str(target.database_path),
            MEMORY_LIMIT_ENV: target.memory_limit,
            THREADS_ENV: str(target.threads),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        },
        target_path=target.target_path,
        log_path=target.log_path,
    )
