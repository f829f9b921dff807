"""The census: loading, validation and generation of the starting workforce."""

from planwise.census.generate import generate_census
from planwise.census.model import CENSUS_COLUMNS, Census

__all__ = ["CENSUS_COLUMNS", "Census", "generate_census"]
