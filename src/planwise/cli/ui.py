"""`planwise ui`: the Streamlit app for a workspace, served on 127.0.0.1 only."""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from planwise.cli._common import WorkspaceOption, command, say, workspace_at
from planwise.errors import UserError

__all__ = ["register", "replace_process", "streamlit_command"]

HOST = "127.0.0.1"
APP_PACKAGE = "planwise_app"


def streamlit_command(app_script: str, workspace_root: str, port: int) -> list[str]:
    """The `streamlit run` command line: local address, headless, no usage statistics, and
    the viewer's toolbar (no deploy or developer menu)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        app_script,
        "--server.address",
        HOST,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
        "--",
        "--workspace",
        workspace_root,
    ]


def _app_script() -> Path:
    """The app's script, found without importing the app (the CLI never loads Streamlit)."""
    spec = importlib.util.find_spec(APP_PACKAGE)
    if spec is None or spec.origin is None:
        raise UserError(f"The app package {APP_PACKAGE} is not installed; run 'make install'.")
    return Path(spec.origin).with_name("app.py")


def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1, max=65535)] = 8501,
    workspace: WorkspaceOption = None,
) -> None:
    """Start the analysts' app (Streamlit) on 127.0.0.1; Ctrl+C (or SIGTERM) stops it."""
    from planwise.application import WORKSPACE_ENV

    chosen = workspace_at(workspace)
    chosen.settings()  # a folder that is not a workspace fails here, with advice
    app_script = _app_script()
    environment = {
        **os.environ,
        WORKSPACE_ENV: str(chosen.root),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }
    say(f"PlanWise app for {chosen.root} on http://{HOST}:{port} (Ctrl+C stops it).")
    replace_process(streamlit_command(str(app_script), str(chosen.root), port), environment)


def replace_process(argv: list[str], environment: dict[str, str]) -> None:
    """Become the Streamlit server: same PID, so whoever started us can stop it.

    A process started in the background by a script inherits SIGINT as ignored; restore
    the default handlers before the exec.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execve(argv[0], argv, environment)


def register(app: typer.Typer) -> None:
    command(app, "ui")(ui)
