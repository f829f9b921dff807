"""Parameter sets on a workspace: import, export, set, locks, rollback, history, diff, scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lever_support import REFERENCE_CSV, file_digest, read_rows, reference_rows, write_rows

import planwise.application.levers as levers_module
from planwise import application
from planwise.application import (
    CreateScenarioRequest,
    EditLeversRequest,
    ExportLeversRequest,
    ImportLeversRequest,
    LeverEdit,
    LeverUpdate,
    Workspace,
)
from planwise.errors import UserError, ValidationFailed
from planwise.parameters.levers import (
    LeverSet,
    ResolvedLevers,
    default_lever_set,
    diff_resolved,
    resolve_levers,
)
from planwise.storage import parameter_store

SIMULATED_YEARS = range(2025, 2030)
LEVELS = (1, 2, 3, 4, 5)


def active_set(workspace: Workspace, scenario_id: str = "default") -> tuple[int, LeverSet]:
    with workspace.database().connect(read_only=True) as connection:
        set_id = parameter_store.active_parameter_set_id(connection, scenario_id)
        assert set_id is not None
        return set_id, parameter_store.load_lever_set(connection, set_id)


def lever_sets(workspace: Workspace, *set_ids: int) -> list[LeverSet]:
    with workspace.database().connect(read_only=True) as connection:
        return [parameter_store.load_lever_set(connection, set_id) for set_id in set_ids]


def resolved(workspace: Workspace, scenario_id: str = "default") -> ResolvedLevers:
    settings = workspace.settings()
    with workspace.database().connect(read_only=True) as connection:
        return parameter_store.load_levers(connection, settings, scenario_id, SIMULATED_YEARS)[2]


def store_digests(workspace: Workspace) -> tuple[str, str]:
    return file_digest(workspace.database_path), file_digest(workspace.levers_path)


def edit(workspace: Workspace, *edits: LeverEdit, **options: Any) -> LeverUpdate:
    """One `edit_levers` request (options: scenario_id, force, note, created_by)."""
    return application.edit_levers(workspace, EditLeversRequest(edits, **options))


def import_file(workspace: Workspace, path: Path, **options: Any) -> LeverUpdate:
    """One `import_levers` request (options: scenario_id, note, created_by)."""
    return application.import_levers(workspace, ImportLeversRequest(path, **options))


def export_file(workspace: Workspace, path: Path, scenario_id: str = "default") -> int:
    """The id of the set `export_levers` wrote."""
    request = ExportLeversRequest(path, scenario_id)
    return application.export_levers(workspace, request).parameter_set_id


# --- import and export -------------------------------------------------------------------


def test_the_reference_file_imports_without_edits(workspace: Workspace) -> None:
    update = import_file(workspace, REFERENCE_CSV, created_by="analyst")
    assert (update.parameter_set_id, update.parent_id, update.source) == (2, 1, "import")
    assert update.warnings == ()
    set_id, levers = active_set(workspace)
    assert set_id == 2
    expected = {
        (row["parameter_name"], int(row["fiscal_year"]), int(row["job_level"])): float(
            row["parameter_value"]
        )
        for row in reference_rows()
    }
    assert levers.values() == expected
    assert all(lever.is_locked for lever in levers)
    records = application.lever_history(workspace)
    assert [(r.source, r.parent_id, r.is_active) for r in records] == [
        ("init", None, False),
        ("import", 1, True),
    ]
    assert records[1].created_by == "analyst"
    # The history says how the set came from its parent (issue 15: merge, not a reset).
    assert records[1].note == "imported from comp_levers_reference.csv, merged into set 1"
    # The default scenario's import rewrites the workspace's comp_levers.csv.
    assert update.exported_to == workspace.levers_path
    exported = read_rows(workspace.levers_path)
    assert len(exported) == 125
    assert {(row["is_locked"], row["created_by"]) for row in exported} == {("true", "analyst")}


def test_export_then_import_gives_back_identical_floats(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = reference_rows()
    for index, row in enumerate(rows):  # values that need all 17 digits, mixed locks
        row["parameter_value"] = repr(float(row["parameter_value"]) + 1 / 3000)
        row["is_locked"] = str(index % 2)
    import_file(workspace, write_rows(tmp_path / "awkward.csv", rows))
    exported = workspace.levers_path  # rewritten by the import into `default`
    import_file(workspace, exported, scenario_id="copy")
    original, copy = lever_sets(workspace, 2, 3)
    assert copy.levers == original.levers  # every float and lock, exactly
    assert original.get(("cola_rate", 2027, 4)).value == 0.025 + 1 / 3000  # type: ignore[union-attr]
    second = export_file(workspace, tmp_path / "second.csv", "copy")
    assert second == 3
    ignore = ("scenario_id", "created_at", "created_by")
    assert [{k: v for k, v in row.items() if k not in ignore} for row in read_rows(exported)] == [
        {k: v for k, v in row.items() if k not in ignore}
        for row in read_rows(tmp_path / "second.csv")
    ]


def test_the_export_is_in_the_analysts_column_format(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    set_id = export_file(workspace, path)
    assert set_id == 1
    header = path.read_text().splitlines()[0]
    assert header == (
        "scenario_id,fiscal_year,job_level,event_type,parameter_name,parameter_value,"
        "is_locked,created_at,created_by"
    )
    rows = read_rows(path)
    assert len(rows) == 25
    assert {row["event_type"] for row in rows} == {"HIRE", "RAISE", "PROMOTION"}


BAD_FILES = {
    "bad-value": lambda rows: rows[3].update(parameter_value="high"),
    "several-scenarios": lambda rows: rows[7].update(scenario_id="other"),
    "duplicate-row": lambda rows: rows.append(dict(rows[0])),
    "out-of-range": lambda rows: rows[0].update(parameter_value="0.9"),
}


@pytest.mark.parametrize("spoil", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_failed_import_leaves_the_store_byte_for_byte_unchanged(
    workspace: Workspace, tmp_path: Path, spoil: object
) -> None:
    rows = reference_rows()
    spoil(rows)  # type: ignore[operator]
    path = write_rows(tmp_path / "bad.csv", rows)
    before = store_digests(workspace)
    with pytest.raises(ValidationFailed):
        import_file(workspace, path)
    assert store_digests(workspace) == before


def test_a_failed_import_names_every_offending_row(workspace: Workspace, tmp_path: Path) -> None:
    rows = reference_rows()
    rows[0]["parameter_name"] = "merit"
    rows[5]["event_type"] = "bonus"
    rows[9]["is_locked"] = "perhaps"
    with pytest.raises(ValidationFailed) as failure:
        import_file(workspace, write_rows(tmp_path / "bad.csv", rows))
    assert [(problem.row, problem.rule) for problem in failure.value.problems] == [
        (2, "unknown parameter"),
        (7, "unknown event type"),
        (11, "bad is_locked"),
    ]
    assert "nothing was stored" in str(failure.value)


def test_import_under_another_scenario_creates_it_and_leaves_default_alone(
    workspace: Workspace,
) -> None:
    before = file_digest(workspace.levers_path)
    update = import_file(workspace, REFERENCE_CSV, scenario_id="high_merit")
    assert update.created_scenario
    assert update.exported_to is None
    assert file_digest(workspace.levers_path) == before
    assert active_set(workspace)[0] == 1
    assert active_set(workspace, "high_merit")[1].scenario_id == "high_merit"
    assert [s.scenario_id for s in application.list_scenarios(workspace)] == [
        "default",
        "high_merit",
    ]


def test_import_warns_where_it_changes_a_locked_value(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    workspace = reference_workspace
    rows = reference_rows()
    rows[0]["parameter_value"] = "0.05"
    rows[1]["is_locked"] = "0"
    update = import_file(workspace, write_rows(tmp_path / "edit.csv", rows))
    assert update.stored
    messages = [w.message for w in update.warnings if w.rule == "locked value changed"]
    assert len(messages) == 2
    assert "merit_base 2025 level 1 is locked at 0.045" in messages[0]
    assert "unlocks it" in messages[1]


def test_an_import_racing_another_change_stores_nothing(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the read that validated the import and its write, another process edits.
    checked = levers_module._with_lock_warnings

    def edit_meanwhile(*args: object) -> object:
        edit(workspace, LeverEdit("cola_rate", 0.03))
        return checked(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(levers_module, "_with_lock_warnings", edit_meanwhile)
    with pytest.raises(UserError, match="changed while this command ran"):
        import_file(workspace, REFERENCE_CSV)
    assert [r.source for r in application.lever_history(workspace)] == ["init", "edit"]


# --- set ---------------------------------------------------------------------------------


def test_set_without_level_or_year_applies_to_every_level_and_simulated_year(
    workspace: Workspace,
) -> None:
    update = edit(workspace, LeverEdit("merit_base", 0.041), note="budget round 2")
    assert (update.parameter_set_id, update.parent_id, update.source) == (2, 1, "edit")
    table = resolved(workspace)
    for year in SIMULATED_YEARS:
        for level in LEVELS:
            assert table.value("merit_base", year, level) == 0.041
    _, levers = active_set(workspace)
    merit_rows = [lever for lever in levers if lever.parameter_name == "merit_base"]
    assert len(merit_rows) == 25  # the one 2025 row per level changed, 2026–2029 added
    assert table.value("cola_rate", 2027, 3) == 0.02  # other levers untouched
    assert application.lever_history(workspace)[-1].note == "budget round 2"


def test_set_for_one_level_changes_only_that_level(workspace: Workspace) -> None:
    update = edit(workspace, LeverEdit("promotion_raise", 0.15, level=3))
    assert {(d.parameter_name, d.job_level) for d in update.differences} == {("promotion_raise", 3)}
    table = resolved(workspace)
    assert [table.value("promotion_raise", 2029, level) for level in LEVELS] == [
        0.12,
        0.12,
        0.15,
        0.12,
        0.12,
    ]


def test_set_for_one_year_adds_that_years_row(workspace: Workspace) -> None:
    edit(workspace, LeverEdit("cola_rate", 0.03, year=2027, level=1))
    table = resolved(workspace)
    assert [table.value("cola_rate", year, 1) for year in SIMULATED_YEARS] == [
        0.02,
        0.02,
        0.03,
        0.03,  # later years without a row of their own take the nearest earlier year
        0.03,
    ]


def test_set_to_the_current_value_stores_nothing(workspace: Workspace) -> None:
    before = store_digests(workspace)
    update = edit(workspace, LeverEdit("cola_rate", 0.02))
    assert not update.stored
    assert store_digests(workspace) == before


def test_set_refuses_locked_values_and_names_them(reference_workspace: Workspace) -> None:
    workspace = reference_workspace
    before = store_digests(workspace)
    with pytest.raises(UserError) as failure:
        edit(workspace, LeverEdit("merit_base", 0.05, level=1))
    message = str(failure.value)
    assert "merit_base is locked" in message
    assert "2025 level 1 (0.045)" in message and "2029 level 1 (0.045)" in message
    assert "--force" in message
    assert store_digests(workspace) == before


def test_set_with_force_changes_locked_values_and_keeps_them_locked(
    reference_workspace: Workspace,
) -> None:
    workspace = reference_workspace
    update = edit(workspace, LeverEdit("merit_base", 0.05, level=1), force=True)
    assert update.stored
    _, levers = active_set(workspace)
    changed = [levers.get(("merit_base", year, 1)) for year in SIMULATED_YEARS]
    assert all(lever is not None and lever.value == 0.05 and lever.is_locked for lever in changed)
    assert "forced over locks" in (application.lever_history(workspace)[-1].note or "")


def test_a_lock_inherited_from_an_earlier_year_protects_later_years(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [row for row in reference_rows() if row["fiscal_year"] == "2025"]
    import_file(workspace, write_rows(tmp_path / "2025.csv", rows))
    with pytest.raises(UserError, match="2027 level 2"):
        edit(workspace, LeverEdit("cola_rate", 0.03, year=2027, level=2))


def test_a_lock_of_the_default_scenario_protects_a_scenario_that_inherits_it(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    workspace = reference_workspace  # default: every value locked
    merit_only = [row for row in reference_rows() if row["parameter_name"] == "merit_base"]
    for row in merit_only:
        row.update(scenario_id="stretch", is_locked="0")
    import_file(workspace, write_rows(tmp_path / "stretch.csv", merit_only))
    assert edit(workspace, LeverEdit("merit_base", 0.05), scenario_id="stretch").stored
    with pytest.raises(UserError, match="cola_rate is locked in scenario 'stretch'"):
        edit(workspace, LeverEdit("cola_rate", 0.03), scenario_id="stretch")


def test_set_rejects_bad_requests_before_touching_the_store(workspace: Workspace) -> None:
    before = store_digests(workspace)
    with pytest.raises(UserError, match=r"between 0 and 0\.25"):
        edit(workspace, LeverEdit("merit_base", 0.3))
    with pytest.raises(UserError, match="did you mean cola_rate"):
        edit(workspace, LeverEdit("cola_rat", 0.03))
    with pytest.raises(UserError, match="simulated year 2025–2029"):
        edit(workspace, LeverEdit("cola_rate", 0.03, year=2031))
    with pytest.raises(UserError, match="Unknown scenario 'nope'"):
        edit(workspace, LeverEdit("cola_rate", 0.03), scenario_id="nope")
    assert store_digests(workspace) == before


def test_set_in_another_scenario_does_not_touch_the_workspace_export(
    workspace: Workspace,
) -> None:
    application.create_scenario(workspace, CreateScenarioRequest("stretch"))
    before = file_digest(workspace.levers_path)
    update = edit(workspace, LeverEdit("cola_rate", 0.03), scenario_id="stretch")
    assert update.stored and update.exported_to is None
    assert file_digest(workspace.levers_path) == before
    assert resolved(workspace, "stretch").value("cola_rate", 2026, 1) == 0.03
    assert resolved(workspace).value("cola_rate", 2026, 1) == 0.02


def test_set_warns_outside_the_usual_range(workspace: Workspace) -> None:
    update = edit(workspace, LeverEdit("merit_base", 0.09, level=5))
    assert update.stored
    assert [w.rule for w in update.warnings] == ["outside usual range"]


def test_set_refreshes_the_workspace_export_of_default(workspace: Workspace) -> None:
    edit(workspace, LeverEdit("merit_base", 0.05, level=4, year=2025))
    rows = read_rows(workspace.levers_path)
    values = {
        (row["parameter_name"], row["fiscal_year"], row["job_level"]): row["parameter_value"]
        for row in rows
    }
    assert values[("merit_base", "2025", "4")] == "0.05"
    assert len(rows) == 25


# --- rollback, history, diff -------------------------------------------------------------


def test_rollback_restores_exactly_the_earlier_values_as_a_new_set(
    reference_workspace: Workspace,
) -> None:
    workspace = reference_workspace  # set 2: the reference file
    edit(workspace, LeverEdit("merit_base", 0.05), force=True)  # set 3
    edit(workspace, LeverEdit("cola_rate", 0.031, level=2), force=True)  # set 4
    update = application.rollback(workspace, 2)
    assert (update.parameter_set_id, update.parent_id, update.previous_id) == (5, 2, 4)
    original, edited, restored = lever_sets(workspace, 2, 4, 5)
    assert restored.levers == original.levers  # values and locks, bit for bit
    records = application.lever_history(workspace)
    assert [(r.parameter_set_id, r.source, r.is_active) for r in records] == [
        (1, "init", False),
        (2, "import", False),
        (3, "edit", False),
        (4, "edit", False),
        (5, "rollback", True),
    ]
    assert edited.get(("cola_rate", 2025, 2)).value == 0.031  # type: ignore[union-attr]
    exported = read_rows(workspace.levers_path)
    assert [row["parameter_value"] for row in exported] == [
        repr(lever.value) for lever in original.levers
    ]


def test_rollback_to_the_active_set_changes_nothing(workspace: Workspace) -> None:
    before = store_digests(workspace)
    update = application.rollback(workspace, 1)
    assert not update.stored and update.previous_id == 1
    assert store_digests(workspace) == before


def test_rollback_to_an_unknown_set_is_a_user_error(workspace: Workspace) -> None:
    with pytest.raises(UserError, match="There is no parameter set 99"):
        application.rollback(workspace, 99)


def test_rollback_of_another_scenario_activates_it_there(workspace: Workspace) -> None:
    created = application.create_scenario(workspace, CreateScenarioRequest("stretch"))
    edit(workspace, LeverEdit("cola_rate", 0.03), scenario_id="stretch")
    update = application.rollback(workspace, created.parameter_set_id)
    assert update.scenario_id == "stretch" and update.exported_to is None
    assert resolved(workspace, "stretch").value("cola_rate", 2026, 1) == 0.02
    assert active_set(workspace)[0] == 1


def test_history_of_one_scenario_and_of_an_unknown_one(workspace: Workspace) -> None:
    application.create_scenario(workspace, CreateScenarioRequest("stretch"))
    assert [r.scenario_id for r in application.lever_history(workspace, "stretch")] == ["stretch"]
    assert len(application.lever_history(workspace)) == 2
    with pytest.raises(UserError, match="Unknown scenario 'nope'"):
        application.lever_history(workspace, "nope")


def test_diff_shows_what_changed_between_two_sets(workspace: Workspace) -> None:
    edit(workspace, LeverEdit("merit_base", 0.05, level=1, year=2025))
    edit(workspace, LeverEdit("cola_rate", 0.025, level=2, year=2026))
    result = application.diff_parameter_sets(workspace, 1, 3)
    # Resolved per simulated year: a row carries forward to the later years, so the change
    # covers them, merged into one run of years.
    assert [
        (d.parameter_name, d.job_level, d.years, d.kind, d.before, d.after)
        for d in result.differences
    ] == [
        ("merit_base", 1, "2025–2029", "changed", 0.03, 0.05),
        ("cola_rate", 2, "2026–2029", "changed", 0.02, 0.025),
    ]
    assert result.as_dict()["after"] == result.after.as_dict()
    assert application.diff_parameter_sets(workspace, 3, 3).differences == ()


def test_diff_reads_from_the_older_set_to_the_newer(workspace: Workspace) -> None:
    edit(workspace, LeverEdit("cola_rate", 0.025))
    forward = application.diff_parameter_sets(workspace, 1, 2)
    backward = application.diff_parameter_sets(workspace, 2, 1)
    assert backward == forward
    assert (forward.before.parameter_set_id, forward.after.parameter_set_id) == (1, 2)
    assert {(d.before, d.after) for d in forward.differences} == {(0.02, 0.025)}


def test_rows_carried_forward_unchanged_are_not_differences() -> None:
    # An optimizer's set writes a row for every year; the same values as one start-year
    # row carried forward resolve identically, so nothing differs.
    years, levels = range(2025, 2030), (1, 2, 3, 4, 5)
    sparse = default_lever_set(2025, levels)
    every_year = sparse.with_values(
        {(lever.parameter_name, year, lever.job_level): lever.value
         for lever in sparse.levers for year in years}
    )  # fmt: skip
    assert len(every_year) == 5 * len(sparse)
    assert (
        diff_resolved(
            resolve_levers(years, levels, sparse), resolve_levers(years, levels, every_year)
        )
        == ()
    )


# --- scenarios ---------------------------------------------------------------------------


def test_a_new_scenario_starts_from_a_copy_of_the_source_scenarios_active_set(
    workspace: Workspace,
) -> None:
    edit(workspace, LeverEdit("merit_base", 0.045, level=2))  # default's set 2
    created = application.create_scenario(
        workspace, CreateScenarioRequest("stretch", note="what if")
    )
    assert (created.source_parameter_set_id, created.parameter_set_id) == (2, 3)
    source, copy = lever_sets(workspace, 2, 3)
    assert copy.levers == source.levers
    record = application.lever_history(workspace, "stretch")[0]
    assert (record.source, record.parent_id, record.is_active) == ("init", 2, True)
    listed = {s.scenario_id: s for s in application.list_scenarios(workspace)}
    assert listed["stretch"].created_from == "default"
    assert listed["stretch"].note == "what if"
    assert (listed["stretch"].active_parameter_set_id, listed["default"].parameter_set_count) == (
        3,
        2,
    )


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("default", "default", "already exists"),
        ("stretch", "nope", "Unknown scenario 'nope'"),
        ("two words", "default", "letters, digits"),
    ],
    ids=["exists", "unknown-source", "bad-name"],
)
def test_scenario_creation_errors(
    workspace: Workspace, name: str, source: str, message: str
) -> None:
    before = store_digests(workspace)
    with pytest.raises(UserError, match=message):
        application.create_scenario(workspace, CreateScenarioRequest(name, from_scenario=source))
    assert store_digests(workspace) == before


# --- validate ----------------------------------------------------------------------------


def test_validate_checks_the_workspace_export_by_default(workspace: Workspace) -> None:
    check = application.validate_levers_file(workspace)
    assert check.is_valid
    assert (check.source, check.row_count) == (str(workspace.levers_path), 25)


def test_validate_stores_nothing_and_warns_about_locked_values(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    workspace = reference_workspace
    rows = reference_rows()
    rows[0]["parameter_value"] = "0.05"
    path = write_rows(tmp_path / "edit.csv", rows)
    before = store_digests(workspace)
    check = application.validate_levers_file(workspace, path)
    assert check.is_valid
    assert [w.rule for w in check.warnings] == ["locked value changed"]
    assert store_digests(workspace) == before
