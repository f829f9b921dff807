"""Lever operations on a workspace: the one path the CLI, the app and Dagster call.

Each operation validates everything first — the file or value, locks — reading through a
short read-only connection, and only then writes, all in one transaction. A rejected
request therefore leaves the store exactly as it was. Parameter sets are never changed:
an import, an edit or a rollback stores a new set (with its parent) and makes it active.
After a change to the `default` scenario the workspace's `comp_levers.csv` is rewritten
from its new active set; other scenarios are exported only on request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from planwise import service
from planwise.config import Settings
from planwise.errors import DatabaseLockedError, Problem, UserError
from planwise.parameters.csv_io import export_active_levers, read_levers_csv, write_levers_csv
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    Lever,
    LeverDifference,
    LeverKey,
    LeverSet,
    ResolvedLevers,
    diff_lever_sets,
)
from planwise.parameters.loading import load_levers
from planwise.parameters.validation import (
    LeverDomain,
    LeverFileCheck,
    check_scenario_id,
    problem_as_dict,
    validate_lever_rows,
    validate_lever_value,
)
from planwise.storage import parameter_store
from planwise.storage.database import Database
from planwise.storage.parameter_store import ParameterSetRecord, ScenarioRecord
from planwise.workspace import Workspace

__all__ = [
    "SOURCE_EDIT",
    "SOURCE_IMPORT",
    "SOURCE_INIT",
    "SOURCE_OPTIMIZER",
    "SOURCE_ROLLBACK",
    "LeverSetDiff",
    "LeverUpdate",
    "ScenarioCreated",
    "create_scenario",
    "diff",
    "export_levers",
    "history",
    "import_levers",
    "list_scenarios",
    "rollback",
    "set_lever",
    "validate_levers_file",
]

SOURCE_IMPORT = "import"
SOURCE_EDIT = "edit"
SOURCE_OPTIMIZER = "optimizer"
SOURCE_ROLLBACK = "rollback"
SOURCE_INIT = "init"

LOCKED_VALUE_CHANGED = "locked value changed"


@dataclass(frozen=True)
class LeverUpdate:
    """What an import, an edit or a rollback did to a scenario."""

    scenario_id: str
    source: str
    parameter_set_id: int | None
    """The new active set; None when the request changed nothing and nothing was stored."""
    parent_id: int | None
    previous_id: int | None
    """The set that was active before (the parent, except for a rollback's)."""
    differences: tuple[LeverDifference, ...]
    warnings: tuple[Problem, ...]
    exported_to: Path | None
    created_scenario: bool = False

    @property
    def stored(self) -> bool:
        return self.parameter_set_id is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "scenario_id": self.scenario_id,
            "source": self.source,
            "parameter_set_id": self.parameter_set_id,
            "parent_id": self.parent_id,
            "previous_id": self.previous_id,
            "stored": self.stored,
            "created_scenario": self.created_scenario,
            "differences": [difference.as_dict() for difference in self.differences],
            "warnings": [problem_as_dict(problem) for problem in self.warnings],
            "exported_to": None if self.exported_to is None else str(self.exported_to),
        }


@dataclass(frozen=True)
class LeverSetDiff:
    """Two stored sets and the rows that differ from the first to the second."""

    before: ParameterSetRecord
    after: ParameterSetRecord
    differences: tuple[LeverDifference, ...]

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


def validate_levers_file(
    workspace: Workspace, path: Path | None = None, *, scenario_id: str | None = None
) -> LeverFileCheck:
    """Check a levers file (default: the workspace's comp_levers.csv) without storing it.

    Besides the file's own errors and warnings, it warns where the file would change a
    value that is locked in the scenario's active set.
    """
    settings = workspace.settings()
    check = _check_file(settings, path or workspace.levers_path, scenario_id)
    if check.lever_set is None or not workspace.database_path.exists():
        return check
    try:
        with workspace.database(settings).connect(read_only=True) as connection:
            _, current = _active_set(connection, check.lever_set.scenario_id)
    except DatabaseLockedError:
        return check  # the file's own checks stand; locks are checked again on import
    return _with_lock_warnings(check, current)


