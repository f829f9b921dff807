"""`comp_levers.csv`: the import/export format analysts edit (not the store).

Reading gives raw rows for `validation`; writing puts one row per lever of a set, values
as `repr` so that export → import gives back the identical floats.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

from planwise.errors import UserError, shown_text
from planwise.parameters.levers import LeverSet
from planwise.parameters.validation import LeverFileRow

__all__ = ["LEVER_CSV_COLUMNS", "read_levers_csv", "write_levers_csv"]

LEVER_CSV_COLUMNS = (
    "scenario_id",
    "fiscal_year",
    "job_level",
    "event_type",
    "parameter_name",
    "parameter_value",
    "is_locked",
    "created_at",
    "created_by",
)


def read_levers_csv(path: Path) -> tuple[tuple[str, ...], tuple[LeverFileRow, ...]]:
    """The header (trimmed, lower-case) and the data rows, numbered as in a spreadsheet.

    The header is row 1; blank lines keep their number but yield no row. A byte-order mark
    (as Excel writes) is dropped. Raises `UserError` if the file cannot be read as text.
    """
    line = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            records = []
            for record in reader:
                line = reader.line_num
                records.append(record)
    except FileNotFoundError:
        raise UserError(f"There is no file {path}.") from None
    except csv.Error as error:
        where = f" (after line {line})" if line else ""
        raise UserError(
            f"{path} cannot be read as a CSV file{where}: {shown_text(str(error), 200)}. A "
            "levers file holds short values; check the quotes and the separator."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(
            f"{path} cannot be read as a UTF-8 CSV file: {shown_text(str(error), 200)}."
        ) from None
    if not records:
        return (), ()
    columns = tuple(name.strip().lower() for name in records[0])
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(field.strip() for field in record):
            continue
        rows.append(
            LeverFileRow(
                row_number=number,
                values=dict(zip(columns, record, strict=False)),
                extra_fields=tuple(record[len(columns) :]),
            )
        )
    return columns, tuple(rows)


def write_levers_csv(
    lever_set: LeverSet, path: Path, created_at: dt.datetime, created_by: str
) -> None:
    """Write a parameter set's rows; values use `repr` so the round trip is exact.

    The rows go to a file beside `path` that then replaces it: a reader never sees half a
    file, and a failed write leaves the previous file as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(LEVER_CSV_COLUMNS)
            for lever in lever_set.levers:
                writer.writerow(
                    [
                        lever_set.scenario_id,
                        lever.fiscal_year,
                        lever.job_level,
                        lever.event_type,
                        lever.parameter_name,
                        repr(lever.value),
                        str(lever.is_locked).lower(),
                        created_at.isoformat(sep=" ", timespec="seconds"),
                        created_by,
                    ]
                )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
