"""Helpers the app tests share (conftest holds the fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from streamlit.testing.v1 import AppTest

from planwise import application
from planwise.application import EditLeversRequest, LeverEdit, Workspace
from planwise_app import background

__all__ = [
    "OpenApp",
    "active_set",
    "finish_optimization",
    "frame",
    "set_lever",
    "switch",
    "texts",
]

OpenApp = Callable[[str], AppTest]
"""The `open_app` fixture: the app run once with the named tab open."""


def switch(app: AppTest, tab: str) -> AppTest:
    """Open another tab (the open tab is bound to the address: `?tab=Impact`)."""
    app.query_params["tab"] = tab
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def texts(app: AppTest) -> str:
    """Everything the page says in text elements, joined (for `in` assertions)."""
    parts = [
        *(item.value for item in app.markdown),
        *(item.value for item in app.caption),
        *(item.value for item in app.success),
        *(item.value for item in app.info),
        *(item.value for item in app.warning),
        *(item.value for item in app.error),
        *(item.value for item in app.subheader),
    ]
    return "\n".join(str(part) for part in parts)


def frame(app: AppTest, key: str) -> pd.DataFrame:
    """The table the app shows in the container with this key."""
    return app.container(key=key).dataframe[0].value


def active_set(workspace: Workspace, scenario_id: str = "default") -> int | None:
    """The scenario's active parameter set, as the store has it now."""
    return application.store_state(workspace).active_set(scenario_id)


def set_lever(
    workspace: Workspace, name: str, value: float, *, level: int | None = None
) -> int | None:
    """A lever edit made outside the app (e.g. from the CLI); the new set's id."""
    update = application.edit_levers(
        workspace, EditLeversRequest((LeverEdit(name, value, level=level),))
    )
    return update.parameter_set_id


def finish_optimization(
    app: AppTest, workspace: Workspace, scenario_id: str = "default"
) -> AppTest:
    """Wait for the optimization the app started in the background, then rerun the page."""
    job = background.job_for(str(workspace.database_path), scenario_id)
    assert job is not None, "no optimization was started"
    assert job.wait(timeout=300), "the optimization did not finish in 5 minutes"
    app.run()
    assert not app.exception, [item.value for item in app.exception]
    return app