def import_levers(
    workspace: Workspace,
    path: Path,
    *,
    scenario_id: str | None = None,
    note: str | None = None,
    created_by: str | None = None,
) -> LeverUpdate:
    """Store a levers file as a new active parameter set of its scenario.

    The scenario is the file's `scenario_id` unless `scenario_id` overrides it; an unknown
    scenario is created. A file with any error raises `ValidationFailed` naming every
    offending row, and nothing is stored.
    """
    settings = workspace.settings()
    check = _check_file(settings, path, scenario_id)
    lever_set = check.require_valid()
    database = workspace.database(settings)
    with database.connect(read_only=True) as connection:
        parent_id, current = _active_set(connection, lever_set.scenario_id)
        is_new = not parameter_store.scenario_exists(connection, lever_set.scenario_id)
    check = _with_lock_warnings(check, current)
    set_id, exported_to = _store_active_set(
        workspace,
        database,
        lever_set,
        source=SOURCE_IMPORT,
        parent_id=parent_id,
        replaces=parent_id,
        created_by=created_by,
        note=note or f"imported from {path.name}",
    )
    return LeverUpdate(
        scenario_id=lever_set.scenario_id,
        source=SOURCE_IMPORT,
        parameter_set_id=set_id,
        parent_id=parent_id,
        previous_id=parent_id,
        differences=diff_lever_sets(current, lever_set),
        warnings=check.warnings,
        exported_to=exported_to,
        created_scenario=is_new,
    )


def export_levers(workspace: Workspace, path: Path, scenario_id: str = DEFAULT_SCENARIO) -> int:
    """Write the scenario's active set to `path` in the analysts' format; returns its id."""
    return export_active_levers(workspace, path, scenario_id)


def set_lever(
    workspace: Workspace,
    name: str,
    value: float,
    *,
    level: int | None = None,
    year: int | None = None,
    scenario_id: str = DEFAULT_SCENARIO,
    force: bool = False,
    note: str | None = None,
    created_by: str | None = None,
) -> LeverUpdate:
    """A new active set: the active one with `name` set to `value`.

    Without `level` or `year` it applies to every level or every simulated year: every row
    of the set for that parameter changes, and a simulated year or level whose value comes
    from elsewhere (an earlier year, the default scenario, the built-in default) gets a row.
    Locked values — including those inherited from a locked earlier year — are refused
    unless `force`. A request that changes nothing stores nothing.
    """
    settings = workspace.settings()
    domain = LeverDomain.from_settings(settings)
    errors, warnings = validate_lever_value(name, value, domain, level=level, year=year)
    if errors:
        raise UserError("; ".join(_value_error(problem) for problem in errors) + ".")
    database = workspace.database(settings)
    with database.connect(read_only=True) as connection:
        parent_id, current, resolved = load_levers(
            connection, settings, scenario_id, range(domain.years[0], domain.years[-1] + 1)
        )
    levels = domain.levels if level is None else (level,)
    years = domain.years if year is None else (year,)
    targets = _edit_targets(current, resolved, name, levels, years, every_year=year is None)
    changed = {key: locked for key, (before, locked) in targets.items() if before != value}
    refused = sorted(key for key, locked in changed.items() if locked)
    if refused and not force:
        raise UserError(_locked_message(scenario_id, refused, targets))
    rows = {lever.key: lever for lever in current.levers}
    for key, locked in changed.items():
        rows[key] = Lever(*key, value=float(value), is_locked=locked)
    edited = LeverSet(scenario_id, tuple(rows.values()))
    set_id, exported_to = (None, None)
    if changed:
        set_id, exported_to = _store_active_set(
            workspace,
            database,
            edited,
            source=SOURCE_EDIT,
            parent_id=parent_id,
            replaces=parent_id,
            created_by=created_by,
            note=note or _edit_note(name, value, level, year, forced=bool(refused)),
        )
    return LeverUpdate(
        scenario_id=scenario_id,
        source=SOURCE_EDIT,
        parameter_set_id=set_id,
        parent_id=parent_id if set_id is not None else None,
        previous_id=parent_id,
        differences=diff_lever_sets(current, edited),
        warnings=tuple(warnings),
        exported_to=exported_to,
    )


