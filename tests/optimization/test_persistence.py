"""The whole path of an optimization is stored, can be applied, rolled back and resumed
(tuning-loop.md, "Persistence, rollback, resume"); locks and bounds hold in every stored set.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tuning_support import active_set_id, planwise, query, stored_levers

from planwise import application
from planwise.application import OptimizeRequest, ResumeRequest, Workspace
from planwise.application import pipeline as pipeline_module
from planwise.errors import UserError
from planwise.optimization import OptimizationResult
from planwise.parameters.levers import Lever, LeverSet
from planwise.simulation.engine import simulate_planned
from planwise.storage import parameter_store

MERIT_AND_COLA = ["merit_base", "cola_rate"]


def _cagr(value: float, **optimization: Any) -> dict[str, Any]:
    return {
        "optimization": {"levers": MERIT_AND_COLA, **optimization},
        "targets": {"compensation_growth_cagr": {"target_value": value, "tolerance": 0.0005}},
    }


def _merit_and_cost(**optimization: Any) -> dict[str, Any]:
    """Moves merit and COLA by different amounts per level (balanced mode)."""
    return {
        "optimization": {"levers": MERIT_AND_COLA, **optimization},
        "targets": {
            "median_merit_increase": {"target_value": 0.05, "tolerance": 0.001},
            "compensation_growth_cagr": {"target_value": 0.085, "tolerance": 0.0005},
        },
    }


def _full(result: OptimizationResult) -> list[Any]:
    return [record for record in result.iterations if record.is_simulation]


def _stored_set_ids(workspace: Workspace, optimization_id: int) -> list[int]:
    rows = query(
        workspace,
        "SELECT parameter_set_id FROM optimization_iterations "
        "WHERE optimization_id = ? AND parameter_set_id IS NOT NULL ORDER BY iteration",
        [optimization_id],
    )
    return [int(set_id) for (set_id,) in rows]


def test_every_iteration_is_stored_with_its_parameter_set_and_run(workspace: Workspace) -> None:
    result = application.optimize(workspace, OptimizeRequest(_merit_and_cost()))
    assert result.converged

    rows = query(
        workspace,
        "SELECT iteration, kind, parameter_set_id, run_id, within_tolerance, error "
        "FROM optimization_iterations WHERE optimization_id = ? ORDER BY iteration",
        [result.optimization_id],
    )
    assert [row[0] for row in rows] == list(range(len(result.iterations)))
    assert [(row[1], row[2], row[3]) for row in rows] == [
        (record.kind, record.parameter_set_id, record.run_id) for record in result.iterations
    ]
    assert all(row[5] is None for row in rows)
    assert rows[0][1] == "start" and rows[0][2] == result.start_parameter_set_id
    full = [row for row in rows if row[3] is not None]
    replays = [row for row in rows if row[1] == "replay"]
    assert len(full) == result.simulations >= 2
    assert len(replays) == result.replays > 0
    assert all(row[2] is None and row[3] is None for row in replays)

    [summary] = query(
        workspace,
        "SELECT status, converged, iterations, simulations, replays, best_parameter_set_id, "
        "start_parameter_set_id, stop_reason, finished_at IS NOT NULL "
        "FROM optimization_runs WHERE optimization_id = ?",
        [result.optimization_id],
    )
    assert summary == (
        "converged",
        True,
        len(result.iterations),
        result.simulations,
        result.replays,
        result.best_parameter_set_id,
        result.start_parameter_set_id,
        "converged",
        True,
    )

    # each step's parameter set: source optimizer, not active, parent = the previous full one
    previous = result.start_parameter_set_id
    for _, _, set_id, _, _, _ in full[1:]:
        [(source, parent, active)] = query(
            workspace,
            "SELECT source, parent_id, is_active FROM parameter_sets WHERE parameter_set_id = ?",
            [set_id],
        )
        assert (source, parent, active) == ("optimizer", previous, False)
        previous = set_id
    for _, _, set_id, run_id, _, _ in full:
        [(purpose, optimization_id, run_set, status)] = query(
            workspace,
            "SELECT purpose, optimization_id, parameter_set_id, status FROM simulation_runs "
            "WHERE run_id = ?",
            [run_id],
        )
        assert (purpose, optimization_id, run_set) == (
            "optimization",
            result.optimization_id,
            set_id,
        )
        assert status == "completed"
    assert result.best_parameter_set_id == full[-1][2]
    assert active_set_id(workspace) == result.start_parameter_set_id


def _levers_file_rows(path: Path) -> set[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            (
                row["scenario_id"],
                row["fiscal_year"],
                row["job_level"],
                row["parameter_name"],
                row["parameter_value"],
                row["is_locked"],
            )
            for row in csv.DictReader(handle)
        }


def test_apply_makes_the_best_set_active_and_rollback_restores_the_earlier_values(
    workspace: Workspace,
) -> None:
    before_id = active_set_id(workspace)
    assert before_id is not None
    before_file = _levers_file_rows(workspace.levers_path)

    result = application.optimize(workspace, OptimizeRequest(_cagr(0.075), apply=True))

    assert result.converged and result.applied
    assert active_set_id(workspace) == result.best_parameter_set_id != before_id
    assert _levers_file_rows(workspace.levers_path) != before_file  # the export followed

    rolled = planwise(workspace, "levers", "rollback", str(before_id), "--json")

    assert rolled.exit_code == 0, rolled.output
    restored_id = active_set_id(workspace)
    assert restored_id == json.loads(rolled.stdout)["parameter_set_id"]
    assert restored_id not in (before_id, result.best_parameter_set_id)
    with workspace.database().connect(read_only=True) as connection:
        original = parameter_store.load_lever_set(connection, before_id)
        restored = parameter_store.load_lever_set(connection, restored_id)
        history = [
            record.parameter_set_id for record in parameter_store.list_parameter_sets(connection)
        ]
    assert [(lever.key, lever.value, lever.is_locked) for lever in restored] == [
        (lever.key, lever.value, lever.is_locked) for lever in original
    ]
    assert {before_id, result.best_parameter_set_id, restored_id} <= set(history)
    assert _levers_file_rows(workspace.levers_path) == before_file


class _EngineFailure(RuntimeError):
    pass


def _failing_on(call: int) -> Callable[..., Any]:
    real = simulate_planned
    calls = {"count": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        if calls["count"] == call:
            raise _EngineFailure("disk full while simulating")
        return real(*args, **kwargs)

    return failing


def test_a_failed_iteration_is_recorded_and_the_optimization_resumes_to_convergence(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline_module, "simulate_planned", _failing_on(2))
    with pytest.raises(_EngineFailure):
        application.optimize(workspace, OptimizeRequest(_cagr(0.075)))
    monkeypatch.undo()

    [(optimization_id, status, best, stop_reason)] = query(
        workspace,
        "SELECT optimization_id, status, best_parameter_set_id, stop_reason FROM optimization_runs",
    )
    assert (status, stop_reason) == ("failed", "failed")
    rows = query(
        workspace,
        "SELECT iteration, kind, parameter_set_id, run_id, metrics, error "
        "FROM optimization_iterations WHERE optimization_id = ? ORDER BY iteration",
        [optimization_id],
    )
    start, *between, failed = rows
    assert start[1] == "start" and start[2] == best and start[3] is not None and start[5] is None
    assert json.loads(start[4])  # the start's metrics are intact
    assert all(row[1] == "replay" and row[5] is None for row in between)
    assert failed[1] == "failed" and failed[2] is None and failed[3] is None
    assert "_EngineFailure: disk full while simulating" in failed[5]
    with pytest.raises(UserError, match=f"--resume {optimization_id}"):
        application.show_optimization(workspace, optimization_id)
    [(runs_before,)] = query(workspace, "SELECT count(*) FROM simulation_runs")

    # targets come from the store
    resumed = application.resume_optimization(workspace, ResumeRequest(optimization_id))

    assert resumed.optimization_id == optimization_id
    assert resumed.converged and resumed.stop_reason == "converged"
    assert [record.iteration for record in resumed.iterations] == list(
        range(len(resumed.iterations))
    )
    kinds = [record.kind for record in resumed.iterations]
    assert kinds[: len(rows)] == [row[1] for row in rows]  # earlier iterations kept as stored
    assert "resume" in kinds[len(rows) :]
    [(status, converged, iterations)] = query(
        workspace,
        "SELECT status, converged, iterations FROM optimization_runs WHERE optimization_id = ?",
        [optimization_id],
    )
    assert (status, converged, iterations) == ("converged", True, len(resumed.iterations))
    [(runs_after,)] = query(workspace, "SELECT count(*) FROM simulation_runs")
    assert runs_after - runs_before == sum(
        1 for record in resumed.iterations[len(rows) :] if record.run_id is not None
    )
    assert application.show_optimization(workspace, optimization_id).converged


LOCKED_LEVELS = (1, 2)


def _lock_merit_levels(workspace: Workspace, levels: tuple[int, ...]) -> dict[int, float]:
    """A new active set whose merit_base rows of `levels` are locked; returns their values."""
    with workspace.database().transaction() as connection:
        active = parameter_store.active_parameter_set_id(connection, "default")
        assert active is not None
        current = parameter_store.load_lever_set(connection, active)
        rows = tuple(
            Lever(lever.parameter_name, lever.fiscal_year, lever.job_level, lever.value, True)
            if lever.parameter_name == "merit_base" and lever.job_level in levels
            else lever
            for lever in current.levers
        )
        parameter_store.create_parameter_set(
            connection,
            LeverSet("default", rows),
            source="edit",
            created_by="analyst",
            parent_id=active,
            note="lock merit of levels 1-2",
        )
    return {
        lever.job_level: lever.value
        for lever in rows
        if lever.parameter_name == "merit_base" and lever.job_level in levels
    }


@pytest.mark.parametrize("mode", ["conservative", "balanced", "aggressive"])
def test_locked_values_never_move_in_any_stored_iteration(workspace: Workspace, mode: str) -> None:
    locked = _lock_merit_levels(workspace, LOCKED_LEVELS)

    result = application.optimize(workspace, OptimizeRequest(_cagr(0.08, mode=mode)))

    set_ids = _stored_set_ids(workspace, result.optimization_id)
    assert len(set(set_ids)) >= 2
    sets = stored_levers(workspace, sorted(set(set_ids)))
    start = sets[result.start_parameter_set_id].values["merit_base"]
    unlocked_moved = False
    for levers in sets.values():
        merit = levers.values["merit_base"]
        for level, value in locked.items():
            assert (merit[:, level] == value).all(), (mode, level, merit[:, level])
            assert levers.locked["merit_base"][:, level].all()
        unlocked_moved |= not np.array_equal(merit[:, 3:], start[:, 3:])
    assert unlocked_moved  # the unlocked levels did move: the locks were what held
    assert result.converged


BOUNDS = {"merit_base": (0.025, 0.045), "cola_rate": (0.015, 0.03)}


@pytest.mark.parametrize("mode", ["conservative", "balanced"])
def test_moved_values_stay_inside_the_bounds_in_every_stored_set(
    shared_workspace: Workspace, mode: str
) -> None:
    """A CAGR out of reach within the bounds pushes the levers onto them at the first step."""
    bounds = {name: list(pair) for name, pair in BOUNDS.items()}
    targets = _cagr(0.12, mode=mode, bounds=bounds, max_iterations=2)

    result = application.optimize(shared_workspace, OptimizeRequest(targets))

    assert not result.converged
    set_ids = _stored_set_ids(shared_workspace, result.optimization_id)
    assert len(set(set_ids)) == 2
    sets = stored_levers(shared_workspace, set_ids)
    tops = dict.fromkeys(BOUNDS, 0.0)
    for levers in sets.values():
        for family, (low, high) in BOUNDS.items():
            values = levers.values[family][:, 1:]
            assert (values >= low).all() and (values <= high).all(), (family, values)
            tops[family] = max(tops[family], float(values.max()))
    # the bounds were reached, so they are what held the levers back
    assert tops == pytest.approx({family: high for family, (_, high) in BOUNDS.items()})


def test_show_json_equals_the_stored_result(shared_workspace: Workspace) -> None:
    result = application.optimize(shared_workspace, OptimizeRequest(_cagr(0.07)))

    shown = planwise(shared_workspace, "optimize", "show", str(result.optimization_id), "--json")
    listed = planwise(shared_workspace, "optimize", "list", "--json")

    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout) == json.loads(json.dumps(result.to_dict(), default=str))
    assert listed.exit_code == 0, listed.output
    [row] = [
        row
        for row in json.loads(listed.stdout)["optimizations"]
        if row["optimization_id"] == result.optimization_id
    ]
    assert (row["status"], row["simulations"], row["best_parameter_set_id"]) == (
        "converged" if result.converged else "not_converged",
        result.simulations,
        result.best_parameter_set_id,
    )


def test_show_names_an_unknown_optimization(shared_workspace: Workspace) -> None:
    shown = planwise(shared_workspace, "optimize", "show", "9999")

    assert shown.exit_code == 1
    assert "no optimization 9999" in shown.stderr
    assert "Traceback" not in shown.output
