"""`planwise dagster`: the Dagster UI for a workspace, served on 127.0.0.1 only.

Run history lives in the workspace (`<workspace>/.dagster`), so it lasts between sessions.
The CLI never imports Dagster: it replaces itself with `dagster dev`, which loads the
`planwise_dagster` definitions and finds the workspace through `$PLANWISE_WORKSPACE`.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planwise.cli._common import WorkspaceOption, command, say, workspace_at

if TYPE_CHECKING:
    from planwise.application import Workspace

__all__ = ["DAGSTER_YAML", "dagster_command", "dagster_dev_command", "register"]

HOST = "127.0.0.1"
DEFINITIONS_MODULE = "planwise_dagster"

# Telemetry off; one run at a time, because DuckDB lets only one process write the store.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def dagster_dev_command(port: int) -> list[str]:
    """The `dagster dev` command line: the PlanWise definitions, local address only."""
    return [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        DEFINITIONS_MODULE,
        "--host",
        HOST,
        "--port",
        str(port),
    ]


def prepare_dagster_home(workspace: Workspace) -> Path:
    """Create `<workspace>/.dagster` with its `dagster.yaml` (kept if the analyst edited it)."""
    home = workspace.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return home


def dagster_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 3000,
    workspace: WorkspaceOption = None,
) -> None:
    """Start the Dagster UI for the workspace on 127.0.0.1; Ctrl+C (or SIGTERM) stops it."""
    from planwise.application import WORKSPACE_ENV

    chosen = workspace_at(workspace)
    chosen.settings()  # a folder that is not a workspace fails here, with advice
    home = prepare_dagster_home(chosen)
    environment = {
        **os.environ,
        WORKSPACE_ENV: str(chosen.root),
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    say(f"Dagster UI for {chosen.root} on http://{HOST}:{port} (Ctrl+C stops it).")
    sys.stdout.flush()
    sys.stderr.flush()
    # A process started in the background by a script inherits SIGINT as ignored, and
    # `dagster dev` maps SIGTERM to the SIGINT handler, so it could not be stopped at all.
    # Restore the defaults; exec keeps the PID, so whoever started us can stop the server.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.chdir(chosen.root)
    argv = dagster_dev_command(port)
    os.execve(argv[0], argv, environment)


def register(app: typer.Typer) -> None:
    command(app, "dagster")(dagster_command)
