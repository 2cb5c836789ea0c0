"""Live role-play for panel members: content warning and consent, persona, chat with the bot,
Skip / Pause / Stop now always at hand, quick feedback per reply, and a debrief with support.

Everything is in the database, so after a refresh (and re-entering the join code) the open
conversation simply continues.
"""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import ConversationStatus, Role
from workbench.services import training
from workbench.services.errors import UserError
from workbench.services.training import RatingInput
from workbench.ui import state
from workbench.ui.components import (
    baseline_label,
    bot_error_text,
    chat,
    plain,
    rubric_fields,
    show_error,
    stream_reply,
    support_contacts,
    untrusted,
)
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.support_signal import ask_for_someone

user = require_role(Role.panel)
engine = state.engine()
lib = state.library()
st.session_state.setdefault("rp_debrief", None)  # None | "finished" | "stopped"
st.session_state.setdefault("rp_paused", False)
st.session_state.setdefault("rp_pending", None)  # a message held back by the privacy check
st.session_state.setdefault("rp_error", None)  # kind of the last bot failure
st.session_state.setdefault("rp_feedback_done", [])

where = training.roleplay_state(engine=engine, library=lib, participant_id=user.participant_id)
cid = where.current_conversation_id


def _set(status: ConversationStatus) -> None:
    if cid is not None:
        training.set_roleplay_status(engine=engine, participant_id=user.participant_id,
                            conversation_id=cid, status=status)


def _reset_chat_state() -> None:
    st.session_state["rp_pending"] = None
    st.session_state["rp_error"] = None


def controls() -> None:
    """Skip, Pause and Stop now: always visible while a scenario is on screen — above the
    scenario, and again in the sidebar, which stays in view however far the chat scrolls."""
    _controls(st.container(horizontal=True), "")
    _controls(state.sidebar_slot(), "_side")


def _controls(row, suffix: str) -> None:  # type: ignore[no-untyped-def]
    if row.button(t("roleplay.skip"), key=f"rp_skip{suffix}", icon=":material/skip_next:"):
        if cid is not None:
            _set(ConversationStatus.skipped)
        elif where.next_card is not None:
            training.decline_scenario(engine=engine, library=lib,
                                      participant_id=user.participant_id,
                             scenario_id=where.next_card.scenario_id)
        _reset_chat_state()
        st.session_state["rp_paused"] = False
        st.toast(t("roleplay.skipped"))
        st.rerun()
    if row.button(t("roleplay.pause"), key=f"rp_pause{suffix}", icon=":material/pause:"):
        _set(ConversationStatus.paused)
        st.session_state["rp_paused"] = True
        st.rerun()
    if row.button(t("roleplay.stop"), key=f"rp_stop{suffix}", icon=":material/stop_circle:",
                 type="primary"):
        _set(ConversationStatus.stopped)
        _reset_chat_state()
        st.session_state["rp_paused"] = False
        st.session_state["rp_debrief"] = "stopped"
        st.rerun()


def debrief(kind: str) -> None:
    st.header(t("roleplay.debrief.title"))
    st.write(t(f"roleplay.debrief.{kind}"))
    st.write(t("roleplay.debrief.check_in"))
    support_contacts()
    ask_for_someone(engine, user.participant_id, contacts=False)
    more = where.next_card is not None and not where.cap_reached
    row = st.container(horizontal=True)
    if more and row.button(t("roleplay.debrief.next"), key="rp_next"):
        st.session_state["rp_debrief"] = None
        st.rerun()
    if row.button(t("common.sign_out"), key="rp_sign_out"):
        state.sign_out()
        st.rerun()


def paused() -> None:
    st.info(t("roleplay.paused"))
    if st.button(t("roleplay.resume"), key="rp_resume", type="primary"):
        _set(ConversationStatus.active)
        st.session_state["rp_paused"] = False
        st.rerun()
    ask_for_someone(engine, user.participant_id)


def warning(card: training.ScenarioCard) -> None:
    st.subheader(t("roleplay.warning.title"))
    st.warning(t("roleplay.warning.text") + "\n\n" +
               "\n".join(f"- {plain(w)}" for w in card.content_warnings))
    st.write(t("roleplay.warning.choice"))
    consent = st.radio(t("roleplay.consent.question"), ["yes", "no"], index=None,
                       key=f"rp_consent_{card.scenario_id}",
                       format_func=lambda v: t(f"roleplay.consent.{v}"))
    st.caption(t("roleplay.consent.help"))
    if st.button(t("roleplay.begin"), key="rp_begin", type="primary",
                 disabled=consent is None):
        try:
            training.begin_roleplay(engine=engine, library=lib, participant_id=user.participant_id,
                           scenario_id=card.scenario_id, consent=consent == "yes")
        except UserError as err:
            show_error(err)
        else:
            _reset_chat_state()
            st.rerun()


