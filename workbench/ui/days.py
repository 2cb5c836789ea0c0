"""How pages name training days and scenarios in pickers, and the scenario preview.

A selectbox hands its choice back by the *shown label* (Streamlit maps the label to the first
option with that text), so two days named alike made every pick land on the first one while
codes and "Dag sluiten" acted on the other (issue 14, item 1). Every label here therefore ends
in the day's id (`#12`) or the scenario's id, and every day picker uses `day_label`.
"""

from __future__ import annotations

import streamlit as st

from workbench.domain.library import Library
from workbench.services import training
from workbench.ui.components import untrusted
from workbench.ui.i18n import t


def day_status(day: training.DayView) -> str:
    return t("days.status.archived") if day.archived else t(f"days.status.{day.status}")


def day_label(day: training.DayView) -> str:
    """name · date · status · #id — unique even for days with the same name and date."""
    return t("days.label", name=day.name, date=f"{day.day:%d-%m-%Y}", status=day_status(day),
             id=day.id)


def scenario_label(library: Library, scenario_id: str) -> str:
    """title (id) · risk · writer · number of content warnings: enough to choose by."""
    sc = library.scenarios[scenario_id].scenario
    return t("days.scenario_label", title=sc.title, id=sc.id,
             risk=t(f"figures.category.{sc.risk_level}"), writer=t(f"figures.category.{sc.writer}"),
             warnings=len(sc.content_warnings))


def scenario_preview(library: Library, *, key: str) -> None:
    """Pick one scenario and read it: persona, situation, content warnings, risk, writer.
    Scenario text is shown as plain text, never as Markdown."""
    ids = sorted(library.scenarios)
    if not ids:
        return
    sid = st.selectbox(t("days.preview.pick"), ids, key=key,
                       format_func=lambda i: scenario_label(library, i))
    sc = library.scenarios[sid].scenario
    with st.container(border=True):
        st.caption(t("days.preview.facts", risk=t(f"figures.category.{sc.risk_level}"),
                     writer=t(f"figures.category.{sc.writer}")))
        st.caption(t("days.preview.persona"))
        age = f", {sc.persona.age}" if sc.persona.age is not None else ""
        untrusted(f"{sc.persona.name}{age}\n{sc.persona.description}")
        st.caption(t("days.preview.situation"))
        untrusted(sc.situation)
        st.caption(t("days.preview.warnings"))
        untrusted("\n".join(f"- {w}" for w in sc.content_warnings) or t("days.preview.none"))
