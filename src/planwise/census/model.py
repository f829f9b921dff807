"""The census: the starting workforce as loaded, validated and stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planwise.simulation.state import Workforce

__all__ = ["CENSUS_COLUMNS", "Census", "census_id_for"]

CENSUS_COLUMNS = (
    "employee_id",
    "birth_date",
    "hire_date",
    "termination_date",
    "active",
    "job_level",
    "job_level_source",
    "annual_salary",
    "gender",
    "department",
    "in_starting_workforce",
)


def census_id_for(frame: pd.DataFrame) -> str:
    """A content hash of the canonical census columns: same rows, same id, in any process."""
    canonical = frame.loc[:, list(CENSUS_COLUMNS)].sort_values("employee_id", kind="stable")
    digest = hashlib.sha256(canonical.to_csv(index=False, date_format="%Y-%m-%d").encode("utf-8"))
    return "census_" + digest.hexdigest()[:16]


@dataclass(frozen=True)
class Census:
    """A validated census in canonical columns (`CENSUS_COLUMNS`).

    `in_starting_workforce` marks the rows active at the as-of date; terminated rows stay
    in the census, flagged, outside the start.
    """

    census_id: str
    as_of_date: dt.date
    frame: pd.DataFrame

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, as_of_date: dt.date) -> Census:
        canonical = frame.loc[:, list(CENSUS_COLUMNS)].reset_index(drop=True)
        return cls(census_id_for(canonical), as_of_date, canonical)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def starting_headcount(self) -> int:
        return int(self.frame["in_starting_workforce"].sum())

    def starting_workforce(self) -> Workforce:
        start = self.frame[self.frame["in_starting_workforce"]]
        return Workforce.build(
            employee_id=start["employee_id"].to_numpy(dtype=object),
            birth_date=start["birth_date"].to_numpy(dtype="datetime64[D]"),
            hire_date=start["hire_date"].to_numpy(dtype="datetime64[D]"),
            job_level=start["job_level"].to_numpy(dtype=np.int64),
            annual_salary=start["annual_salary"].to_numpy(dtype=np.float64),
            gender=start["gender"].fillna("").to_numpy(dtype=object),
        )
