"""Expert scoring: one reply at a time from the rater's queue, judged blind with the rubric.

Shows the conversation up to the reply, the scenario's expectations and risk level, and the
rubric with each level's anchor. Draft or submit in one form (one write); the next reply is
fetched straight after a submit.
"""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import training
from workbench.ui import state
from workbench.ui.components import chat, elapsed, untrusted
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.rating_form import anchors_legend, rating_form, scenario_panel

user = require_role(Role.expert, Role.facilitator)
engine = state.engine()
st.session_state.setdefault("sc_day_id", None)
st.session_state.setdefault("sc_after", 0)  # "skip for now": look past this reply
CHAT_HEIGHT = 380  # px: under the title and the day, above the bottom of a 1366×768 screen

days = training.list_days(engine=engine)
if not days:
    st.title(t("scoring.title"))
    st.info(t("scoring.no_days"))
    st.stop()
by_id = {d.id: d for d in days}
ids = list(by_id)
chosen = st.session_state["sc_day_id"]
if chosen not in by_id:
    chosen = (training.default_day(days) or days[0]).id
# The reply on the left, the form on the right and wider: both in view at 1366×768 without
# scrolling, so the form needs no scroll box of its own (which kept the last item's scroll).
left, right = st.columns([2, 3], gap="medium")
left.title(t("scoring.title"))
day_id = left.selectbox(t("scoring.day"), ids, index=ids.index(chosen),
                        format_func=lambda i: f"{by_id[i].name} · {by_id[i].day:%d-%m-%Y}")
if day_id != st.session_state["sc_day_id"]:
    st.session_state["sc_day_id"] = day_id
    st.session_state["sc_after"] = 0

item = training.next_item(engine=engine, rater_id=user.participant_id, training_day_id=day_id,
                         after_turn_id=st.session_state["sc_after"])
if item is None:
    st.success(t("scoring.queue_empty"))
    if st.session_state["sc_after"] and st.button(t("scoring.back_to_skipped")):
        st.session_state["sc_after"] = 0
        st.rerun()
    st.stop()

elapsed(f"sc_t_{item.turn_id}")
with left:
    if item.draft is not None:
        st.info(t("scoring.resumed_draft"))
    # The conversation and the reply in one box of fixed height: Streamlit scrolls a box of
    # chat messages to its end, so the reply is in view beside the form however long the
    # conversation was; the earlier turns are a scroll up inside the box.
    with st.container(height=CHAT_HEIGHT, border=True, key="sc_chat"):
        st.markdown(t("scoring.conversation"))
        chat(item.context)
        st.markdown(t("scoring.the_reply"))
        with st.chat_message("assistant", avatar=":material/smart_toy:"):
            untrusted(item.reply)
    scenario_panel(item)
    anchors_legend(item.rubric)
    st.caption(t("scoring.blind"))
    if item.rubric.instructions:
        st.caption(item.rubric.instructions)
    if st.button(t("scoring.skip"), key="sc_skip", icon=":material/skip_next:"):
        st.session_state["sc_after"] = item.turn_id
        st.rerun()
with right:
    progress = training.queue_progress(engine=engine, rater_id=user.participant_id,
                                       training_day_id=day_id)
    rating_form(engine, user.participant_id, item, progress)
