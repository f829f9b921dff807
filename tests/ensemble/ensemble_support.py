"""Constants of the ensemble tests."""

EMPLOYEES = 1_200
YEARS = 3
