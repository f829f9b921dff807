"""Every public module imports on its own, first, in a fresh process (regression).

Defect: `import planwise.parameters.operations` as the first import failed with a circular
import (operations → service → optimization → loop → operations); the Streamlit server hit
it while pytest and the CLI did not, because their import order hid it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "planwise.application",
    "planwise.application.analytics",
    "planwise.application.levers",
    "planwise.application.tuning",
    "planwise.census.load",
    "planwise.cli",
    "planwise.metrics",
    "planwise.optimization",
    "planwise.optimization.loop",
    "planwise.simulation",
    "planwise.storage.runs",
    "planwise_dagster",
    "planwise_dbt",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first_in_a_fresh_process(module: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
