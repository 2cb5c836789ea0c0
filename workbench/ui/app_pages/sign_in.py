"""Sign in: staff with code and password (or their organisation account), panel members with
the join code the facilitator gave them. A staff sign-in opens a server-side session that a
refresh keeps (see ui/state.py)."""

from __future__ import annotations

import streamlit as st

from workbench.services import accounts
from workbench.ui import state
from workbench.ui.i18n import t

st.session_state.setdefault("auth_tab", "panel")

st.title(t("auth.title"))
st.write(t("auth.intro"))

failed = st.session_state.get(state.OIDC_FAILED_KEY)
if failed:
    st.warning(failed)


panel_tab, staff_tab = st.tabs([t("auth.panel_tab"), t("auth.staff_tab")])

with panel_tab:
    st.write(t("auth.panel_intro"))
    with st.form("auth_join_form", enter_to_submit=True):
        code = st.text_input(t("auth.join_code"), key="auth_join_code",
                             placeholder="ABCD-EFGH-JKMN", max_chars=32)
        if st.form_submit_button(t("auth.join"), type="primary"):
            try:
                # Failures are slowed per client address (behind trusted proxies: the real
                # one), never locked, so one typo in the room stops nobody else.
                user = accounts.redeem_join_code(engine=state.engine(), code=code,
                                                 client=state.client_address(),
                                                 language=state.chosen_language())
            except accounts.AuthError as err:
                st.error(t(err.key, **err.fmt))
            else:
                state.sign_in(user)
                st.rerun()
    st.caption(t("auth.panel_privacy"))

with staff_tab:
    with st.form("auth_staff_form", enter_to_submit=True):
        code = st.text_input(t("auth.code"), key="auth_code", max_chars=64)
        password = st.text_input(t("auth.password"), type="password", key="auth_password")
        if st.form_submit_button(t("auth.sign_in"), type="primary"):
            try:
                signed = accounts.sign_in_with_session(engine=state.engine(), code=code,
                                                       password=password)
            except accounts.AuthError as err:
                st.error(t(err.key, **err.fmt))
            else:
                state.sign_in(signed.user, staff_session=signed)
                st.rerun()
    if state.oidc_configured():
        st.button(t("auth.oidc"), on_click=st.login, icon=":material/badge:")
