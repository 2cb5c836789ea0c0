"""Server-side staff sessions: what keeps a staff member signed in across a refresh, a typed
URL, a new tab and another app process behind a load balancer.

Streamlit talks to the browser over a websocket and cannot set a cookie from a script run. So
a sign-in opens a session row with a one-time *claim* (random, two minutes, stored hashed);
the page has the browser POST that claim to the app's own HTTP route (`ui/asgi.py`), and the
route answers with the real token in an http-only, SameSite=Strict cookie (Secure over
https). The token (`secrets.token_urlsafe(32)`) never passes through the page or its
JavaScript, and only its sha256 is stored. Every later websocket connection carries the cookie
(`st.context.cookies`), and any process with the database accepts it.

A session ends after `SESSION_IDLE` without use, `SESSION_MAX` after the sign-in, on signing
out, and when the password changes or the account is deactivated (`_staff.py`). Panel members
get no session: they re-enter their join code.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from workbench.services.accounts._auth import STAFF_ROLES, SignedIn, authenticate, signed_in
from workbench.storage import repo_access
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, StaffSession, utcnow

COOKIE_NAME = "workbench_session"
SESSION_IDLE = timedelta(hours=4)  # a long lunch on a training day, not a night
SESSION_MAX = timedelta(hours=12)  # one working day, however active
CLAIM_TTL = timedelta(minutes=2)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen is written at most this often, not every rerun
_SECRET_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _plausible(secret: object) -> bool:
    """What token_urlsafe(32) can produce; anything else is not looked up at all."""
    return isinstance(secret, str) and 20 <= len(secret) <= 128 and set(secret) <= _SECRET_CHARS


@dataclass(frozen=True)
class StaffSignIn:
    user: SignedIn
    session_id: int
    claim: str  # for the browser to exchange for the cookie, once, within CLAIM_TTL


@dataclass(frozen=True)
class SessionCookie:
    token: str
    max_age_s: int


@dataclass(frozen=True)
class LiveSession:
    user: SignedIn
    session_id: int
    cookie_set: bool  # False while the claim has not been exchanged yet


def sign_in_with_session(*, engine: sa.Engine, code: str, password: str,
                         now: datetime | None = None) -> StaffSignIn:
    """`sign_in`, and a session opened in the same transaction that records the success."""
    now = now or utcnow()
    claim = secrets.token_urlsafe(32)
    opened: list[int] = []

    def _open(s: Session, p: Participant) -> None:
        row = repo_access.create_staff_session(
            session=s, participant_id=p.id or 0, claim_hash=_digest(claim),
            claim_expires_at=now + CLAIM_TTL, expires_at=now + SESSION_MAX, now=now)
        opened.append(row.id or 0)

    user = authenticate(engine=engine, code=code, password=password, now=now, on_success=_open)
    return StaffSignIn(user=user, session_id=opened[0], claim=claim)


def _live(s: Session, row: StaffSession | None, now: datetime) -> LiveSession | None:
    if row is None or row.revoked_at is not None or now >= row.expires_at \
            or now - row.last_seen_at >= SESSION_IDLE:
        return None
    p = s.get(Participant, row.participant_id)
    if p is None or not p.active or p.role not in STAFF_ROLES:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        s.add(row)
    return LiveSession(user=signed_in(p), session_id=row.id or 0,
                       cookie_set=row.token_hash is not None)


def claim_staff_session(*, engine: sa.Engine, claim: object, now: datetime | None = None
                        ) -> SessionCookie | None:
    """Exchange a sign-in's claim for the cookie's token: once, within CLAIM_TTL, while the
    session lives. None for anything else (the route answers 403 without saying why)."""
    now = now or utcnow()
    if not _plausible(claim):
        return None
    assert isinstance(claim, str)
    with session_scope(engine) as s:
        row = repo_access.claim_staff_session(session=s, claim_hash=_digest(claim))
        if row is None or row.claim_expires_at is None or now >= row.claim_expires_at \
                or _live(s, row, now) is None:
            return None
        token = secrets.token_urlsafe(32)
        row.token_hash = _digest(token)
        row.claim_hash = None
        row.claim_expires_at = None
        s.add(row)
        return SessionCookie(token=token,
                             max_age_s=int((row.expires_at - now).total_seconds()))


def resume_staff_session(*, engine: sa.Engine, token: object, now: datetime | None = None
                         ) -> LiveSession | None:
    """The session behind a cookie's token (a refresh, a new tab, another process)."""
    now = now or utcnow()
    if not _plausible(token):
        return None
    assert isinstance(token, str)
    with session_scope(engine) as s:
        return _live(s, repo_access.staff_session_by_token(session=s, token_hash=_digest(token)),
                     now)


def check_staff_session(*, engine: sa.Engine, session_id: int, now: datetime | None = None
                        ) -> LiveSession | None:
    """The session this browser tab holds, checked on every run: a sign-out elsewhere, a new
    password or a deactivation ends it at once."""
    with session_scope(engine) as s:
        return _live(s, s.get(StaffSession, session_id), now or utcnow())


def end_staff_session(*, engine: sa.Engine, session_id: int | None = None,
                      token: object = None, now: datetime | None = None) -> bool:
    """Sign out: the session (by id, or by the cookie's token) can never be used again."""
    now = now or utcnow()
    with session_scope(engine) as s:
        row = s.get(StaffSession, session_id) if session_id is not None else None
        if row is None and _plausible(token):
            assert isinstance(token, str)
            row = repo_access.staff_session_by_token(session=s, token_hash=_digest(token))
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = now
        row.claim_hash = None
        s.add(row)
        return True
