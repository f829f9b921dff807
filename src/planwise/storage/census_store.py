"""Census versions: stored whole, keyed by their content hash; one is active."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from planwise.census.model import CENSUS_COLUMNS, Census
from planwise.errors import UserError
from planwise.simulation.state import Workforce
from planwise.storage.database import insert_frame

__all__ = ["active_census_id", "load_census", "load_starting_workforce", "store_census"]


def store_census(connection: duckdb.DuckDBPyConnection, census: Census, source: str) -> bool:
    """Store a census and make it active. Returns False if the same content was stored before."""
    (exists,) = connection.execute(
        "SELECT count(*) FROM census_versions WHERE census_id = ?", [census.census_id]
    ).fetchone() or (0,)
    connection.execute("UPDATE census_versions SET is_active = false WHERE is_active")
    if exists:
        connection.execute(
            "UPDATE census_versions SET is_active = true WHERE census_id = ?", [census.census_id]
        )
        return False
    frame = census.frame.loc[:, list(CENSUS_COLUMNS)].copy()
    frame.insert(0, "census_id", census.census_id)
    # Runs number the starting workforce by this key and read its attributes from here.
    starting = frame["in_starting_workforce"].to_numpy(dtype=bool)
    frame["workforce_key"] = pd.array(np.cumsum(starting) - 1, dtype="Int32")
    frame.loc[~starting, "workforce_key"] = pd.NA
    insert_frame(connection, "census", frame)
    connection.execute(
        "INSERT INTO census_versions VALUES (?, ?, ?, ?, ?, ?, true, NULL)",
        [
            census.census_id,
            source,
            len(census),
            census.starting_headcount,
            census.as_of_date,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    return True


def active_census_id(connection: duckdb.DuckDBPyConnection) -> str:
    row = connection.execute("SELECT census_id FROM census_versions WHERE is_active").fetchone()
    if row is None:
        raise UserError(
            "The workspace has no census yet. Import one with 'planwise census import FILE' "
            "or make one with 'planwise census generate --employees N'."
        )
    return str(row[0])


def load_census(connection: duckdb.DuckDBPyConnection, census_id: str) -> Census:
    version = connection.execute(
        "SELECT as_of_date FROM census_versions WHERE census_id = ?", [census_id]
    ).fetchone()
    if version is None:
        raise UserError(f"There is no census {census_id} in this workspace.")
    columns = ", ".join(CENSUS_COLUMNS)
    frame = connection.execute(
        f"SELECT {columns} FROM census WHERE census_id = ? ORDER BY rowid",
        [census_id],
    ).df()
    return Census(census_id, version[0], frame)


def load_starting_workforce(
    connection: duckdb.DuckDBPyConnection, census_id: str
) -> tuple[dt.date, Workforce]:
    """The census as-of date and its starting workforce, exactly as
    `load_census(...).starting_workforce()` gives them, without building the whole census."""
    version = connection.execute(
        "SELECT as_of_date FROM census_versions WHERE census_id = ?", [census_id]
    ).fetchall()
    if not version:
        raise UserError(f"There is no census {census_id} in this workspace.")
    columns = connection.execute(
        """SELECT employee_id, birth_date, hire_date, job_level, annual_salary,
                  coalesce(gender, '') AS gender
        FROM census WHERE census_id = ? AND workforce_key IS NOT NULL
        ORDER BY workforce_key""",
        [census_id],
    ).fetchnumpy()
    return version[0][0], Workforce.from_columns(columns)
