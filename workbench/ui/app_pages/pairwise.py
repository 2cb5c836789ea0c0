"""Pairwise A/B: two replies to the same conversation, from two prompt versions or bots; which
is better? Sides are drawn per rater and recorded."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import training
from workbench.ui import state
from workbench.ui.components import chat, plain, untrusted
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import t

user = require_role(Role.expert, Role.facilitator, Role.panel)
engine = state.engine()

st.title(t("pairwise.title"))
st.write(t("pairwise.intro"))

if user.role == Role.panel:
    day_id = user.training_day_id  # a panel member compares replies of their own day only
else:
    days = {d.id: d for d in training.list_days(engine=engine)}
    day_id = st.selectbox(t("pairwise.day"), [None, *days], key="pw_day",
                          format_func=lambda i: t("pairwise.all_days") if i is None
                          else day_label(days[i]))
queue = training.pair_queue(engine=engine, rater_id=user.participant_id, training_day_id=day_id)
item = queue.item
if item is None:
    st.success(t("pairwise.nothing"))
    # Why: a panel member's own role-plays never come up, which can leave them nothing.
    st.info(t("pairwise.own_left_out", n=queue.own_left_out) if queue.own_left_out
            else t("pairwise.why_none"))
    st.stop()

st.caption(t("pairwise.progress", judged=queue.judged, remaining=queue.remaining))
st.caption(t("pairwise.scenario", title=plain(item.scenario_title or item.scenario_id),
             risk=t(f"figures.category.{item.risk_level}") if item.risk_level else "?"))
if queue.own_left_out and user.role == Role.panel:
    st.caption(t("pairwise.own_left_out", n=queue.own_left_out))
st.markdown(t("pairwise.context"))
chat(item.context)
left, right = st.columns(2, gap="large")
with left:
    st.markdown(t("pairwise.left"))
    with st.container(border=True):
        untrusted(item.left_text)
with right:
    st.markdown(t("pairwise.right"))
    with st.container(border=True):
        untrusted(item.right_text)

with st.form(f"pw_form_{item.turn_a_id}_{item.turn_b_id}"):
    choice = st.radio(t("pairwise.question"), ["left", "right", "tie"], index=None,
                      horizontal=True, key=f"pw_choice_{item.turn_a_id}_{item.turn_b_id}",
                      format_func=lambda c: t(f"pairwise.choice.{c}"))
    reason = st.text_area(t("pairwise.reason"), key=f"pw_reason_{item.turn_a_id}_{item.turn_b_id}")
    if st.form_submit_button(t("pairwise.submit"), type="primary"):
        if choice is None:
            st.error(t("pairwise.choose_first"))
        else:
            training.record_pair(engine=engine, rater_id=user.participant_id, item=item,
                            preferred=choice, reason=reason)
            st.toast(t("pairwise.thanks"))
            st.rerun()
