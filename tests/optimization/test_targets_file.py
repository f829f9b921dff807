"""The targets file is validated up front, with a message naming the key (tuning-loop.md).

Every bad input is rejected before anything is simulated or stored; the reference story's
format is accepted, its keys we do not need reported as ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tuning_support import FAMILIES, planwise, query, write_targets

from planwise import application
from planwise.application import OptimizeRequest, Workspace
from planwise.errors import UserError, ValidationFailed
from planwise.optimization import load_targets
from planwise.parameters.levers import Lever, LeverSet
from planwise.storage import parameter_store

CAGR = {"compensation_growth_cagr": {"target_value": 0.045, "tolerance": 0.0005}}


def _file(**optimization: Any) -> dict[str, Any]:
    return {"optimization": optimization, "targets": CAGR}


BAD_TARGETS = [
    pytest.param(
        {"targets": {"salary_growth": {"target_value": 0.03, "tolerance": 0.001}}},
        ["targets.salary_growth", "unknown metric 'salary_growth'", "median_merit_increase"],
        id="unknown metric",
    ),
    pytest.param(
        {"optimisation": {"max_iterations": 5}, "targets": CAGR},
        ["unknown top-level key 'optimisation'"],
        id="unknown top-level key",
    ),
    pytest.param(
        _file(max_iteration=5),
        ["optimization.max_iteration", "Extra inputs are not permitted"],
        id="unknown key in optimization",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "tolerence": 10}}},
        ["targets.headcount.tolerence", "Extra inputs are not permitted"],
        id="unknown key in a target",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "tolerance": 0}}},
        ["targets.headcount.tolerance", "greater than 0"],
        id="absolute tolerance 0",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "tolerance": -5}}},
        ["targets.headcount.tolerance", "greater than 0"],
        id="absolute tolerance negative",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "tolerance_pct": 0}}},
        ["targets.headcount.tolerance_pct", "greater than 0"],
        id="relative tolerance 0",
    ),
    pytest.param(
        _file(convergence_tolerance=-0.01),
        ["optimization.convergence_tolerance", "greater than 0"],
        id="default tolerance negative",
    ),
    pytest.param(
        _file(tolerance=0),
        ["optimization.tolerance", "greater than 0"],
        id="reference default tolerance 0",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "tolerance": 10, "tolerance_pct": 0.01}}},
        ["targets.headcount", "either tolerance_pct (relative) or tolerance (absolute), not both"],
        id="tolerance_pct and tolerance both",
    ),
    pytest.param(
        {"targets": {"headcount_growth": {"target_value": 0, "tolerance_pct": 0.05}}},
        ["targets.headcount_growth", "target_value of 0", "absolute `tolerance:`"],
        id="relative tolerance on target 0",
    ),
    pytest.param(
        {"targets": {"headcount_growth": {"target_value": 0}}},
        ["targets.headcount_growth", "target_value of 0", "absolute `tolerance:`"],
        id="default relative tolerance on target 0",
    ),
    pytest.param(
        {"targets": {"compensation_growth_cagr": {"target_value": 0.04, "year": 2026}}},
        ["targets.compensation_growth_cagr.year", "covers the whole horizon"],
        id="horizon metric with a year",
    ),
    pytest.param(
        {"targets": {"cumulative_compensation_cost": {"target_value": 3e8, "year": "each"}}},
        ["targets.cumulative_compensation_cost.year", "covers the whole horizon"],
        id="horizon metric with year each",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "year": "last"}}},
        ["targets.headcount.year", "'final', 'each' or 'average'"],
        id="unknown year word",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": 1500, "priority": "urgent"}}},
        ["targets.headcount.priority", "'high', 'medium' or 'low'"],
        id="unknown priority",
    ),
    pytest.param(
        {"targets": {"headcount": {"target_value": float("nan")}}},
        ["targets.headcount", "finite"],
        id="target value not a number",
    ),
    pytest.param(
        _file(levers=["merit_base", "merit_rate"]),
        ["unknown lever 'merit_rate'", "known: cola_rate, merit_base"],
        id="unknown lever",
    ),
    pytest.param(
        _file(bounds={"merit_pct": [0.0, 0.1]}),
        ["unknown lever 'merit_pct'"],
        id="unknown lever in bounds",
    ),
    pytest.param(
        _file(levers=[]),
        ["levers must name at least one lever"],
        id="no lever",
    ),
    pytest.param(
        _file(bounds={"merit_base": [0.0, 0.30]}),
        ["bounds of merit_base", "0 ≤ low < high ≤ 0.25", "[0, 0.3]"],
        id="bounds above the error range",
    ),
    pytest.param(
        _file(bounds={"cola_rate": [-0.01, 0.05]}),
        ["bounds of cola_rate", "0 ≤ low < high ≤ 0.15", "[-0.01, 0.05]"],
        id="bounds below the error range",
    ),
    pytest.param(
        _file(bounds={"merit_base": [0.06, 0.04]}),
        ["bounds of merit_base", "low < high", "[0.06, 0.04]"],
        id="bounds low above high",
    ),
    pytest.param(
        _file(bounds={"merit_base": [0.05, 0.05]}),
        ["bounds of merit_base", "low < high", "[0.05, 0.05]"],
        id="bounds low equal high",
    ),
    pytest.param(
        _file(mode="greedy"),
        ["optimization.mode", "'conservative', 'balanced' or 'aggressive'"],
        id="unknown mode",
    ),
    pytest.param(
        _file(max_iterations=0),
        ["optimization.max_iterations", "greater than or equal to 1"],
        id="max_iterations 0",
    ),
    pytest.param(
        {"optimization": {"max_iterations": 5}},
        ["non-empty `targets:` mapping"],
        id="no targets",
    ),
]


@pytest.mark.parametrize("content,expected", BAD_TARGETS)
def test_a_bad_targets_file_is_rejected_naming_the_key(
    content: dict[str, Any], expected: list[str], tmp_path: Path
) -> None:
    path = write_targets(tmp_path / "targets.yaml", content)

    with pytest.raises(UserError) as raised:
        load_targets(path)

    message = str(raised.value)
    for fragment in expected:
        assert fragment in message, message


@pytest.mark.parametrize(
    "text,expected",
    [
        pytest.param("targets: [unclosed\n", "not valid YAML", id="not YAML"),
        pytest.param("targets:\n  headcount: {target_value: 1\n", "not valid YAML", id="bad flow"),
        pytest.param("- a list\n- of targets\n", "must be a mapping", id="not a mapping"),
    ],
)
def test_a_file_that_is_not_a_targets_mapping_is_rejected(
    text: str, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ValidationFailed, match=expected) as raised:
        load_targets(path)
    assert str(path) in str(raised.value)


def test_a_missing_targets_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "targets.yaml"

    with pytest.raises(UserError, match="does not exist") as raised:
        load_targets(missing)
    assert str(missing) in str(raised.value)


REFERENCE_STORY = """\
optimization:
  max_iterations: 10
  convergence_tolerance: 0.02
  adjustment_factor: 0.1
  parallel_scenarios: false

