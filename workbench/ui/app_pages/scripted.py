"""Scripted run: play a scenario's scripted turns one by one against a chosen bot and prompt,
and score each reply as it comes in."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role, TurnRole
from workbench.services import training
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import (
    baseline_label,
    bot_error_text,
    chat,
    plain,
    show_error,
    stream_reply,
    untrusted,
)
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.rating_form import rating_form, scenario_panel

user = require_role(Role.expert, Role.facilitator)
engine = state.engine()
lib = state.library()
st.session_state.setdefault("sr_conversation_id", None)
st.session_state.setdefault("sr_error", None)

st.title(t("scripted.title"))


def setup() -> None:
    st.write(t("scripted.intro"))
    runs = training.open_scripted_runs(engine=engine, participant_id=user.participant_id)
    if runs:
        st.markdown(t("scripted.resume_title"))
        for cid, sid in runs:
            if st.button(t("scripted.resume", scenario=sid, n=cid), key=f"sr_resume_{cid}"):
                st.session_state["sr_conversation_id"] = cid
                st.rerun()
    choices = training.prompt_choices(engine=engine)
    by_id = {c.id: c for c in choices if c.target_kind != "replay"}
    open_days = training.list_days(engine=engine, open_only=True)
    day_names = {d.id: day_label(d) for d in open_days}
    with st.form("sr_start_form"):
        scenario_id = st.selectbox(
            t("scripted.scenario"), sorted(lib.scenarios), key="sr_scenario",
            format_func=lambda sid: f"{lib.scenarios[sid].scenario.title} ({sid})")
        pv_id = st.selectbox(
            t("scripted.prompt"), list(by_id), key="sr_prompt",
            format_func=lambda i: f"{by_id[i].target_name} · {by_id[i].label} "
                                  f"({by_id[i].sha256[:8]})")
        day_id = st.selectbox(t("scripted.day"), [None, *day_names], key="sr_day",
                              format_func=lambda i: day_names.get(i, t("scripted.no_day")))
        if st.form_submit_button(t("scripted.start"), type="primary") and pv_id is not None:
            try:
                cid = training.start_scripted(engine=engine, library=lib,
                                     participant_id=user.participant_id,
                                     scenario_id=scenario_id, prompt_version_id=pv_id,
                                     training_day_id=day_id)
            except UserError as err:
                show_error(err)
            else:
                st.session_state["sr_conversation_id"] = cid
                st.rerun()


def run(cid: int) -> None:
    try:
        now = training.scripted_state(engine=engine, conversation_id=cid,
                             participant_id=user.participant_id)
    except UserError as err:
        show_error(err)
        st.session_state["sr_conversation_id"] = None
        return
    st.subheader(plain(now.title))
    st.caption(t("scripted.progress", sent=now.sent, total=now.total))
    if now.is_reference:
        st.caption(baseline_label())
    turns = training.transcript(engine=engine, conversation_id=cid)
    last_reply = turns[-1] if turns and turns[-1].role == TurnRole.assistant else None
    chat([(str(tn.role), tn.content) for tn in (turns[:-1] if last_reply else turns)])
    if last_reply is not None:
        item = training.load_item(engine=engine, rater_id=user.participant_id,
                                 turn_id=last_reply.id or 0,
                                 rubric_version_id=now.rubric_version_id)
        left, right = st.columns(2, gap="large")
        with left:
            with st.chat_message("assistant", avatar=":material/smart_toy:"):
                untrusted(item.reply)
            scenario_panel(item)
        with right, st.container(height=780, border=False):
            rating_form(engine, user.participant_id, item)
    if training.needs_reply(engine=engine, conversation_id=cid):
        if st.session_state["sr_error"]:
            st.error(bot_error_text(st.session_state["sr_error"]))
        if st.button(t("scripted.retry"), key="sr_retry", icon=":material/refresh:"):
            stream_reply(engine, cid, "sr_error")
            st.rerun()
    elif not now.done:
        st.caption(t("scripted.next_preview", text=plain(now.next_text)))
        if st.button(t("scripted.send_next"), key="sr_send", type="primary",
                     icon=":material/send:"):
            training.send_next_scripted(engine=engine, conversation_id=cid,
                               participant_id=user.participant_id)
            with st.chat_message("user"):
                untrusted(now.next_text)
            stream_reply(engine, cid, "sr_error")
            st.rerun()
    else:
        st.success(t("scripted.all_sent"))
    if st.button(t("scripted.finish"), key="sr_finish"):
        training.finish_scripted(engine=engine, conversation_id=cid,
                                 participant_id=user.participant_id)
        st.session_state["sr_conversation_id"] = None
        st.rerun()


if st.session_state["sr_conversation_id"] is None:
    setup()
else:
    run(int(st.session_state["sr_conversation_id"]))
