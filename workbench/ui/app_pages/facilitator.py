"""Facilitator: set up a training day, hand out join codes, follow progress, manage the day
(rename, setup before the start, archive, delete while empty) and close it."""

from __future__ import annotations

from datetime import date

import streamlit as st

from workbench.domain.enums import Audience, Role
from workbench.services import training
from workbench.services.errors import UserError
from workbench.ui import day_admin, state
from workbench.ui.components import hint, plain, show_error
from workbench.ui.days import day_label, scenario_label, scenario_preview
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.join_codes import join_codes_section
from workbench.ui.support_signal import signal_board

user = require_role(Role.facilitator)
engine = state.engine()
lib = state.library()
st.session_state.setdefault("fa_new_code", None)

st.title(t("facilitator.title"))

# The create form's widgets: cleared after a day is made, so a second click cannot make the
# same day again from a still-filled form (issue 14, item 1). Cleared by setting each one to its
# default, not by deleting its key: the browser still holds what it showed and sends it back
# with the next click, which refilled a deleted field (the whole-day browser walk caught it).


def _reset_or_default(values: dict[str, object]) -> None:
    if st.session_state.pop("fa_reset", False):
        st.session_state.pop("fa_dup", None)
        st.session_state.pop("fa_allow_dup", None)
        st.session_state.update(values)
    for key, value in values.items():
        st.session_state.setdefault(key, value)


def create_form() -> None:
    choices = training.prompt_choices(engine=engine)
    expert_rubrics = sorted({rid for (rid, _), r in lib.rubrics.items()
                             if r.rubric.audience == Audience.expert})
    panel_rubrics = sorted({rid for (rid, _), r in lib.rubrics.items()
                            if r.rubric.audience == Audience.lived_experience})
    current = [c.id for c in choices if c.is_current]
    by_id = {c.id: c for c in choices}
    _reset_or_default({
        "fa_name": "", "fa_date": date.today(), "fa_scenarios": [], "fa_prompts": current[:1],
        "fa_expert_rubric": expert_rubrics[0] if expert_rubrics else None,
        "fa_panel_rubric": panel_rubrics[0] if panel_rubrics else None,
        "fa_overlap": 2, "fa_cap": 3})
    # A choice kept from before that the library or the prompt list no longer offers.
    for key, offered in (("fa_scenarios", lib.scenarios), ("fa_prompts", by_id)):
        if any(v not in offered for v in st.session_state[key]):
            st.session_state[key] = [v for v in st.session_state[key] if v in offered]
    for key, offered_list in (("fa_expert_rubric", expert_rubrics),
                              ("fa_panel_rubric", panel_rubrics)):
        if st.session_state[key] not in offered_list:
            st.session_state[key] = offered_list[0] if offered_list else None
    with st.form("fa_create_form"):
        name = st.text_input(t("facilitator.name"), key="fa_name",
                             max_chars=training.MAX_NAME_CHARS)
        day = st.date_input(t("facilitator.date"), key="fa_date", format="DD-MM-YYYY")
        scenario_ids = st.multiselect(
            t("facilitator.scenarios"), sorted(lib.scenarios), key="fa_scenarios",
            format_func=lambda sid: scenario_label(lib, sid),
            placeholder=t("common.choose_many"))
        pv_ids = st.multiselect(
            t("facilitator.prompts"), list(by_id), key="fa_prompts",
            format_func=lambda i: f"{by_id[i].target_name} · {by_id[i].label} "
                                  f"({by_id[i].sha256[:8]})",
            placeholder=t("common.choose_many"))
        hint(t("facilitator.prompts_help"))
        c1, c2 = st.columns(2)
        expert_rubric = c1.selectbox(t("facilitator.expert_rubric"), expert_rubrics,
                                     key="fa_expert_rubric")
        panel_rubric = c2.selectbox(t("facilitator.panel_rubric"), panel_rubrics,
                                    key="fa_panel_rubric")
        overlap = c1.number_input(t("facilitator.overlap"), 1, 10, key="fa_overlap")
        c1.caption(t("facilitator.overlap_help"))
        cap = c2.number_input(t("facilitator.cap"), 1, 20, key="fa_cap")
        c2.caption(t("facilitator.cap_help"))
        allow = False
        if dup := st.session_state.get("fa_dup"):
            st.warning(t("day.duplicate", **dup))
            allow = st.checkbox(t("facilitator.allow_duplicate"), key="fa_allow_dup")
        if st.form_submit_button(t("facilitator.create"), type="primary"):
            targets = list(dict.fromkeys(by_id[i].bot_target_id for i in pv_ids if i in by_id))
            try:
                day_id = training.create_day(
                    engine=engine, library=lib, name=name, day=day,
                    scenario_ids=scenario_ids, bot_target_ids=targets, prompt_version_ids=pv_ids,
                    expert_rubric_id=expert_rubric or "", panel_rubric_id=panel_rubric or "",
                    overlap=int(overlap), exposure_cap=int(cap), created_by=user.code,
                    allow_duplicate=allow)
            except training.DuplicateDayError as err:
                st.session_state["fa_dup"] = {k: plain(str(v)) for k, v in err.fmt.items()}
                st.rerun()
            except UserError as err:
                show_error(err)
            else:
                st.session_state["fa_reset"] = True
                st.session_state["fa_select"] = day_id
                st.session_state["fa_flash"] = t("facilitator.created", name=plain(name.strip()))
                st.rerun()
    # Outside the form, so that picking a scenario to read shows it at once.
    scenario_preview(lib, key="fa_preview")


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


def pick_day(days: list[training.DayView]) -> training.DayView:
    """The day this page works on, keyed by id (labels are unique: see ui/days.py)."""
    ids = [d.id for d in days]
    by_day = {d.id: d for d in days}
    pending = st.session_state.pop("fa_select", None)
    chosen = pending if pending in ids else st.session_state.get("fa_day")
    if chosen not in ids:
        chosen = (training.default_day(days) or days[0]).id
    # Set every run: the widget keeps its choice as the shown label, which a rename changes.
    st.session_state["fa_day"] = chosen
    day_id = st.selectbox(t("facilitator.day"), ids, key="fa_day",
                          format_func=lambda i: day_label(by_day[i]))
    return by_day[day_id]


if flash := st.session_state.pop("fa_flash", None):
    st.success(flash)
signal_board(engine, user.participant_id)
days = training.list_days(engine=engine,
                          include_archived=bool(st.session_state.get("fa_show_archived")))
# Open while there is no day yet, and while it asks about a same-named day: folded, it hid
# that question (the browser walk of issue 14, item 1 found it so).
with st.expander(t("facilitator.new_day"), expanded=not days or bool(
        st.session_state.get("fa_dup")), icon=":material/add:"):
    create_form()
st.toggle(t("facilitator.show_archived"), key="fa_show_archived")

if days:
    day = pick_day(days)
    st.caption(t("facilitator.day_summary", scenarios=len(day.scenario_ids),
                 prompts=len(day.prompt_version_ids), overlap=day.overlap,
                 cap=day.exposure_cap))
    if day.archived:
        st.info(t("facilitator.archived_note"))
    live_progress(day.id)
    join_codes(day)
    st.divider()
    settings_and_close(day)
    st.divider()
    day_admin.manage(engine=engine, library=lib, actor=user.code, day=day)
