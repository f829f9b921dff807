"""The workforce as whole-population arrays: the state carried from one year to the next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from planwise.simulation.random import hash_ids

__all__ = ["Workforce"]


@dataclass(frozen=True)
class Workforce:
    """Active employees at a point in time, one array element per employee.

    Dates are `datetime64[D]`; `annual_salary` is an annual rate, never prorated pay.
    `gender` is "F", "M", another label, or "" when unknown.
    """

    employee_id: npt.NDArray[np.object_]
    birth_date: npt.NDArray[np.datetime64]
    hire_date: npt.NDArray[np.datetime64]
    job_level: npt.NDArray[np.int64]
    annual_salary: npt.NDArray[np.float64]
    gender: npt.NDArray[np.object_]
    id_hash: npt.NDArray[np.uint64]

    @classmethod
    def build(
        cls,
        employee_id: npt.ArrayLike,
        birth_date: npt.ArrayLike,
        hire_date: npt.ArrayLike,
        job_level: npt.ArrayLike,
        annual_salary: npt.ArrayLike,
        gender: npt.ArrayLike | None = None,
    ) -> Workforce:
        ids = np.asarray(employee_id, dtype=object)
        size = len(ids)
        genders = (
            np.full(size, "", dtype=object) if gender is None else np.asarray(gender, dtype=object)
        )
        return cls(
            employee_id=ids,
            birth_date=np.asarray(birth_date, dtype="datetime64[D]"),
            hire_date=np.asarray(hire_date, dtype="datetime64[D]"),
            job_level=np.asarray(job_level, dtype=np.int64),
            annual_salary=np.asarray(annual_salary, dtype=np.float64),
            gender=genders,
            id_hash=hash_ids(ids),
        )

    @classmethod
    def empty(cls) -> Workforce:
        """No employees: the hires of a year before its hiring step has run."""
        return cls.build([], [], [], [], [])

    @classmethod
    def from_columns(cls, columns: Mapping[str, npt.ArrayLike]) -> Workforce:
        """From a query's columns by name (`employee_id`, `birth_date`, `hire_date`,
        `job_level`, `annual_salary`, `gender` with "" for unknown), e.g. `fetchnumpy()`."""
        return cls.build(
            employee_id=np.asarray(columns["employee_id"], dtype=object),
            birth_date=np.asarray(columns["birth_date"]).astype("datetime64[D]"),
            hire_date=np.asarray(columns["hire_date"]).astype("datetime64[D]"),
            job_level=np.asarray(columns["job_level"], dtype=np.int64),
            annual_salary=np.asarray(columns["annual_salary"], dtype=np.float64),
            gender=np.asarray(columns["gender"], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.employee_id)

    def take(self, selector: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Workforce:
        return Workforce(**{f.name: getattr(self, f.name)[selector] for f in fields(self)})

    def with_pay(
        self, job_level: npt.NDArray[np.int64], annual_salary: npt.NDArray[np.float64]
    ) -> Workforce:
        return Workforce(
            employee_id=self.employee_id,
            birth_date=self.birth_date,
            hire_date=self.hire_date,
            job_level=job_level,
            annual_salary=annual_salary,
            gender=self.gender,
            id_hash=self.id_hash,
        )

    @staticmethod
    def concat(first: Workforce, second: Workforce) -> Workforce:
        return Workforce(
            **{
                f.name: np.concatenate([getattr(first, f.name), getattr(second, f.name)])
                for f in fields(first)
            }
        )
