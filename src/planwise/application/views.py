"""Read models of the app's pages: which data is current, parameter sets at a glance, and
in-memory projections of lever values (nothing stored).

Cheap to call and keyed on ids of immutable data, so a shell can cache on them: a new run,
an apply or a rollback changes an id, and every page shows the new state.
"""

from __future__ import annotations

from dataclasses import dataclass

from planwise.application.workspace import Workspace
from planwise.config import Settings
from planwise.metrics import RunMetrics, measured_replay, measured_simulation
from planwise.parameters.levers import DEFAULT_SCENARIO, ResolvedLevers
from planwise.simulation.engine import PlannedRun
from planwise.simulation.state import Workforce
from planwise.storage import parameter_store
from planwise.storage.parameter_store import ParameterSetRecord

__all__ = [
    "ParameterSetSummary",
    "ProjectedChange",
    "Projection",
    "StoreState",
    "parameter_set_summaries",
    "project",
    "project_change",
    "store_state",
]


@dataclass(frozen=True)
class StoreState:
    """The ids that say which data is current; caches are keyed on them."""

    database: str
    settings_json: str
    census_id: str | None
    active_sets: tuple[tuple[str, int], ...]
    scenarios: tuple[str, ...]
    latest_run_id: int | None
    runs_version: int
    """Changes whenever a run is added or extended."""
    latest_optimization_id: int | None
    latest_parameter_set_id: int | None
    optimizations_version: int
    """Changes when an optimization stores an iteration or finishes."""

    @property
    def settings(self) -> Settings:
        return Settings.model_validate_json(self.settings_json)

    def active_set(self, scenario_id: str) -> int | None:
        return dict(self.active_sets).get(scenario_id)


def store_state(workspace: Workspace) -> StoreState:
    """One short read-only connection: the ids of everything that is current."""
    settings = workspace.settings()
    with workspace.database(settings).connect(read_only=True) as connection:
        ((census_id, latest_run, runs_version, latest_optimization, latest_set, versions),) = (
            connection.execute(
                """
                SELECT
                    (SELECT census_id FROM census_versions WHERE is_active LIMIT 1),
                    (SELECT max(run_id) FROM simulation_runs),
                    (SELECT coalesce(sum(end_year), 0) + count(*) FROM simulation_runs),
                    (SELECT max(optimization_id) FROM optimization_runs),
                    (SELECT max(parameter_set_id) FROM parameter_sets),
                    (SELECT count(finished_at) * 100003 + coalesce(sum(iterations), 0)
                     FROM optimization_runs)
                """
            ).fetchall()
        )
        active = connection.execute(
            "SELECT scenario_id, parameter_set_id FROM parameter_sets WHERE is_active "
            "ORDER BY scenario_id"
        ).fetchall()
        scenarios = [record.scenario_id for record in parameter_store.list_scenarios(connection)]
    ordered = sorted(scenarios, key=lambda scenario: (scenario != DEFAULT_SCENARIO, scenario))
    return StoreState(
        database=str(workspace.database_path),
        settings_json=settings.model_dump_json(),
        census_id=census_id,
        active_sets=tuple((str(scenario), int(set_id)) for scenario, set_id in active),
        scenarios=tuple(ordered) or (DEFAULT_SCENARIO,),
        latest_run_id=None if latest_run is None else int(latest_run),
        runs_version=int(runs_version),
        latest_optimization_id=None if latest_optimization is None else int(latest_optimization),
        latest_parameter_set_id=None if latest_set is None else int(latest_set),
        optimizations_version=int(versions or 0),
    )


@dataclass(frozen=True)
class ParameterSetSummary:
    record: ParameterSetRecord
    lever_rows: int


def parameter_set_summaries(workspace: Workspace) -> list[ParameterSetSummary]:
    """Every parameter set, newest first, with the number of lever rows it holds."""
    with workspace.database().connect(read_only=True) as connection:
        records = parameter_store.list_parameter_sets(connection)
        counts = dict(
            connection.execute(
                "SELECT parameter_set_id, count(*) FROM comp_levers GROUP BY parameter_set_id"
            ).fetchall()
        )
    return [
        ParameterSetSummary(record, int(counts.get(record.parameter_set_id, 0)))
        for record in reversed(records)
    ]


@dataclass(frozen=True)
class Projection:
    """An in-memory simulation of some levers: its plans (for replays) and its metrics."""

    planned: PlannedRun
    metrics: RunMetrics


def project(
    settings: Settings, workforce: Workforce, levers: ResolvedLevers, seed: int | None = None
) -> Projection:
    """Simulate the settings' years in memory (nothing is stored)."""
    planned, metrics = measured_simulation(
        workforce,
        settings,
        levers,
        start_year=settings.start_year,
        years=settings.years,
        seed=settings.seed if seed is None else seed,
        keep_plans=True,
    )
    return Projection(planned, metrics)


@dataclass(frozen=True)
class ProjectedChange:
    """The metrics of other lever values, and whether they were replayed exactly on the
    reference's plans or needed a full simulation."""

    metrics: RunMetrics
    replayed: bool

    @property
    def how(self) -> str:
        if self.replayed:
            return "pay replayed on the active set's plan (exact)"
        return "full simulation (a structural lever changed)"


def project_change(
    settings: Settings, workforce: Workforce, reference: Projection, levers: ResolvedLevers
) -> ProjectedChange:
    """The metrics of other levers against a reference projection, in memory.

    Compensation levers leave the plan (who leaves, is promoted, hired) unchanged, so the
    engine's exact pay replay on the reference's plans gives the full simulation's figures
    at a fraction of the cost; a structural lever needs the full simulation.
    """
    if reference.planned.can_replay(levers):
        return ProjectedChange(measured_replay(reference.planned, settings, levers), replayed=True)
    seed = reference.planned.result.seed
    return ProjectedChange(project(settings, workforce, levers, seed).metrics, replayed=False)
