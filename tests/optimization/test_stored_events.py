"""Storage stays bounded: a loop's full simulations all keep their metrics and parameter
sets, but only the start and the answer keep their event log (configurable), and the
answer's events are exactly those of simulating its parameter set."""

from __future__ import annotations

from typing import Any

import pytest
from tuning_support import query

from planwise import application
from planwise.application import OptimizeRequest, SimulateRequest, Workspace

TARGETS: dict[str, Any] = {
    "optimization": {"levers": ["merit_base", "cola_rate"]},
    "targets": {"compensation_growth_cagr": {"target_value": 0.075, "tolerance": 0.0005}},
}


def _events_per_run(workspace: Workspace, optimization_id: int) -> dict[int, int]:
    rows = query(
        workspace,
        "SELECT run.run_id, count(event.run_id) FROM simulation_runs AS run "
        "LEFT JOIN simulation_events AS event USING (run_id) "
        "WHERE run.optimization_id = ? GROUP BY run.run_id ORDER BY run.run_id",
        [optimization_id],
    )
    return {int(run_id): int(count) for run_id, count in rows}


def _fingerprint(workspace: Workspace, run_id: int) -> list[tuple[Any, ...]]:
    return query(
        workspace,
        "SELECT * EXCLUDE (run_id) FROM fct_yearly_events WHERE run_id = ? "
        "ORDER BY simulation_year, employee_key, event_sequence",
        [run_id],
    )


def test_only_the_start_and_the_answer_keep_their_events(workspace: Workspace) -> None:
    result = application.optimize(workspace, OptimizeRequest(targets=TARGETS, mode="balanced"))
    assert result.converged and result.simulations >= 2
    events = _events_per_run(workspace, result.optimization_id)
    start_run = next(r.run_id for r in result.iterations if r.kind == "start")
    kept = {run_id for run_id, count in events.items() if count}
    assert kept == {start_run, result.best_run_id}
    assert len(events) == result.simulations  # every full simulation kept its metrics
    metrics = query(
        workspace,
        "SELECT DISTINCT run_id FROM simulation_metrics WHERE run_id IN "
        "(SELECT run_id FROM simulation_runs WHERE optimization_id = ?)",
        [result.optimization_id],
    )
    assert {run_id for (run_id,) in metrics} == set(events)
    # The answer's events, added by a pay replay at the end, are exactly a simulation's.
    again = application.simulate(
        workspace, SimulateRequest(parameter_set_id=result.best_parameter_set_id)
    )
    assert result.best_run_id is not None
    assert _fingerprint(workspace, result.best_run_id) == _fingerprint(workspace, again.run_id)


@pytest.mark.parametrize("setting", ["all", "start_and_answer"])
def test_the_choice_is_a_targets_file_setting(workspace: Workspace, setting: str) -> None:
    targets = {**TARGETS, "optimization": {**TARGETS["optimization"], "store_events": setting}}
    result = application.optimize(workspace, OptimizeRequest(targets=targets))
    kept = [count > 0 for count in _events_per_run(workspace, result.optimization_id).values()]
    assert all(kept) if setting == "all" else kept.count(True) <= 2
