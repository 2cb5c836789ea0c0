"""Process-wide resources of the app (engine, library) and the signed-in person's session keys.

Resources are cached with `st.cache_resource` keyed by their settings, so tests that point
WORKBENCH_DATA_DIR elsewhere get their own database.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
import streamlit as st

from workbench.config import get_settings
from workbench.domain.library import Library
from workbench.services import accounts
from workbench.ui.i18n import SESSION_KEY as LANGUAGE_KEY

USER_KEY = "auth_participant_id"
OIDC_FAILED_KEY = "auth_oidc_failed"


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


def oidc_configured() -> bool:
    """True when `.streamlit/secrets.toml` has an [auth] section for `st.login`."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current_user() -> accounts.SignedIn | None:
    """The signed-in participant as the database knows them now (None when signed out,
    deactivated, or their training day closed)."""
    pid = st.session_state.get(USER_KEY)
    if pid is None:
        return None
    user = accounts.current_participant(engine=engine(), participant_id=int(pid))
    if user is None:
        sign_out()
    return user


def sign_in(user: accounts.SignedIn) -> None:
    st.session_state[USER_KEY] = user.participant_id
    st.session_state[LANGUAGE_KEY] = user.language


def sign_out() -> None:
    """Forget everything of this browser session except the chosen language."""
    lang = st.session_state.get(LANGUAGE_KEY)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if lang:
        st.session_state[LANGUAGE_KEY] = lang
