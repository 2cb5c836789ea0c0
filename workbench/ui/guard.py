"""The server-side role check every page starts with, and the calm page a panel member sees
when the facilitator ends their session while they are in the room."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services.accounts import SignedIn
from workbench.ui import state
from workbench.ui.components import support_contacts
from workbench.ui.i18n import t
from workbench.ui.support_signal import ask_for_someone


def require_role(*roles: Role) -> SignedIn:
    """The signed-in participant if their role is one of `roles`; otherwise the page shows a
    calm message and stops here. Checked against the database on every run, so a revoked join
    code, a closed training day or an ended staff session takes effect at once."""
    user = state.current_user()
    if user is None:
        if state.ended_reason():
            session_ended()
        else:
            st.info(t("guard.sign_in_first"))
        st.stop()
    if roles and user.role not in roles:
        st.warning(t("guard.not_allowed"))
        st.stop()
    return user


def session_ended() -> None:
    """The code was revoked or the day closed mid-role-play: say so calmly, say their words
    are kept (they are: nothing of a conversation is deleted by ending a session), and give
    the debrief's support contacts before anything else."""
    reason = state.ended_reason() or "revoked"
    st.header(t("auth.ended.title"))
    st.info(t("auth.ended.day_closed" if reason == "day_closed" else "auth.ended.revoked"),
            icon=":material/favorite:")
    st.write(t("auth.ended.check_in"))
    support_contacts()
    # Sent out of the room is when someone may most want a person: the signal still works.
    if (pid := state.ended_participant_id()) is not None:
        ask_for_someone(state.engine(), pid, contacts=False)
    if st.button(t("auth.ended.again"), key="auth_ended_again"):
        state.dismiss_ended()
        st.rerun()
