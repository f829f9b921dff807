"""Levers: show, edit, import, export, validate, history, diff, rollback, apply, scenarios.

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
from dataclasses import replace as replaced
from pathlib import Path
from typing import Literal

from planwise.application.workspace import Workspace, safe_output
from planwise.application.workspaces import current_user
from planwise.config import Settings
from planwise.errors import DatabaseLockedError, Problem, UserError
from planwise.parameters.csv_io import read_levers_csv, write_levers_csv
from planwise.parameters.levers import (
    DEFAULT_SCENARIO,
    Lever,
    LeverDifference,
    LeverKey,
    LeverSet,
    ResolvedLevers,
    diff_lever_sets,
    resolve_levers,
)
from planwise.parameters.sources import SetSource
from planwise.parameters.validation import (
    LeverDomain,
    LeverFileCheck,
    RangeWarning,
    describe_lever_keys,
    group_range_warnings,
    problem_as_dict,
    validate_lever_rows,
    validate_lever_value,
)
from planwise.storage import parameter_store
from planwise.storage.database import Database
from planwise.storage.parameter_store import ParameterSetRecord

__all__ = [
    "EditLeversRequest",
    "ExportLeversRequest",
    "ImportLeversRequest",
    "LeverEdit",
    "LeverUpdate",
    "LeverView",
    "LeversExported",
    "LeversImported",
    "apply_parameter_set",
    "edit_levers",
    "export_levers",
    "import_levers",
    "lever_view",
    "rollback",
    "validate_levers_file",
]

LOCKED_VALUE_CHANGED = "locked value changed"


@dataclass(frozen=True)
class LeverUpdate:
    """What an import, an edit or a rollback did to a scenario."""

    scenario_id: str
    source: SetSource
    parameter_set_id: int | None
    """The new active set; None when the request changed nothing and nothing was stored."""
    parent_id: int | None
    previous_id: int | None
    """The set that was active before (the parent, except for a rollback's)."""
    differences: tuple[LeverDifference, ...]
    warnings: tuple[Problem, ...]
    exported_to: Path | None
    created_scenario: bool = False
    range_warnings: tuple[RangeWarning, ...] = ()
    """The values outside their usual range, one entry per lever and side."""

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
            "range_warnings": [warning.message for warning in self.range_warnings],
            "exported_to": None if self.exported_to is None else str(self.exported_to),
        }


@dataclass(frozen=True)
class LeverView:
    """A parameter set as a simulation sees it: its rows, the default scenario's set that
    fills its gaps, and the values resolved for each simulated year and level."""

    scenario_id: str
    parameter_set_id: int
    record: ParameterSetRecord
    lever_set: LeverSet
    default_set: LeverSet | None
    resolved: ResolvedLevers

    @property
    def years(self) -> tuple[int, ...]:
        return self.resolved.years

    @property
    def levels(self) -> tuple[int, ...]:
        return self.resolved.levels

    def resolve(self, lever_set: LeverSet) -> ResolvedLevers:
        """Other rows of the same scenario, resolved the same way (same default set)."""
        return resolve_levers(list(self.years), list(self.levels), lever_set, self.default_set)

    @property
    def range_warnings(self) -> list[RangeWarning]:
        """The resolved values outside their usual range, one entry per lever and side."""
        return group_range_warnings(
            (name, year, level, float(values[row, level]))
            for name, values in self.resolved.values.items()
            for row, year in enumerate(self.years)
            for level in self.levels
        )


def lever_view(
    workspace: Workspace, scenario_id: str = DEFAULT_SCENARIO, parameter_set_id: int | None = None
) -> LeverView:
    """A scenario's active set (or the one named), resolved for the simulated years."""
    settings = workspace.settings()
    years = range(settings.start_year, settings.start_year + settings.years)
    with workspace.database(settings).connect(read_only=True) as connection:
        set_id, lever_set, resolved = parameter_store.load_levers(
            connection, settings, scenario_id, years, parameter_set_id
        )
        record = parameter_store.load_parameter_set(connection, set_id)
        default_id = parameter_store.default_set_for(connection, scenario_id)
        default_set = (
            None if default_id is None else parameter_store.load_lever_set(connection, default_id)
        )
    return LeverView(scenario_id, set_id, record, lever_set, default_set, resolved)


