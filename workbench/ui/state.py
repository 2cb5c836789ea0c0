"""Process-wide resources of the app (engine, library) and the signed-in person's session keys.

Resources are cached with `st.cache_resource` keyed by their settings, so tests that point
WORKBENCH_DATA_DIR elsewhere get their own database.

Who is signed in lives in the database, not only in Streamlit's session state: a staff
member's browser holds an http-only session cookie (`accounts.COOKIE_NAME`, set through
`ui/asgi.py`), so a refresh, a typed URL, a new tab or another app process signs them back
in; every run checks that session again, so a sign-out elsewhere, a new password or a
deactivation ends it at once. A panel member whose code is revoked, or whose day is closed,
while they are in the room is shown a calm message and the support contacts (`ENDED_KEY`)
instead of being dropped on the sign-in page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from workbench.config import get_settings
from workbench.domain.library import Library
from workbench.services import accounts
from workbench.ui.i18n import LANGUAGES
from workbench.ui.i18n import SESSION_KEY as LANGUAGE_KEY

USER_KEY = "auth_participant_id"
STAFF_SESSION_KEY = "auth_staff_session_id"
CLAIM_KEY = "auth_session_claim"  # the one-time claim the browser still has to exchange
CLEAR_COOKIE_KEY = "auth_clear_cookie"
ENDED_KEY = "auth_ended"  # why the facilitator ended this panel member's session
# Whose session it was: the ended page still lets them ask for someone (a support signal).
ENDED_PARTICIPANT_KEY = "auth_ended_participant_id"
LANGUAGE_CHOSEN_KEY = "auth_language_chosen"  # switched before signing in: kept on sign-in
OIDC_FAILED_KEY = "auth_oidc_failed"
SIDEBAR_SLOT_KEY = "nav_sidebar_slot"  # this run's place for a page's own sidebar controls


@st.cache_resource(show_spinner=False)
def _engine(url: str, busy_timeout_ms: int) -> sa.Engine:
    from workbench.services.context import get_engine

    return get_engine(get_settings())


def engine() -> sa.Engine:
    s = get_settings()
    return _engine(s.resolved_database_url(), s.sqlite_busy_timeout_ms)


@st.cache_resource(show_spinner=False)
def _library(scenarios_dir: str, rubrics_dir: str, fingerprint: tuple) -> Library:
    from workbench.domain.library import load_library

    return load_library([Path(scenarios_dir), Path(rubrics_dir)])


def _fingerprint(*dirs: Path) -> tuple:
    # A changed or added YAML file gives a new fingerprint, so edits show without a restart.
    return tuple(sorted((str(f), f.stat().st_mtime_ns) for d in dirs if d.is_dir()
                        for f in d.rglob("*.y*ml")))


def library() -> Library:
    s = get_settings()
    return _library(str(s.scenarios_dir), str(s.rubrics_dir),
                    _fingerprint(s.scenarios_dir, s.rubrics_dir))


def set_sidebar_slot(slot: DeltaGenerator) -> None:
    st.session_state[SIDEBAR_SLOT_KEY] = slot


def sidebar_slot() -> DeltaGenerator:
    """Where a page puts its sidebar controls: the place the entry kept above "Afmelden" for
    panel members (set on every run), else the end of the sidebar."""
    slot = st.session_state.get(SIDEBAR_SLOT_KEY)
    return slot if isinstance(slot, DeltaGenerator) else st.sidebar.container()


def oidc_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an [auth] section for `st.login`."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


# --- the request behind this session ----------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What the browser's websocket connection told the server (read-only in Streamlit)."""

    peer: str | None  # None for loopback (Streamlit's own convention)
    forwarded_for: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)


def request() -> Request:
    """The connection's peer, X-Forwarded-For lines and cookies. Tests replace this function:
    AppTest cannot seed st.context's headers, cookies or address."""
    try:
        ctx = st.context
        return Request(peer=ctx.ip_address,
                       forwarded_for=list(ctx.headers.get_all("x-forwarded-for")),
                       cookies=dict(ctx.cookies))
    except Exception:  # no browser connection (a bare script run)
        return Request(peer=None)


def client_address() -> str:
    """The address the join-code limits count (see `accounts.client_address`)."""
    req = request()
    return accounts.client_address(peer=req.peer, forwarded_for=req.forwarded_for,
                                   trusted_proxies=get_settings().trusted_proxies)


