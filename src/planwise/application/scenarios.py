"""Scenarios and the history of parameter sets: create, list, history, diff."""

from __future__ import annotations

from dataclasses import dataclass

from planwise.application.workspace import Workspace
from planwise.application.workspaces import current_user
from planwise.errors import UserError
from planwise.parameters.levers import DEFAULT_SCENARIO, ResolvedDifference, diff_resolved
from planwise.parameters.sources import SetSource
from planwise.parameters.validation import check_scenario_id
from planwise.storage import parameter_store
from planwise.storage.parameter_store import ParameterSetRecord, ScenarioRecord

__all__ = [
    "CreateScenarioRequest",
    "LeverSetDiff",
    "ScenarioCreated",
    "create_scenario",
    "diff_parameter_sets",
    "lever_history",
    "list_scenarios",
]


@dataclass(frozen=True)
class LeverSetDiff:
    """Two stored sets, the older first, and what a simulation would use differently from
    the older to the newer (resolved per simulated year and level)."""

    before: ParameterSetRecord
    after: ParameterSetRecord
    differences: tuple[ResolvedDifference, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "differences": [difference.as_dict() for difference in self.differences],
        }


@dataclass(frozen=True)
class ScenarioCreated:
    scenario_id: str
    from_scenario: str
    source_parameter_set_id: int
    parameter_set_id: int


def lever_history(workspace: Workspace, scenario_id: str | None = None) -> list[ParameterSetRecord]:
    """Every stored parameter set (of one scenario, if given), oldest first."""
    with workspace.database().connect(read_only=True) as connection:
        if scenario_id is not None:
            parameter_store.require_scenario(connection, scenario_id)
        return parameter_store.list_parameter_sets(connection, scenario_id)


def diff_parameter_sets(workspace: Workspace, first_id: int, second_id: int) -> LeverSetDiff:
    """What changes from the older of two stored sets to the newer (any scenarios), as a
    simulation of the workspace's years would resolve them."""
    before_id, after_id = sorted((first_id, second_id))
    settings = workspace.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    with workspace.database(settings).connect(read_only=True) as connection:
        before = parameter_store.load_parameter_set(connection, before_id)
        after = parameter_store.load_parameter_set(connection, after_id)
        _, _, resolved_before = parameter_store.load_levers(
            connection, settings, before.scenario_id, years, before_id
        )
        _, _, resolved_after = parameter_store.load_levers(
            connection, settings, after.scenario_id, years, after_id
        )
    return LeverSetDiff(before, after, diff_resolved(resolved_before, resolved_after))


@dataclass(frozen=True)
class CreateScenarioRequest:
    scenario_id: str
    from_scenario: str = DEFAULT_SCENARIO
    note: str | None = None
    created_by: str | None = None


def create_scenario(workspace: Workspace, request: CreateScenarioRequest) -> ScenarioCreated:
    """A new scenario whose first set copies the active set of `from_scenario`."""
    scenario_id, from_scenario = request.scenario_id, request.from_scenario
    message = check_scenario_id(scenario_id)
    if message is not None:
        raise UserError(message[0].upper() + message[1:] + ".")
    database = workspace.database()
    with database.connect(read_only=True) as connection:
        if parameter_store.scenario_exists(connection, scenario_id):
            raise UserError(
                f"Scenario '{scenario_id}' already exists; 'planwise levers scenario list' "
                "lists the scenarios."
            )
        parameter_store.require_scenario(connection, from_scenario)
        source_id, source = parameter_store.active_lever_set(connection, from_scenario)
    if source_id is None:
        raise UserError(f"Scenario '{from_scenario}' has no active parameter set to copy.")
    author = request.created_by or current_user()
    with database.transaction() as connection:
        if parameter_store.scenario_exists(connection, scenario_id):
            raise UserError(f"Scenario '{scenario_id}' was created meanwhile; nothing stored.")
        parameter_store.ensure_scenario(
            connection, scenario_id, author, from_scenario, request.note
        )
        set_id = parameter_store.create_parameter_set(
            connection,
            source.for_scenario(scenario_id),
            source=SetSource.INIT,
            created_by=author,
            parent_id=source_id,
            note=f"copied from scenario {from_scenario} (set {source_id})",
        )
    return ScenarioCreated(scenario_id, from_scenario, source_id, set_id)


def list_scenarios(workspace: Workspace) -> list[ScenarioRecord]:
    """Every scenario with its active parameter set."""
    with workspace.database().connect(read_only=True) as connection:
        return parameter_store.list_scenarios(connection)
