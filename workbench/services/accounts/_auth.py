"""Who may sign in, and as what: the signed-in person, staff passwords, OIDC.

Staff (facilitator, expert, developer, manager) sign in with a user name and a password hashed
with argon2id. Panel members never give a name: they join with a code (`_join.py`). A staff
sign-in in the app also opens a server-side session behind an http-only cookie
(`_sessions.py`), so a refresh or a new tab keeps them signed in.

Guessing is rate limited per user name (`domain/access.py`): the attempt is counted in one
locked step with reading the count (`_throttle.reserve`) before the password is verified, and
argon2 runs outside any transaction, so the database is never held for the ~0.4 s a hash takes.

OIDC (optional): when `.streamlit/secrets.toml` has an `[auth]` section (see Streamlit's
`st.login` docs), the sign-in page offers "Aanmelden met je organisatie-account". OIDC only
authenticates: the e-mail address from the provider must match the code of an existing, active
staff account, which decides the role. Nobody gets an account by signing in.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from workbench.domain import access
from workbench.domain.enums import Role, ThrottleKind, TrainingDayStatus
from workbench.services.accounts import _throttle
from workbench.services.errors import UserError
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, TrainingDay, utcnow

STAFF_ROLES = frozenset({Role.facilitator, Role.expert, Role.developer, Role.manager})
MAX_FAILURES = access.STAFF_MAX_FAILURES
WINDOW = access.STAFF_WINDOW
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is an attack
MAX_CODE_LENGTH = 64

# argon2id with the library's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# hasher; nothing else should. Other modules read it as `_auth.HASHER` at call time.
HASHER = PasswordHasher()
_dummy: dict[int, str] = {}


def _dummy_hash() -> str:
    """Verified against when the account does not exist, so a wrong code costs as long as a
    wrong password and response times do not reveal which codes exist."""
    key = id(HASHER)
    if key not in _dummy:
        _dummy[key] = HASHER.hash("not-a-real-password-" + secrets.token_hex(8))
    return _dummy[key]


class AuthError(UserError):
    """A sign-in or account problem; `key` is an i18n key, `fmt` its placeholders."""


@dataclass(frozen=True)
class SignedIn:
    participant_id: int
    code: str
    role: Role
    language: str
    training_day_id: int | None


def signed_in(p: Participant) -> SignedIn:
    return SignedIn(participant_id=p.id or 0, code=p.code, role=Role(p.role),
                    language=p.language or "nl", training_day_id=p.training_day_id)


def valid_code(code: str) -> bool:
    """A user name someone could have: 1–64 characters, no control characters (a NUL would
    not even reach PostgreSQL)."""
    return 0 < len(code) <= MAX_CODE_LENGTH and not any(
        unicodedata.category(ch).startswith("C") for ch in code)


def user_key(code: str) -> str:
    return f"user:{code.casefold()}"


def verify(stored: str | None, password: str) -> bool:
    """argon2id check; a missing hash costs the same as a wrong password."""
    try:
        return HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, engine: sa.Engine, code: str, password: str, now: datetime,
                 on_success: Callable[[Session, Participant], None] | None = None
                 ) -> SignedIn:
    """The staff sign-in: reserve an attempt, verify outside any transaction, settle.
    `on_success(session, participant)` runs in the settling transaction (opening a session)."""
    code = code.strip()
    if not valid_code(code) or len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError("auth.wrong_password")  # no account can match; nothing to protect
    key = user_key(code)
    pid: int | None = None
    stored: str | None = None
    with session_scope(engine) as s:
        decision = _throttle.reserve(session=s, key=key, kind=ThrottleKind.user, now=now)
        refused = None if decision.allowed else AuthError(
            "auth.locked", minutes=access.whole_minutes(decision.wait))
        if decision.allowed:
            p = repo.get_participant(session=s, code=code)
            if p is not None and p.active and p.role in STAFF_ROLES:
                pid, stored = p.id, p.password_hash
    if refused is not None:
        raise refused
    ok = verify(stored, password) and pid is not None
    with session_scope(engine) as s:
        p = s.get(Participant, pid) if ok else None
        if p is None or not p.active or p.password_hash != stored:
            # Deactivated or given a new password while we verified: the old one is void.
            repo_training.record_login_attempt(session=s, key=key, ok=False, at=now)
            ok = False
        else:
            if HASHER.check_needs_rehash(stored or ""):
                p.password_hash = HASHER.hash(password)
                s.add(p)
            _throttle.settle_success(session=s, key=key, reserved=decision.state)
            repo_training.record_login_attempt(session=s, key=key, ok=True, at=now)
            if on_success is not None:
                on_success(s, p)
            return signed_in(p)
    raise AuthError("auth.wrong_password")


def sign_in(*, engine: sa.Engine, code: str, password: str, now: datetime | None = None
            ) -> SignedIn:
    """Check a staff code and password; raises AuthError (wrong or locked) otherwise.

    At most `MAX_FAILURES` passwords of one user name are ever verified within `WINDOW`,
    however many attempts arrive at once."""
    return authenticate(engine=engine, code=code, password=password, now=now or utcnow())


def sign_in_oidc(*, engine: sa.Engine, email: str | None) -> SignedIn:
    """Map an identity confirmed by the OIDC provider to its staff account."""
    if not email or not valid_code(email.strip()):
        raise AuthError("auth.oidc_no_email")
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=email.strip().lower()) or \
            repo.get_participant(session=s, code=email.strip())
        if p is None or not p.active or p.role not in STAFF_ROLES:
            raise AuthError("auth.oidc_no_account", email=email)
        repo.audit(session=s, action="account.oidc_sign_in", entity="participant",
                   entity_id=p.id)
        return signed_in(p)


@dataclass(frozen=True)
class Ended:
    """Why a signed-in panel member can no longer go on: their code was revoked, or the day
    was closed. The app shows a calm message and the support contacts instead of the sign-in."""

    reason: str  # "revoked" or "day_closed"


def participant_status(*, engine: sa.Engine, participant_id: int) -> SignedIn | Ended | None:
    """The participant as the database knows them now: signed in, ended by the facilitator
    (panel), or None (gone, or a deactivated staff account)."""
    with session_scope(engine) as s:
        p = s.get(Participant, participant_id)
        if p is None:
            return None
        if p.role == Role.panel:
            if not p.active:
                return Ended("revoked")
            day = s.get(TrainingDay, p.training_day_id) if p.training_day_id else None
            if day is None or day.status != TrainingDayStatus.open:
                return Ended("day_closed")
        elif not p.active:
            return None
        return signed_in(p)


def current_participant(*, engine: sa.Engine, participant_id: int) -> SignedIn | None:
    """The participant as the database knows them now; None when deactivated (e.g. revoked)."""
    found = participant_status(engine=engine, participant_id=participant_id)
    return found if isinstance(found, SignedIn) else None


def set_language(*, engine: sa.Engine, participant_id: int, language: str) -> None:
    if language not in ("nl", "en"):
        raise ValueError(f"unsupported language {language!r}")
    with session_scope(engine) as s:
        p = s.get(Participant, participant_id)
        if p is None:
            raise repo.NotFound(f"participant {participant_id}")
        p.language = language
        s.add(p)