# --- who is signed in -----------------------------------------------------------------------


def current_user() -> accounts.SignedIn | None:
    """The signed-in participant as the database knows them now (None when signed out,
    deactivated, their staff session ended, or their training day closed)."""
    pid = st.session_state.get(USER_KEY)
    if pid is None:
        return _resume_from_cookie()
    sid = st.session_state.get(STAFF_SESSION_KEY)
    if sid is not None:
        live = accounts.check_staff_session(engine=engine(), session_id=int(sid))
        if live is None or live.user.participant_id != int(pid):
            sign_out()
            return None
        if live.cookie_set:
            st.session_state.pop(CLAIM_KEY, None)
        return live.user
    found = accounts.participant_status(engine=engine(), participant_id=int(pid))
    if isinstance(found, accounts.Ended):
        _forget()
        st.session_state[ENDED_KEY] = found.reason
        st.session_state[ENDED_PARTICIPANT_KEY] = int(pid)
        return None
    if found is None:
        sign_out()
    return found


def _resume_from_cookie() -> accounts.SignedIn | None:
    token = request().cookies.get(accounts.COOKIE_NAME)
    if not token:
        return None
    live = accounts.resume_staff_session(engine=engine(), token=token)
    if live is None:
        return None
    st.session_state[USER_KEY] = live.user.participant_id
    st.session_state[STAFF_SESSION_KEY] = live.session_id
    if not st.session_state.get(LANGUAGE_CHOSEN_KEY):
        st.session_state[LANGUAGE_KEY] = live.user.language
    return live.user


def chosen_language() -> str | None:
    """The language switched to before signing in, if any: signing in keeps it (issue 7)."""
    lang = st.session_state.get(LANGUAGE_KEY)
    return str(lang) if st.session_state.get(LANGUAGE_CHOSEN_KEY) and lang in LANGUAGES \
        else None


def sign_in(user: accounts.SignedIn, *, staff_session: accounts.StaffSignIn | None = None
            ) -> None:
    """Remember the person in this browser session; a staff session's claim is handed to the
    browser on the next run (see `session_claim`)."""
    st.session_state.pop(ENDED_KEY, None)
    st.session_state.pop(ENDED_PARTICIPANT_KEY, None)
    st.session_state[USER_KEY] = user.participant_id
    if staff_session is not None:
        st.session_state[STAFF_SESSION_KEY] = staff_session.session_id
        st.session_state[CLAIM_KEY] = staff_session.claim
    chosen = chosen_language()
    if chosen is not None and chosen != user.language:
        accounts.set_language(engine=engine(), participant_id=user.participant_id,
                              language=chosen)
    st.session_state[LANGUAGE_KEY] = chosen or user.language
    st.session_state.pop(LANGUAGE_CHOSEN_KEY, None)


def session_claim() -> str | None:
    """The claim the browser still has to exchange for its cookie, if any."""
    claim = st.session_state.get(CLAIM_KEY)
    return str(claim) if claim else None


def take_clear_cookie() -> bool:
    """True once after a sign-out: the page then asks the browser to drop the cookie."""
    return bool(st.session_state.pop(CLEAR_COOKIE_KEY, False))


def ended_reason() -> str | None:
    reason = st.session_state.get(ENDED_KEY)
    return str(reason) if reason else None


def ended_participant_id() -> int | None:
    """The panel member whose session was ended in this browser, while the calm page shows."""
    pid = st.session_state.get(ENDED_PARTICIPANT_KEY)
    return int(pid) if pid is not None and ended_reason() else None


def dismiss_ended() -> None:
    st.session_state.pop(ENDED_KEY, None)
    st.session_state.pop(ENDED_PARTICIPANT_KEY, None)


def _forget() -> None:
    """Forget everything of this browser session except the language on screen."""
    lang = st.session_state.get(LANGUAGE_KEY)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if lang:
        st.session_state[LANGUAGE_KEY] = lang


def sign_out() -> None:
    """End the staff session in the database (this tab, other tabs and other processes), then
    forget this browser session; the next run asks the browser to drop the cookie."""
    sid = st.session_state.get(STAFF_SESSION_KEY)
    if sid is not None:
        accounts.end_staff_session(engine=engine(), session_id=int(sid))
    _forget()
    if sid is not None:
        st.session_state[CLEAR_COOKIE_KEY] = True
