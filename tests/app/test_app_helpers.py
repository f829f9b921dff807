"""The app's non-UI pieces: how it finds its workspace, how `planwise ui` starts it, the
targets mapping of the Auto-Optimize controls, downloads, and where a run executes."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from planwise import application
from planwise.application import WORKSPACE_ENV, Workspace
from planwise.cli import app as cli
from planwise.cli import ui as ui_command
from planwise.cli.ui import streamlit_command
from planwise.errors import UserError
from planwise.optimization import load_targets
from planwise_app import APP_SCRIPT, charts, entries, launch, tables
from planwise_app import optimization_views as views
from planwise_app.common import workspace_from


@pytest.mark.parametrize(
    ("argv", "environment", "expected"),
    [
        pytest.param(["--workspace", "/data/ws"], {WORKSPACE_ENV: "/other"}, "/data/ws", id="argv"),
        pytest.param(["--workspace=/data/ws"], {}, "/data/ws", id="argv-equals"),
        pytest.param([], {WORKSPACE_ENV: "/data/env"}, "/data/env", id="environment"),
    ],
)
def test_the_workspace_comes_from_the_arguments_then_the_environment(
    argv: list[str], environment: dict[str, str], expected: str
) -> None:
    assert workspace_from(argv, environment) == Path(expected)


def test_without_a_workspace_the_app_refuses_to_guess() -> None:
    with pytest.raises(UserError, match="planwise ui --workspace DIR"):
        workspace_from([], {})


def test_the_streamlit_command_is_local_headless_and_sends_no_statistics() -> None:
    command = streamlit_command("/app.py", "/ws", 8600)
    assert command[1:5] == ["-m", "streamlit", "run", "/app.py"]
    pairs = dict(zip(command[5:-3:2], command[6:-3:2], strict=True))
    assert pairs == {
        "--server.address": "127.0.0.1",
        "--server.port": "8600",
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
        "--client.toolbarMode": "viewer",
    }
    assert command[-3:] == ["--", "--workspace", "/ws"]


def test_planwise_ui_becomes_the_app_for_the_workspace(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: dict[str, Any] = {}

    def fake_replace(argv: list[str], environment: dict[str, str]) -> None:
        started.update(argv=argv, environment=environment)

    monkeypatch.setattr(ui_command, "replace_process", fake_replace)
    result = CliRunner().invoke(cli, ["ui", "--port", "8611", "--workspace", str(workspace.root)])
    assert result.exit_code == 0, result.output
    assert started["argv"] == streamlit_command(str(APP_SCRIPT), str(workspace.root), 8611)
    assert started["environment"][WORKSPACE_ENV] == str(workspace.root)
    assert started["environment"]["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"


def test_planwise_ui_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ui", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a PlanWise workspace" in result.output


def _rows(*rows: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(views.EDITOR_COLUMNS))


def test_the_controls_make_a_targets_mapping_that_load_targets_accepts() -> None:
    growth = views.GrowthTarget("compensation_growth_cagr", 4.0, 0.05, "high")
    rows = _rows(  # as typed in the editor: rates in %, their tolerances in pp
        {"metric": "median_merit_increase", "target_value": 3.5, "tolerance": 0.1,
         "priority": "medium", "year": "final"},
        {"metric": "median_merit_increase", "target_value": 3.0, "tolerance": math.nan,
         "priority": None, "year": "2026"},
        {"metric": None, "target_value": math.nan, "tolerance": math.nan, "priority": None,
         "year": None},
    )  # fmt: skip
    mapping = views.targets_mapping(
        growth,
        rows,
        options={"levers": ["merit_base", "cola_rate"]},
        max_iterations=7,
        mode="conservative",
        robustness_seeds=0,
    )
    assert mapping["optimization"] == {
        "levers": ["merit_base", "cola_rate"],
        "max_iterations": 7,
        "mode": "conservative",
        "robustness_seeds": 0,
    }
    entries = mapping["targets"]
    assert entries["compensation_growth_cagr"] == {
        "metric": "compensation_growth_cagr",
        "target_value": 0.04,
        "tolerance": 0.0005,
        "priority": "high",
    }  # a horizon metric takes no year
    assert entries["median_merit_increase_2"] == {
        "metric": "median_merit_increase",
        "target_value": 0.03,
        "year": 2026,
    }  # blank tolerance: the default relative one
    targets = load_targets(mapping)
    assert [target.name for target in targets.targets] == list(entries)
    assert targets.mode == "conservative" and targets.levers == ("merit_base", "cola_rate")


def test_the_starting_point_splits_the_growth_target_from_the_others() -> None:
    targets = load_targets(
        {
            "optimization": {"mode": "aggressive", "max_iterations": 6},
            "targets": {
                "median_merit_increase": {"target_value": 0.035, "tolerance": 0.001},
                "average_compensation_growth": {"target_value": 0.05, "tolerance": 0.002},
            },
        }
    )
    start = views.starting_point(targets)
    assert start.growth == views.GrowthTarget("average_compensation_growth", 5.0, 0.2, "medium")
    assert list(start.rows["metric"]) == ["median_merit_increase"]
    assert (start.mode, start.max_iterations) == ("aggressive", 6)
    assert views.starting_point(None).growth == views.DEFAULT_GROWTH


def test_downloads_hold_every_metric(workspace: Workspace) -> None:
    metrics = application.run_results(workspace, 1).metrics
    long = tables.metrics_long(metrics, 1)
    assert set(long.loc[long["simulation_year"].isna(), "metric"]) == set(metrics.horizon)
    workbook = openpyxl.load_workbook(
        io.BytesIO(tables.excel_bytes({"metrics": tables.metrics_wide(metrics), "long": long}))
    )
    assert workbook.sheetnames == ["metrics", "long"]
    assert workbook["metrics"].max_row == len(metrics.years) + 1


def test_a_run_executes_in_process_unless_the_workspace_has_a_dagster_instance(
    workspace: Workspace,
) -> None:
    way = launch.execution(workspace)
    assert not way.through_dagster
    assert way.description.startswith("Runs happen in this app's process, not through Dagster")
    workspace.dagster_home.mkdir()
    (workspace.dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    way = launch.execution(workspace)
    assert way.through_dagster and way.job == launch.APP_JOB  # the job without the dbt marts
    assert way.description.startswith("Runs go through Dagster (job `app_simulation`")
    assert way.description.count(".") == 1  # one plain sentence


def test_the_csv_download_has_counts_as_integers_and_money_to_the_cent(
    workspace: Workspace,
) -> None:
    metrics = application.run_results(workspace, 1).metrics
    text = tables.metrics_long(metrics, 1).to_csv(index=False)
    rows = list(csv.DictReader(io.StringIO(text)))
    first = {row["metric"]: row for row in rows if row["simulation_year"] == "2025"}
    assert first["headcount"]["value"].isdigit()  # 1523, not 1523.0
    assert first["headcount"]["label"] == "Headcount"
    whole, _, cents = first["total_compensation_cost"]["value"].partition(".")
    assert whole.isdigit() and len(cents) <= 2
    assert first["total_compensation_cost"]["unit"] == "USD"
    horizon = [row for row in rows if row["simulation_year"] == ""]  # not "nan" or "2029.0"
    assert {row["metric"] for row in horizon} == set(metrics.horizon)


@pytest.mark.parametrize(
    ("unit", "values", "expected"),
    [
        pytest.param("currency", [1.2e9, 1.6e9], ("Cost ($B)", "$", "B", 1e-9), id="billions"),
        pytest.param("currency", [52e6], ("Cost ($M)", "$", "M", 1e-6), id="millions"),
        pytest.param("rate", [0.035], ("Cost (%)", "", "%", 100.0), id="percent"),
    ],
)
def test_chart_axes_name_their_unit(
    unit: str, values: list[float], expected: tuple[str, str, str, float]
) -> None:
    axis = charts.axis_for(unit, values, "Cost")
    assert (axis.title, axis.prefix, axis.suffix) == expected[:3]
    assert axis.scaled([1.0]) == [pytest.approx(expected[3])]


@pytest.mark.parametrize(
    ("text", "number"),
    [("3.5", 3.5), (" 3.5 % ", 3.5), ("×1.05", 1.05), ("12,000", 12000.0), ("−0.5", -0.5)],
)
def test_a_number_field_reads_what_an_analyst_types(text: str, number: float) -> None:
    assert entries.parse_number(text) == number


def test_a_number_field_refuses_what_is_not_a_number() -> None:
    assert [entries.parse_number(text) for text in ("", "abc", "4,5x", "nan", "inf")] == [None] * 5
