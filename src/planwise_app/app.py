"""PlanWise Navigator for analysts: tune, run, review, auto-optimize.

Streamlit runs this script (`planwise ui` starts it); every tab is a module of layout plus
calls into `planwise`. Only the open tab's script runs on a rerun.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

import streamlit as st

from planwise import application
from planwise.application import StoreState, Workspace
from planwise.errors import DatabaseLockedError, UserError
from planwise_app import (
    history_tab,
    impact_tab,
    optimize_tab,
    overview_tab,
    results_tab,
    run_tab,
    scenarios,
)
from planwise_app.common import Page, render_guarded, workspace_from

TABS: dict[str, Callable[[Page], None]] = {
    "Overview": overview_tab.render,
    "Impact": impact_tab.render,
    "Run": run_tab.render,
    "Results": results_tab.render,
    "Auto-Optimize": optimize_tab.render,
    "History": history_tab.render,
}
TAB_KEY = "tab"
SCENARIO_KEY = "scenario"


def _open_workspace() -> tuple[Workspace, StoreState]:
    try:
        workspace = Workspace(workspace_from(sys.argv[1:], os.environ))
        return workspace, application.store_state(workspace)
    except DatabaseLockedError as error:
        st.error(str(error), icon=":material/lock:")
        st.button("Try again", key="retry_workspace")
    except UserError as error:
        st.error(str(error))
    st.stop()


def _sidebar(workspace: Workspace, state: StoreState) -> str:
    with st.sidebar:
        st.title("PlanWise Navigator")
        st.caption(f"Workspace: `{workspace.root}`")
        scenario_id = st.selectbox("Scenario", state.scenarios, key=SCENARIO_KEY)
        active = state.active_set(scenario_id)
        st.caption(
            f"Active parameter set: {active if active is not None else '—'} · "
            f"latest run: {state.latest_run_id or '—'}"
        )
        scenarios.describe(workspace, str(scenario_id))
        scenarios.create_form(workspace, state, SCENARIO_KEY)
        st.caption(f"Changes are recorded as {application.current_user()}.")
        st.button("Refresh", help="Re-read the workspace (e.g. after a CLI command).")
    return str(scenario_id)


def main() -> None:
    st.set_page_config(
        page_title="PlanWise Navigator", page_icon=":material/insights:", layout="wide"
    )
    workspace, state = _open_workspace()
    page = Page(workspace, state, _sidebar(workspace, state))
    tabs = st.tabs(list(TABS), key=TAB_KEY, on_change="rerun", bind="query-params")
    for tab, (name, render) in zip(tabs, TABS.items(), strict=True):
        if tab.open:
            with tab:
                render_guarded(name, functools.partial(render, page))


main()
