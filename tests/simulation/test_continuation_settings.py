"""A continued run keeps the settings and levers it was made with (regression).

Defect: `continue_simulation` read today's planwise.yaml and today's active default set,
so a run continued after an edit silently mixed two parameterizations.
"""

from __future__ import annotations

from pathlib import Path

from planwise import service
from planwise.config import Settings
from planwise.parameters import operations
from planwise.simulation.rules import round_half_up
from planwise.storage import runs
from planwise.workspace import Workspace


def test_continued_run_uses_its_own_settings_and_default_set(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    service.init_workspace(workspace, Settings(years=2))
    service.generate_census_into(workspace, 800, 5)
    operations.create_scenario(workspace, "lean")
    first = service.run_simulation(workspace, scenario_id="lean")
    together = service.run_simulation(workspace, scenario_id="lean", years=3)

    # Edit the workspace after the run: other growth, other default merit.
    changed = workspace.settings().model_copy(update={"target_growth_rate": -0.15})
    workspace.write_settings(changed)
    operations.set_lever(workspace, "merit_base", 0.07)

    continued = service.continue_simulation(workspace, first.run_id, 1)
    last = continued.metrics.per_year[2027]
    start = continued.metrics.per_year[2026]["headcount"]
    assert last["headcount"] == round_half_up(start * 1.03)
    assert last == together.metrics.per_year[2027]
    with workspace.database().connect(read_only=True) as connection:
        record = runs.load_run(connection, first.run_id)
    assert record.end_year == 2027
    assert record.settings.target_growth_rate == 0.03
