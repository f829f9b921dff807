"""The core never imports dbt; the dbt adapter gives every runner of the project (the CLI,
the app, Dagster) the same command for a workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planwise.application import Workspace
from planwise.application.analytics import AnalyticsTarget
from planwise.config import DatabaseSettings, Settings
from planwise_dbt import dbt_command, dbt_project_dir, manifest_is_current


def test_importing_the_core_the_cli_or_the_adapter_imports_no_dbt() -> None:
    script = (
        "import sys, planwise.cli, planwise.application.analytics, planwise_dbt; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'dbt'))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_a_dbt_command_targets_the_workspace(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    workspace.write_settings(Settings(database=DatabaseSettings(memory_limit="3GB", threads=3)))
    command = dbt_command(AnalyticsTarget.for_workspace(workspace), "build", "--select", "x")
    project = str(dbt_project_dir())
    arguments = list(command.args)
    assert arguments[:3] == ["build", "--select", "x"]
    options = dict(zip(arguments[3::2], arguments[4::2], strict=True))
    assert options == {
        "--project-dir": project,
        "--profiles-dir": project,
        "--target-path": str(tmp_path / ".dbt" / "target"),
        "--log-path": str(tmp_path / ".dbt" / "logs"),
    }
    assert command.target_path == tmp_path / ".dbt" / "target"
    assert command.env == {
        "PLANWISE_DATABASE": str(tmp_path / "planwise.duckdb"),
        "PLANWISE_DUCKDB_MEMORY_LIMIT": "3GB",
        "PLANWISE_DUCKDB_THREADS": "3",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }


def test_a_dbt_command_sets_its_environment_only_while_dbt_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANWISE_DATABASE", "elsewhere.duckdb")
    monkeypatch.delenv("PLANWISE_DUCKDB_THREADS", raising=False)
    command = dbt_command(AnalyticsTarget.for_workspace(Workspace(tmp_path)), "parse")
    with command.environment():
        assert os.environ["PLANWISE_DATABASE"] == str(tmp_path / "planwise.duckdb")
        assert os.environ["PLANWISE_DUCKDB_THREADS"] == "2"
    assert os.environ["PLANWISE_DATABASE"] == "elsewhere.duckdb"
    assert "PLANWISE_DUCKDB_THREADS" not in os.environ


def test_a_manifest_older_than_a_project_file_is_not_current(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: planwise\n")
    model = project / "models" / "model.sql"
    model.write_text("select 1\n")
    manifest = project / "target" / "manifest.json"
    assert not manifest_is_current(manifest, project)
    manifest.parent.mkdir()
    manifest.write_text("{}")
    os.utime(model, (1_000_000, 1_000_000))
    assert manifest_is_current(manifest, project)
    os.utime(model, None)  # edited after the parse
    os.utime(manifest, (1_000_000, 1_000_000))
    assert not manifest_is_current(manifest, project)