targets:
  total_compensation_cost:
    target_value: 50000000  # $50M
    tolerance_pct: 0.02     # ±2%
    priority: high

  median_merit_increase:
    target_value: 0.04      # 4%
    tolerance_pct: 0.05     # ±5%
    priority: medium
"""


def test_the_reference_story_format_is_accepted_and_its_extra_keys_reported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "targets.yaml"
    path.write_text(REFERENCE_STORY, encoding="utf-8")

    targets = load_targets(path)

    assert targets.max_iterations == 10
    assert targets.mode == "balanced"
    assert targets.levers == FAMILIES
    cost, merit = targets.targets
    assert (cost.metric, cost.target_value, cost.priority, cost.weight, cost.year) == (
        "total_compensation_cost",
        50_000_000,
        "high",
        3.0,
        "final",
    )
    assert cost.tolerance == pytest.approx(1_000_000)  # 2 % of the target
    assert (merit.metric, merit.target_value, merit.priority, merit.weight) == (
        "median_merit_increase",
        0.04,
        "medium",
        2.0,
    )
    assert merit.tolerance == pytest.approx(0.002)  # 5 % of the target
    assert set(targets.ignored) == {
        "optimization.adjustment_factor",
        "optimization.parallel_scenarios",
    }


def test_the_reference_tolerance_is_the_default_relative_tolerance() -> None:
    targets = load_targets(
        {
            "optimization": {"max_iterations": 4, "tolerance": 0.05},
            "targets": {
                "median_merit_increase": {"target_value": 0.04, "adjustment_factor": 0.2},
                "headcount": {"target_value": 1600, "tolerance": 12, "priority": "low"},
            },
        }
    )

    merit, headcount = targets.targets
    assert merit.tolerance == pytest.approx(0.002)  # 5 % of 0.04
    assert headcount.tolerance == 12
    assert headcount.weight == 1.0
    assert targets.ignored == ("targets.median_merit_increase.adjustment_factor",)


def test_command_line_overrides_beat_the_file() -> None:
    targets = load_targets(
        _file(mode="balanced", max_iterations=10),
        mode="aggressive",
        max_iterations=3,
    )

    assert (targets.mode, targets.max_iterations) == ("aggressive", 3)


def _optimization_count(workspace: Workspace) -> int:
    [(count,)] = query(workspace, "SELECT count(*) FROM optimization_runs")
    return int(count)


@pytest.mark.parametrize(
    "year", [2024, 2028], ids=["before the first simulated year", "after the last"]
)
def test_a_target_year_outside_the_simulated_years_is_rejected_before_simulating(
    shared_workspace: Workspace, year: int
) -> None:
    before = _optimization_count(shared_workspace)
    targets = {
        "targets": {
            "cost": {"metric": "total_compensation_cost", "target_value": 2e8, "year": year}
        }
    }

    with pytest.raises(UserError) as raised:
        application.optimize(shared_workspace, OptimizeRequest(targets))

    assert str(raised.value).startswith(f"targets.cost.year = {year} is outside")
    assert "2025–2027" in str(raised.value)
    assert _optimization_count(shared_workspace) == before


def test_every_lever_locked_for_every_year_is_rejected_before_simulating(
    workspace: Workspace,
) -> None:
    settings = workspace.settings()
    with workspace.database().transaction() as connection:
        active = parameter_store.active_parameter_set_id(connection, "default")
        assert active is not None
        current = parameter_store.load_lever_set(connection, active)
        locked = LeverSet(
            "default",
            tuple(
                Lever(lever.parameter_name, lever.fiscal_year, lever.job_level, lever.value, True)
                if lever.parameter_name in ("merit_base", "cola_rate")
                else lever
                for lever in current.levers
            ),
        )
        parameter_store.create_parameter_set(
            connection, locked, source="edit", created_by="test", parent_id=active
        )
    assert all(
        lever.fiscal_year == settings.start_year for lever in locked.levers if lever.is_locked
    )  # locked in the first year, so locked in every year

    with pytest.raises(UserError, match="No lever may move") as raised:
        application.optimize(workspace, OptimizeRequest(_file(levers=["merit_base", "cola_rate"])))

    assert "locked" in str(raised.value)
    assert _optimization_count(workspace) == 0


@pytest.mark.parametrize(
    "content,expected",
    [
        pytest.param(_file(mode="greedy"), "optimization.mode", id="bad mode"),
        pytest.param(
            {"targets": {"salary_growth": {"target_value": 0.03}}},
            "unknown metric 'salary_growth'",
            id="unknown metric",
        ),
    ],
)
def test_the_command_line_rejects_a_bad_targets_file_with_one_paragraph(
    shared_workspace: Workspace, tmp_path: Path, content: dict[str, Any], expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")

    result = planwise(shared_workspace, "optimize", "--targets", str(path))

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert "\n\n" not in result.stderr.strip()  # one paragraph
    assert result.stdout == ""


def test_the_command_line_names_a_missing_targets_file(
    shared_workspace: Workspace, tmp_path: Path
) -> None:
    result = planwise(shared_workspace, "optimize", "--targets", str(tmp_path / "none.yaml"))

    assert result.exit_code == 1
    assert "none.yaml does not exist" in result.stderr
    assert "Traceback" not in result.output
