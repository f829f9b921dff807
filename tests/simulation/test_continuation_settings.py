"""A continued run keeps the settings and levers it was made with (regression).

Defect: `continue_simulation` read today's planwise.yaml and today's active default set,
so a run continued after an edit silently mixed two parameterizations.
"""

from __future__ import annotations

from pathlib import Path

from planwise import application
from planwise.application import (
    CreateScenarioRequest,
    EditLeversRequest,
    GenerateCensusRequest,
    LeverEdit,
    SimulateRequest,
    Workspace,
)
from planwise.config import Settings
from planwise.simulation.rules import round_half_up
from planwise.storage import runs


def test_continued_run_uses_its_own_settings_and_default_set(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    application.init_workspace(workspace, Settings(years=2))
    application.generate_census(workspace, GenerateCensusRequest(800, 5))
    application.create_scenario(workspace, CreateScenarioRequest("lean"))
    first = application.simulate(workspace, SimulateRequest(scenario_id="lean"))
    together = application.simulate(workspace, SimulateRequest(scenario_id="lean", years=3))

    # Edit the workspace after the run: other growth, other default merit.
    changed = workspace.settings().model_copy(update={"target_growth_rate": -0.15})
    workspace.write_settings(changed)
    application.edit_levers(workspace, EditLeversRequest((LeverEdit("merit_base", 0.07),)))

    continued = application.simulate(
        workspace, SimulateRequest(years=1, continue_run_id=first.run_id)
    )
    last = continued.metrics.per_year[2027]
    start = continued.metrics.per_year[2026]["headcount"]
    assert last["headcount"] == round_half_up(start * 1.03)
    assert last == together.metrics.per_year[2027]
    with workspace.database().connect(read_only=True) as connection:
        record = runs.load_run(connection, first.run_id)
    assert record.end_year == 2027
    assert record.settings.target_growth_rate == 0.03
