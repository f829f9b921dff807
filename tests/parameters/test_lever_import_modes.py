"""Importing a levers file that names only some levers (issue 15, "no silent reset"): its
rows are merged into the active set and the rest keep their values; `replace` makes the
file's rows the whole set. Locks are warned about as before."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from lever_support import read_rows, reference_rows, write_rows

from planwise import application
from planwise.application import ImportLeversRequest, Workspace
from planwise.application.levers import LeversImported
from planwise.parameters.levers import LeverSet
from planwise.storage import parameter_store

SIMULATED_YEARS = range(2025, 2030)
PARTIAL = [
    # scenario_id, fiscal_year, job_level, event_type, parameter_name, parameter_value
    ("default", 2025, 3, "RAISE", "cola_rate", "0.03"),
    ("default", 2026, 1, "RAISE", "merit_base", "0.05"),
]


def partial_file(directory: Path, rows: list[tuple[object, ...]] = PARTIAL, **extra: str) -> Path:
    columns = ("scenario_id", "fiscal_year", "job_level", "event_type", "parameter_name")
    return write_rows(
        directory / "partial.csv",
        [
            {**dict(zip(columns, row[:5], strict=True)), "parameter_value": row[5], **extra}
            for row in rows
        ],
    )


def import_file(workspace: Workspace, path: Path, **options: Any) -> LeversImported:
    return application.import_levers(workspace, ImportLeversRequest(path, **options))


def active_set(workspace: Workspace, scenario_id: str = "default") -> tuple[int, LeverSet]:
    with workspace.database().connect(read_only=True) as connection:
        set_id = parameter_store.active_parameter_set_id(connection, scenario_id)
        assert set_id is not None
        return set_id, parameter_store.load_lever_set(connection, set_id)


def test_a_partial_file_changes_only_the_rows_it_names(
    workspace: Workspace, tmp_path: Path
) -> None:
    _, before = active_set(workspace)  # set 1: the built-in defaults, a row per lever and level
    assert len(before) == 25
    update = import_file(workspace, partial_file(tmp_path))
    set_id, after = active_set(workspace)
    assert (set_id, update.parameter_set_id, update.mode) == (2, 2, "merge")
    assert len(after) == 26  # the 25 rows kept, the 2026 merit row added
    expected = before.values() | {("cola_rate", 2025, 3): 0.03, ("merit_base", 2026, 1): 0.05}
    assert after.values() == expected
    assert [(d.parameter_name, d.fiscal_year, d.job_level, d.before, d.after)
            for d in update.differences] == [
        ("cola_rate", 2025, 3, 0.02, 0.03),
        ("merit_base", 2026, 1, None, 0.05),
    ]  # fmt: skip
    assert update.summary == (
        f"Merged 2 row(s) of {tmp_path / 'partial.csv'} into set 1 of scenario default: "
        "Merit at level 1 in 2026; COLA at level 3 in 2025; the other levers keep their values."
    )
    assert update.as_dict()["mode"] == "merge" and update.as_dict()["file_rows"] == 2
    assert application.lever_history(workspace)[-1].note == (
        "imported from partial.csv, merged into set 1"
    )
    # The workspace's comp_levers.csv follows the merged set, not the file.
    assert len(read_rows(workspace.levers_path)) == 26


def test_a_partial_file_keeps_the_values_of_a_full_set(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    # Regression (issue 15): importing one lever used to reset the other 120 rows to the
    # built-in defaults.
    _, before = active_set(reference_workspace)
    rows = [("default", 2025, level, "RAISE", "merit_base", "0.05") for level in (1, 2, 3, 4, 5)]
    import_file(reference_workspace, partial_file(tmp_path, rows, is_locked="true"))
    _, after = active_set(reference_workspace)
    assert len(after) == 125
    changed = {key for key in after.values() if after.values()[key] != before.values()[key]}
    assert changed == {("merit_base", 2025, level) for level in (1, 2, 3, 4, 5)}
    assert all(lever.is_locked for lever in after)


def test_replace_makes_the_files_rows_the_whole_set(workspace: Workspace, tmp_path: Path) -> None:
    update = import_file(workspace, partial_file(tmp_path), replace=True)
    _, after = active_set(workspace)
    assert update.mode == "replace"
    assert after.values() == {("cola_rate", 2025, 3): 0.03, ("merit_base", 2026, 1): 0.05}
    assert sum(d.after is None for d in update.differences) == 24  # the rows it dropped
    assert update.summary.startswith(
        f"Replaced the whole set 1 of scenario default with the 2 row(s) of "
        f"{tmp_path / 'partial.csv'} (Merit at level 1 in 2026; COLA at level 3 in 2025)"
    )
    assert "take the built-in defaults" in update.summary
    assert update.as_dict()["mode"] == "replace"
    assert application.lever_history(workspace)[-1].note == (
        "imported from partial.csv, replacing set 1"
    )


def test_a_merge_warns_only_about_the_locked_values_it_changes(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    path = partial_file(
        tmp_path, [("default", 2025, 1, "RAISE", "merit_base", "0.05")], is_locked="1"
    )
    merged = import_file(reference_workspace, path)
    assert [(w.rule, w.message) for w in merged.warnings] == [
        (
            "locked value changed",
            "merit_base 2025 level 1 is locked at 0.045 in the active set; the file sets 0.05",
        )
    ]


def test_a_replace_warns_about_every_locked_value_it_drops(
    reference_workspace: Workspace, tmp_path: Path
) -> None:
    path = partial_file(
        tmp_path, [("default", 2025, 1, "RAISE", "merit_base", "0.045")], is_locked="1"
    )
    check = application.validate_levers_file(reference_workspace, path, replace=True)
    assert [w.rule for w in check.warnings] == ["locked value changed"] * 124
    assert all("drops the row" in w.message for w in check.warnings)
    assert application.validate_levers_file(reference_workspace, path).warnings == ()
    replaced = import_file(reference_workspace, path, replace=True)
    assert len(replaced.warnings) == 124 and replaced.stored


def test_a_new_scenario_starts_from_the_files_rows(workspace: Workspace, tmp_path: Path) -> None:
    update = import_file(workspace, partial_file(tmp_path), scenario_id="stretch")
    assert update.created_scenario and update.previous_id is None
    assert active_set(workspace, "stretch")[1].values() == {
        ("cola_rate", 2025, 3): 0.03,
        ("merit_base", 2026, 1): 0.05,
    }
    assert update.summary == (
        f"Stored the 2 row(s) of {tmp_path / 'partial.csv'} as the first set of scenario "
        "stretch (Merit at level 1 in 2026; COLA at level 3 in 2025); the levers it does not "
        "name take the default scenario's values."
    )


@pytest.mark.parametrize("typed", ["-0.0", "-0"])
def test_a_negative_zero_is_stored_as_zero_with_a_warning(
    workspace: Workspace, tmp_path: Path, typed: str
) -> None:
    path = partial_file(
        tmp_path, [("default", 2025, 5, "PROMOTION", "promotion_probability", typed)]
    )
    update = import_file(workspace, path)
    assert [(w.rule, w.row, w.value) for w in update.warnings] == [("negative zero", 2, typed)]
    stored = active_set(workspace)[1].get(("promotion_probability", 2025, 5))
    assert stored is not None and math.copysign(1.0, stored.value) == 1.0
    exported = [
        row["parameter_value"]
        for row in read_rows(workspace.levers_path)
        if (row["parameter_name"], row["job_level"]) == ("promotion_probability", "5")
    ]
    assert exported == ["0.0"]


def test_the_reference_file_merged_into_the_defaults_is_the_reference_file(
    workspace: Workspace,
) -> None:
    # A full file gives the same set either way: the defaults have no row it does not name.
    from lever_support import REFERENCE_CSV

    merged = import_file(workspace, REFERENCE_CSV)
    expected = {
        (row["parameter_name"], int(row["fiscal_year"]), int(row["job_level"])): float(
            row["parameter_value"]
        )
        for row in reference_rows()
    }
    assert merged.mode == "merge"
    assert active_set(workspace)[1].values() == expected
