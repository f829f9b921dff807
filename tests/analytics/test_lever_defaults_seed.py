"""The `lever_defaults` seed is generated from the lever declarations and equals them."""

from __future__ import annotations

import csv
import io

from planwise.parameters.declarations import PARAMETERS
from planwise_dbt import lever_defaults_seed_path, render_lever_defaults_csv


def test_seed_file_is_the_rendered_declarations() -> None:
    assert lever_defaults_seed_path().read_text(encoding="utf-8") == render_lever_defaults_csv()


def test_seed_rows_equal_every_declared_default() -> None:
    rows = list(csv.DictReader(io.StringIO(lever_defaults_seed_path().read_text())))
    seeded = {
        (row["parameter_name"], row["event_type"], int(row["job_level"])): float(
            row["default_value"]
        )
        for row in rows
    }
    declared = {
        (spec.name, spec.event_type, level): spec.default_for(level)
        for spec in PARAMETERS
        for level in range(1, len(spec.defaults) + 1)
    }
    assert len(rows) == len(seeded)
    assert seeded == declared
