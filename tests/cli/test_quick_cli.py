"""A quick CLI (issue 14): `planwise --help` and the light commands start without loading
pandas, Dagster, dbt or Streamlit. A behaviour test on `sys.modules` in a fresh process, not
a timed one (the time is measured by `benchmarks/run.py --case cli_help`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planwise.cli import app

HEAVY = ("pandas", "dagster", "dbt", "streamlit")
"""Never loaded by help or a light command."""
STORE = ("duckdb", "planwise.storage", "scipy", "pyarrow", "planwise.census.load")
"""Not needed to print help either."""

# Runs the CLI in this process and reports, on its last stdout line, which of the watched
# top-level modules were imported (a module counts with any of its submodules).
_WRAPPER = """
import json, sys
watched = json.loads(sys.argv[1])
sys.argv = ["planwise", *sys.argv[2:]]
from planwise.cli import main
try:
    main()
except SystemExit:
    pass
loaded = sorted(
    name for name in watched
    if any(module == name or module.startswith(name + ".") for module in sys.modules)
)
print("\\nLOADED " + json.dumps(loaded))
"""


def loaded_modules(*args: str, watched: tuple[str, ...] = HEAVY + STORE) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", _WRAPPER, json.dumps(watched), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("LOADED "), completed.stdout + completed.stderr
    found: list[str] = json.loads(last.removeprefix("LOADED "))
    return found


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quick_cli") / "workspace"
    runner = CliRunner()
    for args in (
        ["init"],
        ["census", "generate", "--employees", "200", "--seed", "3"],
        ["simulate", "--years", "2"],
    ):
        result = runner.invoke(app, [*args, "--workspace", str(root)])
        assert result.exit_code == 0, result.output
    return root


@pytest.mark.parametrize(
    "args",
    [["--help"], ["levers", "set", "--help"], ["optimize", "--help"]],
    ids=lambda args: " ".join(args),
)
def test_help_loads_neither_heavy_libraries_nor_the_store(args: list[str]) -> None:
    assert loaded_modules(*args) == []


def test_the_top_level_help_does_not_even_load_numpy() -> None:
    assert loaded_modules("--help", watched=("numpy", "planwise.parameters")) == []


def test_the_cli_names_the_default_scenario_as_the_core_does() -> None:
    from planwise.cli._common import DEFAULT_SCENARIO
    from planwise.parameters.levers import DEFAULT_SCENARIO as CORE_DEFAULT_SCENARIO

    assert DEFAULT_SCENARIO == CORE_DEFAULT_SCENARIO


def test_levers_set_help_lists_every_lever_from_its_declaration() -> None:
    from planwise.parameters.declarations import PARAMETERS

    shown = CliRunner().invoke(app, ["levers", "set", "--help"])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.replace("│", " ").split())  # the help panel wraps lines
    for spec in PARAMETERS:
        assert f"{spec.name} ({spec.label})" in text


@pytest.mark.parametrize(
    "args",
    [["levers", "show"], ["levers", "history"]],
    ids=lambda args: " ".join(args),
)
def test_light_lever_commands_load_no_heavy_library(workspace: Path, args: list[str]) -> None:
    assert loaded_modules(*args, "--workspace", str(workspace), watched=HEAVY) == []


def test_results_loads_neither_dagster_dbt_nor_streamlit(workspace: Path) -> None:
    watched = ("dagster", "dbt", "streamlit")
    assert loaded_modules("results", "--workspace", str(workspace), watched=watched) == []


def test_results_loads_no_pandas(workspace: Path) -> None:
    assert loaded_modules("results", "--workspace", str(workspace), watched=("pandas",)) == []
