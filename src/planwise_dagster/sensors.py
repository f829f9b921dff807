"""Work done outside Dagster, shown in the Dagster UI: the store sensor.

A run simulated with the CLI or the app (in-process), a parameter set applied, an
optimization finished, a census made active: each is stored in the workspace, and the
sensor reports it as a materialization of the asset that stands for it
(`workforce_simulation`, `comp_levers`, `compensation_optimization_loop` with its summary
and convergence check, `census`), with the metadata the asset itself writes. It also adds
each scenario of the workspace to the scenario partitions of `ensemble_members`. Under
`dagster dev` the daemon evaluates it every 30 s.

Nothing is reported twice: the cursor keeps, per kind, the time of the latest state
reported (a run's last stored year, a set's activation, an optimization's finish), and
the store's state ids, so a tick with nothing new reads no more than those. Work done by a
Dagster run is not reported again: an item is left out when the asset already has a
materialization of it since it was stored, and an item stored after a Dagster run still in
progress began waits for that run to finish (its materialization comes after the store).

It reads the workspace through the application layer only, with short read-only
connections; a tick that finds the database in use waits for the next.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotation.

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from planwise import application
from planwise.application import OptimizationRecord, ParameterSetRecord, RunRecord, Workspace
from planwise.errors import DatabaseLockedError, UserError
from planwise.optimization import OptimizationStatus
from planwise_dagster.answers import loop_metadata, summary_metadata
from planwise_dagster.checks import convergence_evaluation
from planwise_dagster.ensembles import SCENARIO_PARTITIONS
from planwise_dagster.metadata import (
    LevelNames,
    census_metadata,
    level_names,
    levers_metadata,
    run_metadata,
    year_span,
)
from planwise_dagster.optimization import (
    compensation_optimization_loop,
    optimization_results_summary,
)
from planwise_dagster.resources import PlanwiseWorkspace
from planwise_dagster.simulation import census, comp_levers, workforce_simulation

__all__ = ["SENSOR_NAME", "StoreCursor", "workspace_activity_sensor"]

SENSOR_NAME = "workspace_activity_sensor"
REPORTED_FROM = "the workspace store: made outside Dagster (the CLI, or the app in-process)"

# Items reported per kind and tick (each loads its figures); the rest come next tick.
_PER_TICK = 20
# The newest runs and optimizations looked at (an optimization stores one run per full
# simulation; those are reported with their optimization, not as runs).
_LISTED = 500
# A Dagster run still "in progress" after this long is taken as dead (a process killed
# mid-run leaves its run STARTED), so it stops holding back newer items.
_LIVE_RUN_LIMIT = dt.timedelta(hours=1)
_LIVE_STATUSES = (
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
_FINISHED_OPTIMIZATIONS = frozenset(
    {
        OptimizationStatus.CONVERGED,
        OptimizationStatus.CONVERGED_WITH_WARNINGS,
        OptimizationStatus.NOT_CONVERGED,
    }
)
_PAGE = 1000


@dataclass(frozen=True)
class StoreCursor:
    """What the sensor has reported: per kind, the store time (UTC, epoch seconds) of the
    latest state reported or found already materialized; and the store's state ids when
    everything up to them was settled ("" while something waits)."""

    runs: float = 0.0
    levers: float = 0.0
    optimizations: float = 0.0
    state: str = ""

    @classmethod
    def parse(cls, text: str | None) -> "StoreCursor":
        """The stored cursor; a missing or unreadable one starts over, which reports nothing
        twice either: what was reported is in the asset's materializations."""
        try:
            loaded = json.loads(text or "{}")
            known = {field.name for field in dataclasses.fields(cls)}
            return cls(**{key: value for key, value in loaded.items() if key in known})
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dumps(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass(frozen=True)
class _Item:
    """One stored state to report: its identity (as the asset's metadata names it), its
    store time, and how to build its events (which loads its figures)."""

    identity: str
    stored_at: float
    events: Callable[[], list[Any]]


@dataclass(frozen=True)
class _Kind:
    """A kind of stored item: the cursor field, the asset, and its identity in the asset's
    materialization metadata."""

    field: str
    asset: dg.AssetKey
    identity: Callable[[Mapping[str, Any]], str | None]


def _value(metadata: Mapping[str, Any], key: str) -> object:
    return getattr(metadata.get(key), "value", None)


def _run_identity(metadata: Mapping[str, Any]) -> str | None:
    run_id, years = _value(metadata, "run_id"), _value(metadata, "years")
    return None if run_id is None else f"{run_id}:{years}"


def _id_identity(key: str) -> Callable[[Mapping[str, Any]], str | None]:
    def identity(metadata: Mapping[str, Any]) -> str | None:
        value = _value(metadata, key)
        return None if value is None else str(value)

    return identity


_RUNS = _Kind("runs", workforce_simulation.key, _run_identity)
_LEVERS = _Kind("levers", comp_levers.key, _id_identity("parameter_set_id"))
_OPTIMIZATIONS = _Kind(
    "optimizations", compensation_optimization_loop.key, _id_identity("optimization_id")
)


def _epoch(moment: dt.datetime) -> float:
    """The store keeps naive UTC times."""
    return moment.replace(tzinfo=dt.UTC).timestamp()


def _with_origin(metadata: dict[str, Any]) -> dict[str, Any]:
    return {**metadata, "reported_from": REPORTED_FROM}


def _run_item(workspace: Workspace, run: RunRecord) -> _Item:
    def events() -> list[Any]:
        stored = application.run_results(workspace, run.run_id)
        metadata = run_metadata(
            stored.run.run_id,
            stored.run.scenario_id,
            stored.run.parameter_set_id,
            stored.run.seed,
            stored.metrics,
        )
        return [
            dg.AssetMaterialization(
                asset_key=_RUNS.asset,
                description=(
                    f"Run {run.run_id} of scenario '{run.scenario_id}', "
                    f"{year_span(run.start_year, run.end_year)}, made outside Dagster."
                ),
                metadata=_with_origin(metadata),
            )
        ]

    stored_at = _epoch(run.finished_at or run.started_at)
    return _Item(f"{run.run_id}:{year_span(run.start_year, run.end_year)}", stored_at, events)


def _levers_item(workspace: Workspace, record: ParameterSetRecord, names: LevelNames) -> _Item:
    def events() -> list[Any]:
        view = application.lever_view(workspace, record.scenario_id, record.parameter_set_id)
        return [
            dg.AssetMaterialization(
                asset_key=_LEVERS.asset,
                description=(
                    f"Parameter set {record.parameter_set_id} applied to scenario "
                    f"'{record.scenario_id}' by {record.activated_by or 'someone'} outside "
                    "Dagster."
                ),
                metadata=_with_origin(levers_metadata(view, names)),
            )
        ]

    assert record.activated_at is not None  # only activated sets are items
    return _Item(str(record.parameter_set_id), _epoch(record.activated_at), events)


def _optimization_item(
    workspace: Workspace, record: OptimizationRecord, names: LevelNames
) -> _Item:
    def events() -> list[Any]:
        result = application.show_optimization(workspace, record.optimization_id)
        description = (
            f"Optimization {record.optimization_id} of scenario '{record.scenario_id}', "
            "run outside Dagster."
        )
        return [
            dg.AssetMaterialization(
                asset_key=_OPTIMIZATIONS.asset,
                description=description,
                metadata=_with_origin(loop_metadata(result)),
            ),
            convergence_evaluation(result),
            dg.AssetMaterialization(
                asset_key=optimization_results_summary.key,
                description=description,
                metadata=_with_origin(summary_metadata(result, names)),
            ),
        ]

    assert record.finished_at is not None  # only finished optimizations are items
    return _Item(str(record.optimization_id), _epoch(record.finished_at), events)


def _stored_items(workspace: Workspace) -> Iterator[tuple[_Kind, list[_Item]]]:
    """Every stored state the sensor may report, by kind (one short read each)."""
    names = level_names(workspace.settings())
    runs = application.list_runs(workspace, limit=_LISTED)
    yield _RUNS, [_run_item(workspace, run) for run in runs if run.optimization_id is None]
    sets = application.lever_history(workspace)
    yield (
        _LEVERS,
        [_levers_item(workspace, record, names) for record in sets if record.activated_at],
    )
    optimizations = application.list_optimizations(workspace, limit=_LISTED)
    yield (
        _OPTIMIZATIONS,
        [
            _optimization_item(workspace, record, names)
            for record in optimizations
            if record.status in _FINISHED_OPTIMIZATIONS and record.finished_at is not None
        ],
    )


def _census_events(
    instance: dg.DagsterInstance, workspace: Workspace, census_id: str
) -> list[dg.AssetMaterialization]:
    """The active census, unless the census asset's latest materialization shows it (a
    census has no time of its own: the latest one shown is the state)."""
    latest = instance.get_latest_materialization_event(census.key)
    materialization = None if latest is None else latest.asset_materialization
    if materialization is not None and _value(materialization.metadata, "census_id") == census_id:
        return []
    active = application.active_census(workspace, census_id).census
    return [
        dg.AssetMaterialization(
            asset_key=census.key,
            description=f"Census {census_id}, made active outside Dagster.",
            metadata=_with_origin(census_metadata(active)),
        )
    ]


def _live_since(instance: dg.DagsterInstance, now: float) -> float:
    """When the earliest Dagster run still in progress began (`now` when none is): an item
    stored since may be that run's, whose materialization is still to come."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=list(_LIVE_STATUSES),
            created_after=dt.datetime.fromtimestamp(now, dt.UTC) - _LIVE_RUN_LIMIT,
        )
    )
    return min([now, *(record.create_timestamp.timestamp() for record in records)])


def _materialized(instance: dg.DagsterInstance, kind: _Kind, since: float) -> dict[str, float]:
    """Identity → when the asset last materialized it, over materializations since `since`
    (by Dagster runs and by this sensor)."""
    latest: dict[str, float] = {}
    cursor: str | None = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=kind.asset, after_timestamp=since),
            limit=_PAGE,
            cursor=cursor,
            ascending=True,
        )
        for record in page.records:
            materialization = record.asset_materialization
            identity = None if materialization is None else kind.identity(materialization.metadata)
            if identity is not None:
                latest[identity] = max(latest.get(identity, 0.0), record.timestamp)
        if not page.has_more:
            return latest
        cursor = page.cursor


@dataclass(frozen=True)
class _Tick:
    """What one kind contributes to a tick: its events, its new cursor time, and whether
    everything stored up to the tick was settled."""

    events: list[Any]
    reported_up_to: float
    settled: bool


def _report(
    instance: dg.DagsterInstance,
    kind: _Kind,
    items: Sequence[_Item],
    after: float,
    before: float,
    log: Callable[[str], None],
) -> _Tick:
    """The items stored after the cursor and before `before`, oldest first, less those the
    asset already materialized since they were stored."""
    new = sorted((item for item in items if item.stored_at > after), key=lambda i: i.stored_at)
    ready = [item for item in new if item.stored_at < before][:_PER_TICK]
    if not ready:
        return _Tick([], after, settled=not new)
    materialized = _materialized(instance, kind, since=ready[0].stored_at - 1.0)
    events: list[Any] = []
    for item in ready:
        if materialized.get(item.identity, -1.0) >= item.stored_at:
            continue  # made (or already reported) through Dagster
        try:
            events.extend(item.events())
        except DatabaseLockedError:
            raise
        except UserError as error:  # e.g. removed since it was listed: nothing to show
            log(f"Not reporting {kind.asset.to_user_string()} {item.identity}: {error}")
    return _Tick(events, ready[-1].stored_at, settled=len(ready) == len(new))


def _new_scenarios(instance: dg.DagsterInstance, scenarios: Sequence[str]) -> list[str]:
    """The workspace's scenarios that are not yet partitions of the ensemble assets."""
    present = set(instance.get_dynamic_partitions(SCENARIO_PARTITIONS))
    return [scenario for scenario in scenarios if scenario not in present]


def _partition_requests(added: Sequence[str]) -> list[dg.AddDynamicPartitionsRequest]:
    return [dg.AddDynamicPartitionsRequest(SCENARIO_PARTITIONS, list(added))] if added else []


def _evaluate(
    instance: dg.DagsterInstance,
    workspace: Workspace,
    cursor: StoreCursor,
    log: Callable[[str], None],
) -> dg.SensorResult | dg.SkipReason:
    """One tick: what was stored since the cursor, and the cursor after reporting it; and
    the scenarios new to the ensemble partitions."""
    now = time.time()
    before = _live_since(instance, now)
    try:
        state = application.store_state(workspace)
        added = _new_scenarios(instance, state.scenarios)
        fingerprint = json.dumps(
            [
                state.census_id,
                state.runs_version,
                state.latest_run_id,
                state.optimizations_version,
                state.latest_optimization_id,
                state.latest_parameter_set_id,
                state.active_sets,
            ]
        )
        if fingerprint == cursor.state:
            if not added:
                return dg.SkipReason("Nothing new in the workspace since the last tick.")
            return dg.SensorResult(
                dynamic_partitions_requests=_partition_requests(added),
                skip_reason=_reported([], added),
                cursor=cursor.dumps(),
            )
        events: list[Any] = []
        times: dict[str, float] = {}
        settled = True
        if state.census_id is not None and before == now:
            events.extend(_census_events(instance, workspace, state.census_id))
        for kind, items in _stored_items(workspace):
            tick = _report(instance, kind, items, getattr(cursor, kind.field), before, log)
            events.extend(tick.events)
            times[kind.field] = tick.reported_up_to
            settled = settled and tick.settled
        settled = settled and before == now
    except DatabaseLockedError as error:
        return dg.SkipReason(f"{error} The sensor tries again at the next tick.")
    next_cursor = StoreCursor(**times, state=fingerprint if settled else "")
    # A tick that launches no run is "skipped" in Dagster's words: say what it reported.
    return dg.SensorResult(
        asset_events=events,
        dynamic_partitions_requests=_partition_requests(added),
        skip_reason=_reported(events, added),
        cursor=next_cursor.dumps(),
    )


def _reported(events: Sequence[Any], added: Sequence[str] = ()) -> str:
    counts = Counter(
        event.asset_key.to_user_string()
        for event in events
        if isinstance(event, dg.AssetMaterialization)
    )
    if not counts:
        text = "Nothing new made outside Dagster since the last report."
    else:
        listed = ", ".join(f"{count} × {asset}" for asset, count in sorted(counts.items()))
        text = f"Reported work made outside Dagster (no run to launch): {listed}."
    if added:
        text += f" Added the ensemble partitions of scenario(s) {', '.join(added)}."
    return text


@dg.sensor(
    name=SENSOR_NAME,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Shows runs, applied parameter sets and optimizations made outside Dagster (the CLI, "
        "the app) as materializations of workforce_simulation, comp_levers and "
        "compensation_optimization_loop, with the metadata those assets write; adds each "
        "scenario of the workspace to the scenario partitions of ensemble_members."
    ),
)
def workspace_activity_sensor(
    context: dg.SensorEvaluationContext, planwise: PlanwiseWorkspace
) -> dg.SensorResult | dg.SkipReason:
    try:
        workspace = planwise.workspace()
        return _evaluate(
            context.instance, workspace, StoreCursor.parse(context.cursor), context.log.warning
        )
    except UserError as error:  # not a workspace (yet), or another plain user error
        return dg.SkipReason(str(error))
