"""Participants (facilitator): who is a lead expert, and withdrawing a participant's consent —
their role-play text and ratings leave curated sets and future exports."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import curation
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import show_error
from workbench.ui.guard import require_role
from workbench.ui.i18n import t

user = require_role(Role.facilitator)
engine = state.engine()
st.session_state.setdefault("pa_flash", None)

st.title(t("curation.participants.title"))
st.caption(t("curation.participants.intro"))
if st.session_state["pa_flash"]:
    st.success(st.session_state["pa_flash"])
    st.session_state["pa_flash"] = None

people = curation.list_participants(engine=engine)
st.dataframe([{
    t("curation.participants.code"): p.code,
    t("curation.participants.role"): t(f"common.roles.{p.role}"),
    t("curation.group"): t(f"curation.groups.{p.group}") if p.group else "",
    t("curation.participants.lead"): "✓" if p.is_lead else "",
    t("curation.participants.withdrawn"): "" if p.withdrawn_at is None
    else f"{p.withdrawn_at:%d-%m-%Y %H:%M}",
} for p in people], hide_index=True)

st.subheader(t("curation.participants.lead_title"))
experts = [p.code for p in people if p.role == Role.expert and p.withdrawn_at is None]
if experts:
    code = st.selectbox(t("curation.participants.expert"), experts, key="pa_lead_code")
    current = next(p for p in people if p.code == code)
    label = ("curation.participants.unmake_lead" if current.is_lead
             else "curation.participants.make_lead")
    if st.button(t(label), key="pa_lead"):
        curation.set_lead(engine=engine, code=code, lead=not current.is_lead, actor=user.code)
        st.rerun()

st.subheader(t("curation.participants.withdraw_title"))
st.caption(t("curation.participants.withdraw_help"))
codes = [p.code for p in people if p.role != Role.facilitator]
with st.form("pa_withdraw"):
    code = st.selectbox(t("curation.participants.code"), codes, key="pa_withdraw_code")
    sure = st.checkbox(t("curation.participants.confirm"), key="pa_withdraw_sure")
    if st.form_submit_button(t("curation.participants.withdraw"), type="primary"):
        if not sure:
            st.warning(t("curation.participants.confirm_first"))
        else:
            try:
                r = curation.withdraw_participant(engine=engine, code=code, actor=user.code)
            except UserError as err:
                show_error(err)
            else:
                st.session_state["pa_flash"] = t(
                    "curation.participants.withdrawn_done", code=r.code, turns=r.turns,
                    ratings=r.ratings, examples=r.curated_examples,
                    replies=r.curated_ideal_replies + r.adjudication_ideal_replies)
                st.rerun()