def persona(card: training.ScenarioCard) -> None:
    with st.expander(t("roleplay.persona.title", title=plain(card.title)), expanded=True,
                     icon=":material/person:"):
        age = t("roleplay.persona.age", age=card.persona_age) if card.persona_age else ""
        st.markdown(f"**{plain(card.persona_name)}** {age}")
        untrusted(card.persona_description)
        st.markdown(f"**{t('roleplay.persona.situation')}**")
        untrusted(card.situation)
        st.markdown(f"**{t('roleplay.persona.guidance')}**")
        untrusted(card.guidance)
        st.caption(t("roleplay.persona.invented"))
    if where.current_is_reference:
        st.caption(baseline_label())


def feedback(turn_id: int) -> None:
    """Quick lived-experience feedback on the latest reply; optional."""
    rv = where.day.panel_rubric_version_id
    if rv is None or turn_id in st.session_state["rp_feedback_done"]:
        return
    rubric = training.scoring_rubric(engine=engine, rubric_version_id=rv)
    with st.expander(t("roleplay.feedback.title"), icon=":material/favorite:"):
        with st.form(f"rp_fb_form_{turn_id}", border=False):
            values = rubric_fields(rubric, f"rp_fb_{turn_id}", show_description=False,
                                   for_panel=True)
            comment = st.text_input(t("roleplay.feedback.comment"), key=f"rp_fb_c_{turn_id}")
            if st.form_submit_button(t("roleplay.feedback.send")):
                try:
                    training.submit_rating(engine=engine, rater_id=user.participant_id,
                                           turn_id=turn_id,
                                   rubric_version_id=rv, require_complete=False,
                                   form=RatingInput(values=values, comment=comment))
                except UserError as err:
                    show_error(err)
                else:
                    st.session_state["rp_feedback_done"].append(turn_id)
                    st.toast(t("roleplay.feedback.thanks"))
                    st.rerun()


def send(conversation_id: int, text: str) -> None:
    training.send_message(engine=engine, participant_id=user.participant_id,
                  conversation_id=conversation_id, text=text)
    with st.chat_message("user"):
        untrusted(text)
    stream_reply(engine, conversation_id, "rp_error")
    st.rerun()


def conversation(conversation_id: int, card: training.ScenarioCard) -> None:
    persona(card)
    turns = training.transcript(engine=engine, conversation_id=conversation_id)
    chat([(str(tn.role), tn.content) for tn in turns])
    if turns and turns[-1].role == "assistant":
        feedback(turns[-1].id or 0)
    owed = training.needs_reply(engine=engine, conversation_id=conversation_id)
    if owed and not st.session_state["rp_error"]:
        # A reply is owed without a failure (the page was refreshed while the bot wrote):
        # fetch it now instead of letting the next message pile up on an unanswered one.
        stream_reply(engine, conversation_id, "rp_error")
        st.rerun()
    if owed:
        st.error(bot_error_text(st.session_state["rp_error"]))
        if st.button(t("roleplay.retry"), key="rp_retry", icon=":material/refresh:"):
            stream_reply(engine, conversation_id, "rp_error")
            st.rerun()
    pending = st.session_state["rp_pending"]
    if pending:
        st.warning(t("roleplay.privacy.warning"))
        row = st.container(horizontal=True)
        if row.button(t("roleplay.privacy.send_anyway"), key="rp_send_anyway"):
            st.session_state["rp_pending"] = None
            send(conversation_id, pending)
        if row.button(t("roleplay.privacy.edit"), key="rp_edit", type="primary"):
            st.session_state["rp_pending"] = None
            # Back in the input to change, not gone (issue 14, item 4): the chat input is not
            # drawn yet in this run, so its text may still be set.
            st.session_state["rp_input"] = pending
            st.rerun()
    if st.button(t("roleplay.finish"), key="rp_finish", icon=":material/check:"):
        _set(ConversationStatus.finished)
        _reset_chat_state()
        st.session_state["rp_debrief"] = "finished"
        st.rerun()
    text = st.chat_input(t("roleplay.input"), key="rp_input", disabled=owed)
    if text and text.strip():
        if training.personal_data_types(text, fictional_names=[card.persona_name]):
            st.session_state["rp_pending"] = text
            st.rerun()
        send(conversation_id, text)


st.title(t("roleplay.title"))
if st.session_state["rp_debrief"]:
    debrief(st.session_state["rp_debrief"])
    st.stop()
st.caption(t("roleplay.exposure", played=where.played, cap=where.cap))
if cid is not None and where.current_card is not None:
    controls()
    if st.session_state["rp_paused"] or where.current_status == ConversationStatus.paused:
        paused()
    else:
        conversation(cid, where.current_card)
elif where.cap_reached:
    st.success(t("roleplay.cap_reached", cap=where.cap))
    debrief("finished")
elif where.next_card is not None:
    controls()
    if st.session_state["rp_paused"]:
        paused()
    else:
        warning(where.next_card)
else:
    st.success(t("roleplay.all_done"))
    debrief("finished")
