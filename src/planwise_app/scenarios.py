"""Scenarios in the sidebar: what the chosen one is, and a new one made as a named copy of
an existing one (`planwise.application.create_scenario`, as 'planwise levers scenario
create' does)."""

from __future__ import annotations

import streamlit as st

from planwise import application
from planwise.application import CreateScenarioRequest, StoreState, Workspace
from planwise.errors import UserError

__all__ = ["create_form", "describe"]

_NAME_KEY = "scenario_new_name"
_FROM_KEY = "scenario_new_from"
_NOTE_KEY = "scenario_new_note"
_MESSAGE_KEY = "scenario_message"


def describe(workspace: Workspace, scenario_id: str) -> None:
    """Where the chosen scenario came from and what it is for."""
    for record in application.list_scenarios(workspace):
        if record.scenario_id != scenario_id:
            continue
        origin = f"copy of '{record.created_from}'" if record.created_from else "the base scenario"
        text = f"Scenario '{scenario_id}': {origin}, made by {record.created_by}"
        if record.note:
            text += f" — {record.note}"
        st.caption(text)


def _create(workspace: Workspace, scenario_key: str) -> None:
    """The button's callback: runs before the page, so the new scenario can be chosen."""
    name = str(st.session_state.get(_NAME_KEY) or "").strip()
    request = CreateScenarioRequest(
        scenario_id=name,
        from_scenario=str(st.session_state.get(_FROM_KEY)),
        note=str(st.session_state.get(_NOTE_KEY) or "").strip() or None,
    )
    try:
        created = application.create_scenario(workspace, request)
    except UserError as error:
        st.session_state[_MESSAGE_KEY] = ("error", str(error))
        return
    st.session_state[scenario_key] = created.scenario_id
    st.session_state[_NAME_KEY] = ""
    st.session_state[_NOTE_KEY] = ""
    st.session_state[_MESSAGE_KEY] = (
        "success",
        f"Scenario '{created.scenario_id}' made from '{created.from_scenario}': its parameter "
        f"set {created.parameter_set_id} copies set {created.source_parameter_set_id}.",
    )


def create_form(workspace: Workspace, state: StoreState, scenario_key: str) -> None:
    """A named copy of a scenario: its own parameter sets, runs and optimizations."""
    message = st.session_state.pop(_MESSAGE_KEY, None)
    with st.expander("New scenario", expanded=message is not None and message[0] == "error"):
        st.text_input(
            "Name",
            key=_NAME_KEY,
            placeholder="e.g. low_cola_2026",
            help="Letters, digits, _ and -.",
        )
        st.selectbox("Copy the active levers of", state.scenarios, key=_FROM_KEY)
        st.text_input("What it is for (optional)", key=_NOTE_KEY)
        st.button(
            "Create scenario",
            key="scenario_create",
            on_click=_create,
            args=(workspace, scenario_key),
        )
    if message is not None:
        kind, text = message
        (st.error if kind == "error" else st.success)(text)