def validate_levers_file(
    workspace: Workspace,
    path: Path | None = None,
    *,
    scenario_id: str | None = None,
    replace: bool = False,
) -> LeverFileCheck:
    """Check a levers file (default: the workspace's comp_levers.csv) without storing it.

    Besides the file's own errors and warnings, it warns where the import would change a
    value that is locked in the scenario's active set: merged into it, or (`replace`)
    replacing it, as `import_levers` would.
    """
    settings = workspace.settings()
    check = _check_file(settings, path or workspace.levers_path, scenario_id)
    if check.lever_set is None or not workspace.database_path.exists():
        return check
    try:
        with workspace.database(settings).connect(read_only=True) as connection:
            _, current = parameter_store.active_lever_set(connection, check.lever_set.scenario_id)
    except DatabaseLockedError:
        return check  # the file's own checks stand; locks are checked again on import
    return _with_lock_warnings(_as_imported(check, current, replace=replace), current)


ImportMode = Literal["merge", "replace"]


@dataclass(frozen=True)
class ImportLeversRequest:
    path: Path
    scenario_id: str | None = None
    """Store the rows under this scenario (default: the file's scenario_id)."""
    note: str | None = None
    created_by: str | None = None
    replace: bool = False
    """Make the file's rows the whole new set. By default they are merged into the active
    set: the levers, years and levels the file does not name keep their values."""


@dataclass(frozen=True)
class LeversImported(LeverUpdate):
    """What an import did, and how: `merge` (the file's rows over the active set's) or
    `replace` (the file's rows are the whole new set)."""

    mode: ImportMode = "merge"
    path: Path | None = None
    file_rows: int = 0
    file_levers: str = ""
    """The levers, levels and years the file names, in the levers' labels."""

    @property
    def summary(self) -> str:
        """One sentence on what the import did to the scenario's set."""
        rows = f"{self.file_rows} row(s) of {self.path}"
        if self.previous_id is None:
            fallback = (
                "the built-in defaults"
                if self.scenario_id == DEFAULT_SCENARIO
                else "the default scenario's values"
            )
            return (
                f"Stored the {rows} as the first set of scenario {self.scenario_id} "
                f"({self.file_levers}); the levers it does not name take {fallback}."
            )
        if self.mode == "replace":
            fallback = (
                "take the built-in defaults"
                if self.scenario_id == DEFAULT_SCENARIO
                else "take the default scenario's values (or the built-in defaults)"
            )
            return (
                f"Replaced the whole set {self.previous_id} of scenario {self.scenario_id} "
                f"with the {rows} ({self.file_levers}); the levers, years and levels the "
                f"file does not name no longer have rows here and {fallback}."
            )
        return (
            f"Merged {rows} into set {self.previous_id} of scenario {self.scenario_id}: "
            f"{self.file_levers}; the other levers keep their values."
        )

    def as_dict(self) -> dict[str, object]:
        return {
            **super().as_dict(),
            "mode": self.mode,
            "path": None if self.path is None else str(self.path),
            "file_rows": self.file_rows,
            "summary": self.summary,
        }


def import_levers(workspace: Workspace, request: ImportLeversRequest) -> LeversImported:
    """Store a levers file as a new active parameter set of its scenario.

    The scenario is the file's `scenario_id` unless the request overrides it; an unknown
    scenario is created. The file's rows are merged into the scenario's active set, by
    (parameter, year, level): the rows it does not name keep their values. With
    `request.replace` the file's rows are the whole new set. A file with any error raises
    `ValidationFailed` (the counts by rule and up to 20 offending rows), and nothing is
    stored. A locked value the import changes is warned about.
    """
    settings = workspace.settings()
    check = _check_file(settings, request.path, request.scenario_id)
    from_file = check.require_valid()
    database = workspace.database(settings)
    with database.connect(read_only=True) as connection:
        parent_id, current = parameter_store.active_lever_set(connection, from_file.scenario_id)
        is_new = not parameter_store.scenario_exists(connection, from_file.scenario_id)
    check = _with_lock_warnings(_as_imported(check, current, replace=request.replace), current)
    lever_set = check.require_valid()
    mode: ImportMode = "replace" if request.replace else "merge"
    how = ""  # kept in the history: how this set came from its parent
    if parent_id is not None:
        verb = "replacing" if request.replace else "merged into"
        how = f", {verb} set {parent_id}"
    set_id, exported_to = _store_active_set(
        workspace,
        database,
        lever_set,
        source=SetSource.IMPORT,
        parent_id=parent_id,
        replaces=parent_id,
        created_by=request.created_by,
        note=request.note or f"imported from {request.path.name}{how}",
    )
    return LeversImported(
        scenario_id=lever_set.scenario_id,
        source=SetSource.IMPORT,
        parameter_set_id=set_id,
        parent_id=parent_id,
        previous_id=parent_id,
        differences=diff_lever_sets(current, lever_set),
        warnings=check.warnings,
        exported_to=exported_to,
        created_scenario=is_new,
        range_warnings=tuple(
            group_range_warnings(
                (lever.parameter_name, lever.fiscal_year, lever.job_level, lever.value)
                for lever in from_file.levers
            )
        ),
        mode=mode,
        path=request.path,
        file_rows=len(from_file),
        file_levers=describe_lever_keys(lever.key for lever in from_file.levers),
    )


