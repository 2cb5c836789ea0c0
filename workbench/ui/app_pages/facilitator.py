"""Facilitator: set up a training day, hand out join codes, follow progress, close the day."""

from __future__ import annotations

from datetime import date

import streamlit as st

from workbench.domain.enums import Audience, Role
from workbench.services import training
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import show_error
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.join_codes import join_codes_section

user = require_role(Role.facilitator)
engine = state.engine()
lib = state.library()
st.session_state.setdefault("fa_day_id", None)
st.session_state.setdefault("fa_new_code", None)

st.title(t("facilitator.title"))


def create_form() -> None:
    choices = training.prompt_choices(engine=engine)
    expert_rubrics = sorted({rid for (rid, _), r in lib.rubrics.items()
                             if r.rubric.audience == Audience.expert})
    panel_rubrics = sorted({rid for (rid, _), r in lib.rubrics.items()
                            if r.rubric.audience == Audience.lived_experience})
    with st.form("fa_create_form"):
        name = st.text_input(t("facilitator.name"), key="fa_name")
        day = st.date_input(t("facilitator.date"), value=date.today(), key="fa_date",
                            format="DD-MM-YYYY")
        scenario_ids = st.multiselect(
            t("facilitator.scenarios"), sorted(lib.scenarios), key="fa_scenarios",
            format_func=lambda sid: f"{lib.scenarios[sid].scenario.title} ({sid})")
        current = [c.id for c in choices if c.is_current]
        by_id = {c.id: c for c in choices}
        pv_ids = st.multiselect(
            t("facilitator.prompts"), list(by_id), default=current[:1], key="fa_prompts",
            format_func=lambda i: f"{by_id[i].target_name} · {by_id[i].label} "
                                  f"({by_id[i].sha256[:8]})",
            help=t("facilitator.prompts_help"))
        c1, c2 = st.columns(2)
        expert_rubric = c1.selectbox(t("facilitator.expert_rubric"), expert_rubrics,
                                     key="fa_expert_rubric")
        panel_rubric = c2.selectbox(t("facilitator.panel_rubric"), panel_rubrics,
                                    key="fa_panel_rubric")
        overlap = c1.number_input(t("facilitator.overlap"), 1, 10, 2, key="fa_overlap",
                                  help=t("facilitator.overlap_help"))
        cap = c2.number_input(t("facilitator.cap"), 1, 20, 3, key="fa_cap",
                              help=t("facilitator.cap_help"))
        if st.form_submit_button(t("facilitator.create"), type="primary"):
            targets = list(dict.fromkeys(by_id[i].bot_target_id for i in pv_ids))
            try:
                day_id = training.create_day(
                    engine=engine, library=lib, name=name, day=day,
                    scenario_ids=scenario_ids, bot_target_ids=targets, prompt_version_ids=pv_ids,
                    expert_rubric_id=expert_rubric or "", panel_rubric_id=panel_rubric or "",
                    overlap=int(overlap), exposure_cap=int(cap), created_by=user.code)
            except UserError as err:
                show_error(err)
            else:
                st.session_state["fa_day_id"] = day_id
                st.rerun()


@st.fragment(run_every=10)
def live_progress(day_id: int) -> None:
    p = training.day_progress(engine=engine, training_day_id=day_id)
    cols = st.columns(5)
    cols[0].metric(t("facilitator.progress.started"), p.conversations_started)
    cols[1].metric(t("facilitator.progress.open"), p.conversations_open)
    cols[2].metric(t("facilitator.progress.scored"), p.replies_scored)
    cols[3].metric(t("facilitator.progress.unscored"), p.replies_unscored)
    cols[4].metric(t("facilitator.progress.panel"), p.panel_members)
    if p.replies:
        st.progress(p.replies_scored / p.replies,
                    text=t("facilitator.progress.bar", scored=p.replies_scored,
                           total=p.replies))


def join_codes(day: training.DayView) -> None:
    join_codes_section(day)


def settings_and_close(day: training.DayView) -> None:
    with st.form("fa_settings_form"):
        c1, c2 = st.columns(2)
        overlap = c1.number_input(t("facilitator.overlap"), 1, 10, day.overlap,
                                  key=f"fa_set_overlap_{day.id}")
        cap = c2.number_input(t("facilitator.cap"), 1, 20, day.exposure_cap,
                              key=f"fa_set_cap_{day.id}")
        if st.form_submit_button(t("facilitator.save")):
            training.update_day(engine=engine, training_day_id=day.id,
                                     overlap=int(overlap), exposure_cap=int(cap),
                                     changed_by=user.code)
            st.rerun()
    if day.is_open:
        sure = st.checkbox(t("facilitator.close_confirm"), key=f"fa_close_sure_{day.id}")
        if st.button(t("facilitator.close"), disabled=not sure, key=f"fa_close_{day.id}"):
            training.close_day(engine=engine, training_day_id=day.id, closed_by=user.code)
            st.rerun()


days = training.list_days(engine=engine)
with st.expander(t("facilitator.new_day"), expanded=not days, icon=":material/add:"):
    create_form()

if days:
    ids = [d.id for d in days]
    chosen = st.session_state["fa_day_id"]
    if chosen not in ids:
        chosen = (training.default_day(days) or days[0]).id
    by_day = {d.id: d for d in days}
    day_id = st.selectbox(
        t("facilitator.day"), ids, index=ids.index(chosen),
        format_func=lambda i: f"{by_day[i].name} · {by_day[i].day:%d-%m-%Y} · "
                              f"{t('facilitator.status.' + by_day[i].status)}")
    st.session_state["fa_day_id"] = day_id
    day = by_day[day_id]
    st.caption(t("facilitator.day_summary", scenarios=len(day.scenario_ids),
                 prompts=len(day.prompt_version_ids), overlap=day.overlap,
                 cap=day.exposure_cap))
    live_progress(day.id)
    join_codes(day)
    st.divider()
    settings_and_close(day)
