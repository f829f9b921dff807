"""The census: import a file, generate a demo census, check a file, read the active one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from planwise.application.workspace import Workspace
from planwise.census import Census
from planwise.census import generate_census as generate
from planwise.census.load import DroppedDuplicate, LoadedCensus, read_census
from planwise.config import check_seed
from planwise.errors import Problem, UserError
from planwise.simulation.state import Workforce
from planwise.storage import census_store

__all__ = [
    "MAX_GENERATED_EMPLOYEES",
    "ActiveCensus",
    "CensusChecked",
    "CensusStored",
    "GenerateCensusRequest",
    "ImportCensusRequest",
    "active_census",
    "generate_census",
    "import_census",
    "validate_census_file",
]


MAX_GENERATED_EMPLOYEES = 10_000_000
"""The largest demo census: ten times the largest workforce PlanWise is measured at (1M);
a larger one would not fit in a workstation's memory."""


@dataclass(frozen=True)
class ImportCensusRequest:
    path: Path
    keep_latest: bool = False
    """For duplicate employee_id rows keep the last one (reported) instead of rejecting."""


@dataclass(frozen=True)
class GenerateCensusRequest:
    employees: int
    seed: int = 42


@dataclass(frozen=True)
class CensusChecked:
    """A census file that passed every rule (and the duplicates `keep_latest` dropped)."""

    census: Census
    dropped_duplicates: tuple[DroppedDuplicate, ...] = ()

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """Rows accepted with a warning (a salary an order of magnitude outside the bands):
        up to 20 examples per rule; `warning_counts` counts them all."""
        return self.census.warnings if isinstance(self.census, LoadedCensus) else ()

    @property
    def warning_counts(self) -> dict[str, int]:
        return dict(self.census.warning_counts) if isinstance(self.census, LoadedCensus) else {}

    @property
    def census_id(self) -> str:
        return self.census.census_id

    @property
    def rows(self) -> int:
        return len(self.census)

    @property
    def starting_headcount(self) -> int:
        return self.census.starting_headcount


@dataclass(frozen=True)
class CensusStored(CensusChecked):
    """A census stored and made the active one."""


def _checked(census: Census) -> tuple[DroppedDuplicate, ...]:
    return census.dropped_duplicates if isinstance(census, LoadedCensus) else ()


def validate_census_file(workspace: Workspace, request: ImportCensusRequest) -> CensusChecked:
    """Check a census file against every rule without storing it."""
    census = read_census(request.path, workspace.settings(), keep_latest=request.keep_latest)
    return CensusChecked(census, _checked(census))


def import_census(workspace: Workspace, request: ImportCensusRequest) -> CensusStored:
    """Validate a census file and store it as the active census; a bad file is rejected
    whole and nothing is stored."""
    settings = workspace.settings()
    census = read_census(request.path, settings, keep_latest=request.keep_latest)
    with workspace.database(settings).transaction() as connection:
        census_store.store_census(connection, census, str(request.path))
    return CensusStored(census, _checked(census))


def generate_census(workspace: Workspace, request: GenerateCensusRequest) -> CensusStored:
    """A realistic, reproducible census of `employees` people, stored as the active one."""
    if request.employees < 1:
        raise UserError(f"--employees must be at least 1, got {request.employees}.")
    if request.employees > MAX_GENERATED_EMPLOYEES:
        raise UserError(
            f"--employees must be at most {MAX_GENERATED_EMPLOYEES:,}, got "
            f"{request.employees:,}: a larger census would not fit in memory."
        )
    check_seed(request.seed)
    settings = workspace.settings()
    census = generate(request.employees, request.seed, settings)
    with workspace.database(settings).transaction() as connection:
        census_store.store_census(
            connection, census, f"generated: {request.employees} employees, seed {request.seed}"
        )
    return CensusStored(census)


@dataclass(frozen=True)
class ActiveCensus:
    """The active census and its starting workforce (what every run starts from)."""

    census: Census
    workforce: Workforce


def active_census(workspace: Workspace, census_id: str | None = None) -> ActiveCensus:
    """The active census (or the one named), whole, with its starting workforce."""
    with workspace.database().connect(read_only=True) as connection:
        chosen = census_id or census_store.active_census_id(connection)
        census = census_store.load_census(connection, chosen)
    return ActiveCensus(census, census.starting_workforce())
