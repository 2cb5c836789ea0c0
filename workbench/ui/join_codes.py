"""The facilitator's join codes for one training day (a section of the Trainingsdag page): make
one code per person in the room at once, see them together and download the slips to print,
see who used which code and revoke one, and see and lift the slowdown of a device that typed
too many wrong codes."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role, ThrottleKind
from workbench.services import accounts, training
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import show_error
from workbench.ui.guard import require_role
from workbench.ui.i18n import current_language, t

BATCH_KEY = "jc_batch"  # (day id, codes) of the batch just made: shown to this browser only


def join_codes_section(day: training.DayView) -> None:
    user = require_role(Role.facilitator)
    engine = state.engine()
    st.subheader(t("join_codes.title"))
    if day.is_open:
        _issue_form(day, user.code)
    _batch(day)
    for jc in accounts.list_join_codes(engine=engine, training_day_id=day.id):
        c1, c2 = st.columns([4, 1])
        status = (t("join_codes.revoked") if jc.revoked else
                  t("join_codes.used_by", code=jc.used_by) if jc.used_by else
                  t("join_codes.unused"))
        c1.write(t("join_codes.row", n=jc.id, time=jc.created_at.strftime("%H:%M"),
                   status=status))
        if not jc.revoked and c2.button(t("join_codes.revoke"), key=f"jc_revoke_{jc.id}"):
            accounts.revoke_join_code(engine=engine, join_code_id=jc.id, revoked_by=user.code)
            st.rerun()
    if day.is_open:
        _slowdowns(user.code)


def _issue_form(day: training.DayView, facilitator: str) -> None:
    with st.form(f"jc_issue_form_{day.id}", border=False):
        c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
        count = c1.number_input(t("join_codes.how_many"), min_value=1,
                                max_value=accounts.MAX_CODES_AT_ONCE, value=1, step=1,
                                key=f"jc_count_{day.id}")
        submitted = c2.form_submit_button(t("join_codes.issue"), icon=":material/key:",
                                          type="primary")
        st.caption(t("join_codes.how_many_help"))
        if submitted:
            try:
                codes = accounts.issue_join_codes(engine=state.engine(), training_day_id=day.id,
                                                  count=int(count), issued_by=facilitator)
            except UserError as err:
                show_error(err)
            else:
                st.session_state[BATCH_KEY] = (day.id, codes)
                st.rerun()


def _batch(day: training.DayView) -> None:
    batch = st.session_state.get(BATCH_KEY)
    if not batch or batch[0] != day.id:
        return
    codes: list[str] = batch[1]
    when = f"{day.day:%d-%m-%Y}"
    st.success(t("join_codes.shown_once", n=len(codes), date=when))
    st.code("\n".join(codes), language=None)
    handout = accounts.join_code_handout(day_name=day.name, day_date=day.day, codes=codes,
                                         language=current_language())
    row = st.container(horizontal=True)
    row.download_button(t("join_codes.download"), data=handout.encode("utf-8"),
                        file_name=f"codes-{day.day:%Y-%m-%d}.html", mime="text/html",
                        icon=":material/print:", key=f"jc_download_{day.id}")
    if row.button(t("join_codes.hide"), key=f"jc_hide_{day.id}"):
        st.session_state.pop(BATCH_KEY, None)
        st.rerun()


def _slowdowns(facilitator: str) -> None:
    st.markdown(f"**{t('join_codes.limits.title')}**")
    st.caption(t("join_codes.limits.intro", free=accounts.JOIN_FREE_FAILURES))
    limits = accounts.list_limits(engine=state.engine(), kind=ThrottleKind.join_code)
    if not limits:
        st.caption(t("join_codes.limits.none"))
    for limit in limits:
        c1, c2 = st.columns([4, 1])
        wait = (t("join_codes.limits.waiting", seconds=limit.wait_seconds) if limit.wait_seconds
                else t("join_codes.limits.slowed"))
        c1.write(t("join_codes.limits.row", address=limit.subject, failures=limit.failures,
                   wait=wait))
        if c2.button(t("join_codes.limits.lift"), key=f"jc_lift_{limit.key}"):
            accounts.lift_limit(engine=state.engine(), key=limit.key, lifted_by=facilitator)
            st.toast(t("join_codes.limits.lifted"))
            st.rerun()
