"""Medewerkers (facilitator only): add an expert or developer, give someone a new password
(shown once), deactivate an account (its sessions end at once), lift a lock. Facilitator and
manager accounts stay on the command line (`workbench account ...`)."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import accounts
from workbench.ui import state
from workbench.ui.components import show_error
from workbench.ui.guard import require_role
from workbench.ui.i18n import t

user = require_role(Role.facilitator)
engine = state.engine()
MANAGED = (Role.expert, Role.developer)
# A password just made or reset: (user name, password), shown in this browser until hidden.
st.session_state.setdefault("sf_shown", None)

st.title(t("staff.title"))
st.write(t("staff.intro"))



def _md(text: str) -> str:
    """A user name as literal text in markdown (a name like `[x](y)` stays a name)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~" else ch for ch in text)


shown = st.session_state["sf_shown"]
if shown:
    st.success(t("staff.add.made", code=shown[0]) if shown[2] == "made"
               else t("staff.reset_done", code=shown[0]))
    st.code(shown[1], language=None)
    if st.button(t("staff.hide"), key="sf_hide"):
        st.session_state["sf_shown"] = None
        st.rerun()

with st.expander(t("staff.add.title"), icon=":material/person_add:", expanded=False):
    with st.form("sf_add_form"):
        code = st.text_input(t("staff.add.code"), key="sf_code", max_chars=64)
        role = st.radio(t("staff.add.role"), MANAGED, key="sf_role", horizontal=True,
                        format_func=lambda r: t(f"common.roles.{r}"))
        password = st.text_input(t("staff.add.password"), key="sf_password", type="password",
                                 max_chars=256)
        if st.form_submit_button(t("staff.add.submit"), type="primary"):
            try:
                made = accounts.add_staff_account(engine=engine, code=code, role=role,
                                                  password=password or None, added_by=user.code)
            except accounts.AuthError as err:
                show_error(err)
            else:
                st.session_state["sf_shown"] = (made.user.code, made.password, "made")
                for key in ("sf_code", "sf_password"):  # empty for the next one; kept on errors
                    st.session_state.pop(key, None)
                st.rerun()

st.subheader(t("staff.list.title"))
st.caption(t("staff.list.cli_only"))
for view in accounts.staff_accounts(engine=engine):
    status = [t("staff.list.active") if view.active else t("staff.list.inactive")]
    if not view.has_password:
        status.append(t("staff.list.oidc_only"))
    if view.locked_minutes:
        status.append(t("staff.list.locked", minutes=view.locked_minutes))
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(t("staff.list.row", code=_md(view.code),
                   role=t(f"common.roles.{view.role}"), status=" · ".join(status)))
    if view.locked_minutes and row.button(t("staff.unlock"), key=f"sf_unlock_{view.code}"):
        accounts.unlock_staff(engine=engine, code=view.code, unlocked_by=user.code)
        st.toast(t("staff.unlocked", code=view.code))
        st.rerun()
    if view.role not in MANAGED or not view.active or view.code == user.code:
        continue
    if row.button(t("staff.reset"), key=f"sf_reset_{view.code}", icon=":material/key:"):
        try:
            new = accounts.reset_password(engine=engine, code=view.code, reset_by=user.code)
        except accounts.AuthError as err:
            show_error(err)
        else:
            st.session_state["sf_shown"] = (view.code, new, "reset")
            st.rerun()
    sure = row.checkbox(t("staff.deactivate_confirm", code=view.code),
                        key=f"sf_sure_{view.code}")
    if row.button(t("staff.deactivate"), key=f"sf_deactivate_{view.code}", disabled=not sure):
        try:
            accounts.deactivate_staff(engine=engine, code=view.code, deactivated_by=user.code)
        except accounts.AuthError as err:
            show_error(err)
        else:
            st.toast(t("staff.deactivated", code=view.code))
            st.rerun()