def _as_imported(check: LeverFileCheck, current: LeverSet, *, replace: bool) -> LeverFileCheck:
    """The check with the set an import stores: the file's rows merged over `current`'s by
    (parameter, year, level), or (`replace`) the file's rows alone."""
    if check.lever_set is None or replace:
        return check
    rows = {lever.key: lever for lever in current.levers}
    rows.update((lever.key, lever) for lever in check.lever_set.levers)
    return replaced(check, lever_set=LeverSet(check.lever_set.scenario_id, tuple(rows.values())))


@dataclass(frozen=True)
class ExportLeversRequest:
    path: Path
    scenario_id: str = DEFAULT_SCENARIO
    force: bool = False
    """Replace an existing file (never the workspace's own files, a folder or a device)."""


@dataclass(frozen=True)
class LeversExported:
    scenario_id: str
    parameter_set_id: int
    path: Path


def export_levers(workspace: Workspace, request: ExportLeversRequest) -> LeversExported:
    """Write the scenario's active set to a file in the analysts' comp_levers.csv format.

    The file is checked before anything is read (`safe_output`): an existing file is
    replaced only with `force`, and never the workspace's database or settings.
    """
    database = workspace.database()  # an unknown workspace first: the bigger mistake
    with safe_output(workspace, request.path, force=request.force) as partial:
        set_id, lever_set, record = _active_set(database, request.scenario_id)
        write_levers_csv(lever_set, partial, record.created_at, record.created_by)
    return LeversExported(request.scenario_id, set_id, request.path)


def _active_set(database: Database, scenario_id: str) -> tuple[int, LeverSet, ParameterSetRecord]:
    with database.connect(read_only=True) as connection:
        parameter_store.require_scenario(connection, scenario_id)
        set_id, lever_set = parameter_store.active_lever_set(connection, scenario_id)
        if set_id is None:
            raise UserError(f"Scenario '{scenario_id}' has no active parameter set.")
        record = parameter_store.load_parameter_set(connection, set_id)
    return set_id, lever_set, record


@dataclass(frozen=True)
class LeverEdit:
    """One value to set: a lever, at one level and year, or (None) at every one."""

    name: str
    value: float
    level: int | None = None
    year: int | None = None


@dataclass(frozen=True)
class EditLeversRequest:
    """Edits stored together as one new parameter set (later edits win on the same row)."""

    edits: tuple[LeverEdit, ...]
    scenario_id: str = DEFAULT_SCENARIO
    force: bool = False
    """Change locked values too (they stay locked)."""
    note: str | None = None
    created_by: str | None = None