def rollback(
    workspace: Workspace,
    parameter_set_id: int,
    *,
    note: str | None = None,
    created_by: str | None = None,
) -> LeverUpdate:
    """Make an earlier set's values active again, recorded as a new set in the history.

    The new set copies the earlier set's rows exactly (values and locks), has source
    `rollback` and that set as its parent. Rolling back to the active set changes nothing.
    """
    settings = workspace.settings()
    database = workspace.database(settings)
    with database.connect(read_only=True) as connection:
        record = parameter_store.load_parameter_set(connection, parameter_set_id)
        target = parameter_store.load_lever_set(connection, parameter_set_id)
        active_id, current = _active_set(connection, record.scenario_id)
    set_id, exported_to = (None, None)
    if active_id != parameter_set_id:
        set_id, exported_to = _store_active_set(
            workspace,
            database,
            target,
            source=SOURCE_ROLLBACK,
            parent_id=parameter_set_id,
            replaces=active_id,
            created_by=created_by,
            note=note or f"rollback to set {parameter_set_id}",
        )
    return LeverUpdate(
        scenario_id=record.scenario_id,
        source=SOURCE_ROLLBACK,
        parameter_set_id=set_id,
        parent_id=parameter_set_id if set_id is not None else None,
        previous_id=active_id,
        differences=diff_lever_sets(current, target),
        warnings=(),
        exported_to=exported_to,
    )


def history(workspace: Workspace, scenario_id: str | None = None) -> list[ParameterSetRecord]:
    """Every stored parameter set (of one scenario, if given), oldest first."""
    with workspace.database().connect(read_only=True) as connection:
        if scenario_id is not None:
            _require_scenario(connection, scenario_id)
        return parameter_store.list_parameter_sets(connection, scenario_id)


def diff(workspace: Workspace, before_id: int, after_id: int) -> LeverSetDiff:
    """The rows that differ from one stored set to another (any scenarios)."""
    with workspace.database().connect(read_only=True) as connection:
        before = parameter_store.load_parameter_set(connection, before_id)
        after = parameter_store.load_parameter_set(connection, after_id)
        differences = diff_lever_sets(
            parameter_store.load_lever_set(connection, before_id),
            parameter_store.load_lever_set(connection, after_id),
        )
    return LeverSetDiff(before, after, differences)


def create_scenario(
    workspace: Workspace,
    scenario_id: str,
    *,
    from_scenario: str = DEFAULT_SCENARIO,
    note: str | None = None,
    created_by: str | None = None,
) -> ScenarioCreated:
    """A new scenario whose first set copies the active set of `from_scenario`."""
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
        _require_scenario(connection, from_scenario)
        source_id, source = _active_set(connection, from_scenario)
    if source_id is None:
        raise UserError(f"Scenario '{from_scenario}' has no active parameter set to copy.")
    author = created_by or service.current_user()
    with database.transaction() as connection:
        if parameter_store.scenario_exists(connection, scenario_id):
            raise UserError(f"Scenario '{scenario_id}' was created meanwhile; nothing stored.")
        parameter_store.ensure_scenario(connection, scenario_id, author, from_scenario, note)
        set_id = parameter_store.create_parameter_set(
            connection,
            source.for_scenario(scenario_id),
            source=SOURCE_INIT,
            created_by=author,
            parent_id=source_id,
            note=f"copied from scenario {from_scenario} (set {source_id})",
        )
    return ScenarioCreated(scenario_id, from_scenario, source_id, set_id)


def list_scenarios(workspace: Workspace) -> list[ScenarioRecord]:
    """Every scenario with its active parameter set."""
    with workspace.database().connect(read_only=True) as connection:
        return parameter_store.list_scenarios(connection)


def _check_file(settings: Settings, path: Path, scenario_id: str | None) -> LeverFileCheck:
    columns, rows = read_levers_csv(path)
    return validate_lever_rows(
        columns,
        rows,
        source=str(path),
        domain=LeverDomain.from_settings(settings),
        scenario_id=scenario_id,
    )


def _active_set(
    connection: duckdb.DuckDBPyConnection, scenario_id: str
) -> tuple[int | None, LeverSet]:
    """The active set's id and rows (no id and no rows for a scenario without one)."""
    set_id = parameter_store.active_parameter_set_id(connection, scenario_id)
    if set_id is None:
        return None, LeverSet(scenario_id, ())
    return set_id, parameter_store.load_lever_set(connection, set_id)


def _require_scenario(connection: duckdb.DuckDBPyConnection, scenario_id: str) -> None:
    if not parameter_store.scenario_exists(connection, scenario_id):
        raise UserError(
            f"Unknown scenario '{scenario_id}'. 'planwise levers scenario list' lists them."
        )


