"""The server-side role check every page starts with."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services.accounts import SignedIn
from workbench.ui.i18n import t
from workbench.ui.state import current_user


def require_role(*roles: Role) -> SignedIn:
    """The signed-in participant if their role is one of `roles`; otherwise the page shows a
    calm message and stops here. Checked against the database on every run, so a revoked join
    code or a closed training day takes effect at once."""
    user = current_user()
    if user is None:
        st.info(t("guard.sign_in_first"))
        st.stop()
    if roles and user.role not in roles:
        st.warning(t("guard.not_allowed"))
        st.stop()
    return user
