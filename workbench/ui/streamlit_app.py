"""The app's entry (the "picture frame"): page setup, who is signed in, the pages their role may
see, the language switch. Run with `workbench start` (through `ui/asgi.py`, which adds the
route that sets the staff session cookie) or `streamlit run workbench/ui/streamlit_app.py`.
"""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import accounts
from workbench.ui import guard, registry, session_cookie, state
from workbench.ui.i18n import LANGUAGES, current_language, t

st.set_page_config(page_title="Workbench · Veilig Thuis", page_icon="💬", layout="wide")


def _adopt_oidc_identity() -> None:
    """After `st.login`, map the provider's e-mail to a staff account (once per session)."""
    if st.session_state.get(state.USER_KEY) is not None or not state.oidc_configured():
        return
    if not getattr(st.user, "is_logged_in", False) or st.session_state.get(state.OIDC_FAILED_KEY):
        return
    try:
        email = st.user.get("email")
        user = accounts.sign_in_oidc(engine=state.engine(),
                                     email=email if isinstance(email, str) else None)
    except accounts.AuthError as err:
        st.session_state[state.OIDC_FAILED_KEY] = t(err.key, **err.fmt)
        return
    state.sign_in(user)


@st.cache_data(ttl=60, show_spinner=False)
def _demo_present() -> bool:
    from workbench.services.demo import has_demo_data

    return has_demo_data(engine=state.engine())


def _sidebar(user: accounts.SignedIn | None) -> None:
    with st.sidebar:
        lang = current_language()
        chosen = st.radio(t("common.language"), LANGUAGES, index=LANGUAGES.index(lang),
                          format_func=lambda code: t(f"common.languages.{code}"),
                          horizontal=True)
        if chosen != lang:
            st.session_state[state.LANGUAGE_KEY] = chosen
            if user is not None:
                accounts.set_language(engine=state.engine(), participant_id=user.participant_id,
                                      language=chosen)
            else:  # chosen before signing in: signing in keeps it (issue 7)
                st.session_state[state.LANGUAGE_CHOSEN_KEY] = True
            st.rerun()
        panel = user is not None and user.role == Role.panel
        if user is not None and not panel and _demo_present():
            # Demo data is marked on every staff page, so nobody mistakes simulated ratings
            # for real; a panel member's own role-play is real, and "demo" is a staff word.
            st.warning(t("common.demo_banner"), icon=":material/science:")
        st.session_state.pop(state.SIDEBAR_SLOT_KEY, None)
        if user is not None:
            st.caption(t("common.signed_in_as", code=user.code,
                         role=t(f"common.roles.{user.role}")))
            if panel:
                # The role-play's Overslaan / Pauze / Nu stoppen go here, and Afmelden below
                # them after a line: reaching for Overslaan never signs someone out.
                state.set_sidebar_slot(st.container())
                st.divider()
            if st.button(t("common.sign_out"), icon=":material/logout:"):
                state.sign_out()
                if getattr(st.user, "is_logged_in", False):
                    st.logout()
                st.rerun()


def _cookie_scripts() -> None:
    """Hand the browser its session claim after a staff sign-in, or ask it to drop the cookie
    after a sign-out (see session_cookie.py). Invisible; harmless when repeated."""
    claim = state.session_claim()
    if claim:
        st.html(session_cookie.claim_script(claim), unsafe_allow_javascript=True, width=1)
    if state.take_clear_cookie():
        st.html(session_cookie.clear_script(), unsafe_allow_javascript=True, width=1)


@st.cache_resource(show_spinner=False)
def _warm_up() -> bool:
    """Once per app process: load the Dutch scrubber on a background thread and keep the
    dashboard's excerpts scrubbed, so no person's request waits the seconds deduce takes to
    load (it slowed everyone's role-play for as long as it did, inside the first request)."""
    from workbench.services.dashboard import keep_excerpts_scrubbed

    keep_excerpts_scrubbed(state.engine())
    return True


def main() -> None:
    _warm_up()
    _adopt_oidc_identity()
    user = state.current_user()
    if user is None and state.ended_reason():
        # Ended by the facilitator mid-role-play: the calm page, not the sign-in form.
        pages = [st.Page(guard.session_ended, title=t("auth.ended.title"),
                         icon=":material/favorite:", url_path="session-ended", default=True)]
    else:
        specs = registry.pages_for(user.role if user else None)
        pages = [
            st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path,
                    default=i == 0)
            for i, spec in enumerate(specs)
        ]
    # expanded: every page listed; folded, Streamlit adds an English "View N more" link.
    nav = st.navigation(pages, position="sidebar" if user else "hidden", expanded=True)
    _sidebar(user)
    _cookie_scripts()
    nav.run()


main()