def _store_active_set(
    workspace: Workspace,
    database: Database,
    lever_set: LeverSet,
    *,
    source: str,
    parent_id: int | None,
    replaces: int | None,
    created_by: str | None,
    note: str,
) -> tuple[int, Path | None]:
    """Store `lever_set` as its scenario's new active set, in one transaction.

    `replaces` is the active set the caller validated against: if another process changed
    the active set meanwhile, nothing is stored. A new active set of `default` is then
    exported to the workspace's comp_levers.csv. Returns the new id and the export's path.
    """
    scenario_id = lever_set.scenario_id
    with database.transaction() as connection:
        actual = parameter_store.active_parameter_set_id(connection, scenario_id)
        if actual != replaces:
            raise UserError(
                f"The active parameter set of scenario '{scenario_id}' changed while this "
                f"command ran (from {replaces} to {actual}); nothing was stored. Run it again."
            )
        set_id = parameter_store.create_parameter_set(
            connection,
            lever_set,
            source=source,
            created_by=created_by or service.current_user(),
            parent_id=parent_id,
            note=note,
        )
        record = parameter_store.load_parameter_set(connection, set_id)
    if scenario_id != DEFAULT_SCENARIO:
        return set_id, None
    write_levers_csv(lever_set, workspace.levers_path, record.created_at, record.created_by)
    return set_id, workspace.levers_path


def _with_lock_warnings(check: LeverFileCheck, current: LeverSet) -> LeverFileCheck:
    """The check plus a warning for each locked value of the active set the file changes."""
    if check.lever_set is None:
        return check
    warnings = [
        Problem(
            LOCKED_VALUE_CHANGED,
            f"{d.parameter_name} {d.fiscal_year} level {d.job_level} is locked at {d.before!r} "
            f"in the active set; the file "
            + ("drops the row" if d.after is None else f"sets {d.after!r}")
            + ("" if d.locked_after else " and unlocks it"),
        )
        for d in diff_lever_sets(current, check.lever_set)
        if d.locked_before
    ]
    if not warnings:
        return check
    return LeverFileCheck(
        check.source,
        check.scenario_id,
        check.lever_set,
        check.row_count,
        check.errors,
        (*check.warnings, *warnings),
    )


def _edit_targets(
    current: LeverSet,
    resolved: ResolvedLevers,
    name: str,
    levels: Sequence[int],
    years: Sequence[int],
    *,
    every_year: bool,
) -> dict[LeverKey, tuple[float, bool]]:
    """The rows an edit writes, each with its current value and whether it is locked.

    Existing rows of the parameter for the chosen levels (and year); plus, for each chosen
    simulated (year, level) without a row, its resolved value and lock, so that a value
    inherited from a locked earlier year or from the default scenario stays protected.
    """
    targets: dict[LeverKey, tuple[float, bool]] = {}
    for lever in current.levers:
        if (
            lever.parameter_name == name
            and lever.job_level in levels
            and (every_year or lever.fiscal_year in years)
        ):
            targets[lever.key] = (lever.value, lever.is_locked)
    for year in years:
        row = resolved.years.index(year)
        for level in levels:
            targets.setdefault(
                (name, year, level),
                (
                    float(resolved.values[name][row, level]),
                    bool(resolved.locked[name][row, level]),
                ),
            )
    return targets


def _locked_message(
    scenario_id: str, refused: Sequence[LeverKey], targets: dict[LeverKey, tuple[float, bool]]
) -> str:
    listed = [f"{key[1]} level {key[2]} ({targets[key][0]!r})" for key in refused]
    return (
        f"{refused[0][0]} is locked in scenario '{scenario_id}' for {len(listed)} value(s): "
        f"{', '.join(listed)}. Nothing was changed. Add --force to change locked values "
        "(they stay locked)."
    )


def _edit_note(name: str, value: float, level: int | None, year: int | None, forced: bool) -> str:
    scope = "" if level is None else f" level {level}"
    scope += "" if year is None else f" year {year}"
    return f"set {name} = {value!r}{scope}" + (" (forced over locks)" if forced else "")


def _value_error(problem: Problem) -> str:
    shown = "" if problem.value is None else f" (got {problem.value!r})"
    return f"{problem.message}{shown}"