def edit_levers(workspace: Workspace, request: EditLeversRequest) -> LeverUpdate:
    """A new active set: the active one with every edit applied, or nothing if no value
    changes.

    An edit without a level or a year applies to every level or every simulated year: every
    row of the set for that lever changes, and a simulated year or level whose value comes
    from elsewhere (an earlier year, the default scenario, the built-in default) gets a row.
    Locked values — including those inherited from a locked earlier year — are refused
    unless `force`. Every value is validated first; one bad value stores nothing.
    """
    settings = workspace.settings()
    domain = LeverDomain.from_settings(settings)
    warnings: list[Problem] = []
    for edit in request.edits:
        found_errors, found_warnings = validate_lever_value(
            edit.name, edit.value, domain, level=edit.level, year=edit.year
        )
        if found_errors:
            raise UserError("; ".join(_value_error(problem) for problem in found_errors) + ".")
        warnings.extend(found_warnings)
    scenario_id = request.scenario_id
    database = workspace.database(settings)
    with database.connect(read_only=True) as connection:
        parent_id, current, resolved = parameter_store.load_levers(
            connection, settings, scenario_id, range(domain.years[0], domain.years[-1] + 1)
        )
    wanted: dict[LeverKey, tuple[float, bool, float]] = {}  # key: (before, locked, after)
    for edit in request.edits:
        levels = domain.levels if edit.level is None else (edit.level,)
        years = domain.years if edit.year is None else (edit.year,)
        targets = _edit_targets(
            current, resolved, edit.name, levels, years, every_year=edit.year is None
        )
        for key, (before, locked) in targets.items():
            wanted[key] = (before, locked, float(edit.value))
    changed = {
        key: (locked, after) for key, (before, locked, after) in wanted.items() if before != after
    }
    refused = sorted(key for key, (locked, _) in changed.items() if locked)
    if refused and not request.force:
        raise UserError(_locked_message(scenario_id, refused, wanted))
    rows = {lever.key: lever for lever in current.levers}
    for key, (locked, after) in changed.items():
        rows[key] = Lever(*key, value=after, is_locked=locked)
    edited = LeverSet(scenario_id, tuple(rows.values()))
    set_id, exported_to = (None, None)
    if changed:
        set_id, exported_to = _store_active_set(
            workspace,
            database,
            edited,
            source=SetSource.EDIT,
            parent_id=parent_id,
            replaces=parent_id,
            created_by=request.created_by,
            note=request.note or _edit_note(request.edits, forced=bool(refused)),
        )
    return LeverUpdate(
        scenario_id=scenario_id,
        source=SetSource.EDIT,
        parameter_set_id=set_id,
        parent_id=parent_id if set_id is not None else None,
        previous_id=parent_id,
        differences=diff_lever_sets(current, edited),
        warnings=tuple(warnings),
        exported_to=exported_to,
        range_warnings=tuple(
            group_range_warnings((*key, after) for key, (_, after) in changed.items())
        ),
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
        active_id, current = parameter_store.active_lever_set(connection, record.scenario_id)
    set_id, exported_to = (None, None)
    if active_id != parameter_set_id:
        set_id, exported_to = _store_active_set(
            workspace,
            database,
            target,
            source=SetSource.ROLLBACK,
            parent_id=parameter_set_id,
            replaces=active_id,
            created_by=created_by,
            note=note or f"rollback to set {parameter_set_id}",
        )
    return LeverUpdate(
        scenario_id=record.scenario_id,
        source=SetSource.ROLLBACK,
        parameter_set_id=set_id,
        parent_id=parameter_set_id if set_id is not None else None,
        previous_id=active_id,
        differences=diff_lever_sets(current, target),
        warnings=(),
        exported_to=exported_to,
    )


def apply_parameter_set(
    workspace: Workspace, parameter_set_id: int, *, applied_by: str | None = None
) -> ParameterSetRecord:
    """Make a stored set (e.g. an optimizer's answer) the active set of its scenario; the
    previous one stays in the history, and the activation log records who applied it and
    when. The default scenario's comp_levers.csv follows."""
    with workspace.database().transaction() as connection:
        record = parameter_store.load_parameter_set(connection, parameter_set_id)
        parameter_store.activate_parameter_set(
            connection, parameter_set_id, activated_by=applied_by or current_user()
        )
    if record.scenario_id == DEFAULT_SCENARIO:
        refresh_levers_file(workspace)
    return record


def refresh_levers_file(workspace: Workspace) -> None:
    """The workspace's comp_levers.csv mirrors the default scenario's active set (the
    workspace's own file: rewritten in place, without the checks of a user's file)."""
    set_id, lever_set, record = _active_set(workspace.database(), DEFAULT_SCENARIO)
    try:
        write_levers_csv(lever_set, workspace.levers_path, record.created_at, record.created_by)
    except OSError as error:
        raise UserError(
            f"Parameter set {set_id} is stored and active, but {workspace.levers_path} could "
            f"not be rewritten from it ({(error.strerror or str(error)).lower()}). Fix that, "
            f"then run 'planwise levers export {workspace.levers_path} --force'."
        ) from None


def _check_file(settings: Settings, path: Path, scenario_id: str | None) -> LeverFileCheck:
    columns, rows = read_levers_csv(path)
    return validate_lever_rows(
        columns,
        rows,
        source=str(path),
        domain=LeverDomain.from_settings(settings),
        scenario_id=scenario_id,
    )


def _store_active_set(
    workspace: Workspace,
    database: Database,
    lever_set: LeverSet,
    *,
    source: SetSource,
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
            created_by=created_by or current_user(),
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
    scenario_id: str,
    refused: Sequence[LeverKey],
    wanted: dict[LeverKey, tuple[float, bool, float]],
) -> str:
    listed = [f"{key[0]} {key[1]} level {key[2]} ({wanted[key][0]!r})" for key in refused]
    names = ", ".join(dict.fromkeys(key[0] for key in refused))
    return (
        f"{names} is locked in scenario '{scenario_id}' for {len(listed)} value(s): "
        f"{', '.join(listed)}. Nothing was changed. Add --force to change locked values "
        "(they stay locked)."
    )


def _edit_note(edits: Sequence[LeverEdit], forced: bool) -> str:
    def one(edit: LeverEdit) -> str:
        scope = "" if edit.level is None else f" level {edit.level}"
        scope += "" if edit.year is None else f" year {edit.year}"
        return f"set {edit.name} = {edit.value!r}{scope}"

    return "; ".join(one(edit) for edit in edits) + (" (forced over locks)" if forced else "")


def _value_error(problem: Problem) -> str:
    shown = "" if problem.value is None else f" (got {problem.value!r})"
    return f"{problem.message}{shown}"
