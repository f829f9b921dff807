"""A targets file with huge names gives a report of a few KB (issue 15): every message a
Problem carries is bounded in `Problem.describe`, whoever built it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from planwise.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bounded_targets") / "workspace"
    assert runner.invoke(app, ["init", "--workspace", str(root)]).exit_code == 0
    return root


def test_huge_names_in_a_targets_file_are_shortened(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(
        "targets:\n"
        f"  ? {'n' * 300_000}\n"
        "  : {target_value: 1}\n"
        f"  average: {{metric: {'m' * 200_000}, target_value: 1}}\n"
    )
    result = runner.invoke(app, ["optimize", "--targets", str(path), "--workspace", str(workspace)])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 4_000
    assert f"unknown metric '{'m' * 64}…(200,000 characters)'; known: headcount" in result.stderr
    assert f"unknown metric '{'n' * 64}…(300,000 characters)'" in result.stderr


def test_a_huge_top_level_key_is_shortened(workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(f"? {'k' * 1_000_000}\n: 1\n")
    result = runner.invoke(app, ["optimize", "--targets", str(path), "--workspace", str(workspace)])
    assert result.exit_code == 1
    assert len(result.stderr) < 2_000
    assert f"unknown top-level key '{'k' * 64}…(1,000,000 characters)'" in result.stderr
