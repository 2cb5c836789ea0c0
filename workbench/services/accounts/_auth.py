"""Who may sign in, and as what: staff accounts, one-time join codes for the panel, optional OIDC.

Staff (facilitator, expert, developer, manager) sign in with a code and a password hashed with
argon2id. Panel members (ervaringsdeskundigen) never give a name: the facilitator issues a join
code, valid on the training day's date only, that creates one pseudonymous participant (`LE-7K2Q`).
Only the sha256 of a join code is stored; the code itself is shown once. Re-entering the same
code that day signs back in as the same participant (a browser refresh loses no work), until the
facilitator revokes it or closes the day.

Failed sign-ins are counted in `login_attempt` per key (`user:<code>` for passwords,
`join:<client address>` for join codes): after `MAX_FAILURES` failures within `WINDOW` the key is
locked until the oldest of those failures ages out.

OIDC (optional): when `.streamlit/secrets.toml` has an `[auth]` section (see Streamlit's
`st.login` docs: redirect_uri, cookie_secret, client_id, client_secret,
server_metadata_url), the sign-in page offers "Inloggen met je organisatie-account". OIDC only
authenticates: the e-mail address from the provider must match the code of an existing, active
staff account (`workbench account add jan@example.org --role expert`, no password needed), which
decides the role. Nobody gets an account by signing in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from workbench.domain.enums import Group, Role, TrainingDayStatus
from workbench.services.errors import UserError
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import JoinCode, Participant, TrainingDay, utcnow

STAFF_ROLES = frozenset({Role.facilitator, Role.expert, Role.developer, Role.manager})
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
# Unambiguous characters: no 0/O, 1/I/L, so a code read aloud in the room is typed right.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
JOIN_CODE_LENGTH = 8  # 31**8 ≈ 8.5e11 codes: guessing under the rate limit is hopeless
PANEL_PREFIX = "LE-"

# argon2id with the library's defaults (RFC 9106 low-memory profile). Tests swap in a cheaper
# hasher; nothing else should.
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


@dataclass(frozen=True)
class JoinCodeView:
    id: int
    created_at: datetime
    valid_on: date
    used_by: str | None
    revoked: bool


def _signed_in(p: Participant) -> SignedIn:
    return SignedIn(participant_id=p.id or 0, code=p.code, role=Role(p.role),
                    language=p.language or "nl", training_day_id=p.training_day_id)


def hash_join_code(code: str) -> str:
    """sha256 of the normalised code: case, spaces and dashes do not matter when typing it."""
    norm = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(norm.encode("ascii", "ignore")).hexdigest()


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


# --- rate limiting ------------------------------------------------------------------------------


def _check_not_locked(session, key: str, now: datetime) -> None:  # type: ignore[no-untyped-def]
    failures = repo_training.recent_failures(session=session, key=key, since=now - WINDOW)
    if len(failures) >= MAX_FAILURES:
        # Unlocked when enough failures have aged out to fall below the limit again.
        unlock_at = failures[len(failures) - MAX_FAILURES] + WINDOW
        minutes = max(1, int((unlock_at - now).total_seconds() // 60) + 1)
        raise AuthError("auth.locked", minutes=minutes)


def _fail(engine: sa.Engine, key: str, now: datetime, error: str) -> AuthError:
    # Its own transaction: the failure must be counted even though sign-in is refused.
    with session_scope(engine) as s:
        repo_training.record_login_attempt(session=s, key=key, ok=False, at=now)
    return AuthError(error)


# --- staff accounts -----------------------------------------------------------------------------


def create_staff(*, engine: sa.Engine, code: str, role: Role, password: str | None,
                 language: str = "nl", is_demo: bool = False) -> SignedIn:
    """A staff account. Without a password it can only sign in through OIDC."""
    role = Role(role)
    code = code.strip()
    if role not in STAFF_ROLES:
        raise AuthError("auth.not_a_staff_role", role=str(role))
    if not code or len(code) > 64:
        raise AuthError("auth.bad_code")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_short", n=MIN_PASSWORD_LENGTH)
    with session_scope(engine) as s:
        if repo.get_participant(session=s, code=code) is not None:
            raise AuthError("auth.code_taken", code=code)
        p = repo.create_participant(
            session=s, code=code, role=role,
            group=Group.expert if role == Role.expert else None,
            password_hash=HASHER.hash(password) if password else None, language=language,
            is_demo=is_demo,
        )
        repo.audit(session=s, action="account.create", entity="participant",
                   entity_id=p.id, details={"code": code, "role": str(role)})
        return _signed_in(p)


def ensure_staff(*, engine: sa.Engine, code: str, role: Role, password: str | None,
                 is_demo: bool = False) -> SignedIn:
    """The staff account `code`, created when missing; an existing one is left as it is."""
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=code.strip())
        if p is not None:
            return _signed_in(p)
    return create_staff(engine=engine, code=code, role=role, password=password, is_demo=is_demo)


def set_password(*, engine: sa.Engine, code: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_short", n=MIN_PASSWORD_LENGTH)
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=code)
        if p is None or p.role not in STAFF_ROLES:
            raise AuthError("auth.no_such_account", code=code)
        p.password_hash = HASHER.hash(password)
        s.add(p)
        repo.audit(session=s, action="account.password", entity="participant", entity_id=p.id)


def list_staff(*, engine: sa.Engine) -> list[SignedIn]:
    with session_scope(engine) as s:
        return [_signed_in(p) for p in repo.list_participants(session=s)
                if p.role in STAFF_ROLES]


def sign_in(*, engine: sa.Engine, code: str, password: str, now: datetime | None = None
            ) -> SignedIn:
    """Check a staff code and password; raises AuthError (wrong or locked) otherwise."""
    now = now or utcnow()
    code = code.strip()
    key = f"user:{code.lower()}"
    with session_scope(engine) as s:
        _check_not_locked(s, key, now)
        p = repo.get_participant(session=s, code=code)
        stored = p.password_hash if p is not None and p.active else None
        try:
            ok = HASHER.verify(stored or _dummy_hash(), password) and stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or p is None or p.role not in STAFF_ROLES:
            ok = False
        else:
            if HASHER.check_needs_rehash(stored or ""):
                p.password_hash = HASHER.hash(password)
                s.add(p)
            repo_training.record_login_attempt(session=s, key=key, ok=True, at=now)
            return _signed_in(p)
    raise _fail(engine, key, now, "auth.wrong_password")


def sign_in_oidc(*, engine: sa.Engine, email: str | None) -> SignedIn:
    """Map an identity confirmed by the OIDC provider to its staff account."""
    if not email:
        raise AuthError("auth.oidc_no_email")
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=email.strip().lower()) or \
            repo.get_participant(session=s, code=email.strip())
        if p is None or not p.active or p.role not in STAFF_ROLES:
            raise AuthError("auth.oidc_no_account", email=email)
        repo.audit(session=s, action="account.oidc_sign_in", entity="participant",
                   entity_id=p.id)
        return _signed_in(p)


# --- join codes for the panel -----------------------------------------------------------------


def issue_join_code(*, engine: sa.Engine, training_day_id: int, issued_by: str | None = None
                    ) -> str:
    """A new one-time code for the day, returned once in plain text (only its hash is kept)."""
    with session_scope(engine) as s:
        day = s.get(TrainingDay, training_day_id)
        if day is None:
            raise repo.NotFound(f"training day {training_day_id}")
        if day.status != TrainingDayStatus.open:
            raise AuthError("auth.day_closed")
        while True:
            raw = _random(JOIN_CODE_LENGTH)
            if repo_training.get_join_code(session=s, code_hash=hash_join_code(raw)) is None:
                break
        jc = repo_training.create_join_code(session=s, code_hash=hash_join_code(raw),
                                            training_day_id=training_day_id, valid_on=day.day)
        repo.audit(session=s, action="join_code.issue", actor=issued_by, entity="join_code",
                   entity_id=jc.id)
    return f"{raw[:4]}-{raw[4:]}"


def revoke_join_code(*, engine: sa.Engine, join_code_id: int, revoked_by: str | None = None
                     ) -> None:
    """The code stops working; a panel member who joined with it is signed out for good."""
    with session_scope(engine) as s:
        jc = s.get(JoinCode, join_code_id)
        if jc is None:
            raise repo.NotFound(f"join code {join_code_id}")
        jc.revoked_at = jc.revoked_at or utcnow()
        s.add(jc)
        if jc.participant_id is not None:
            p = s.get(Participant, jc.participant_id)
            if p is not None:
                p.active = False
                s.add(p)
        repo.audit(session=s, action="join_code.revoke", actor=revoked_by, entity="join_code",
                   entity_id=jc.id)


def list_join_codes(*, engine: sa.Engine, training_day_id: int) -> list[JoinCodeView]:
    with session_scope(engine) as s:
        return [
            JoinCodeView(id=jc.id or 0, created_at=jc.created_at, valid_on=jc.valid_on,
                         used_by=code, revoked=jc.revoked_at is not None)
            for jc, code in repo_training.list_join_codes(session=s,
                                                          training_day_id=training_day_id)
        ]


def redeem_join_code(*, engine: sa.Engine, code: str, client: str = "unknown",
                     today: date | None = None, now: datetime | None = None) -> SignedIn:
    """Join a training day: the first use creates the pseudonymous panel participant; using the
    same code again that day signs back in as them."""
    now = now or utcnow()
    today = today or date.today()
    key = f"join:{client}"
    with session_scope(engine) as s:
        _check_not_locked(s, key, now)
        jc = repo_training.get_join_code(session=s, code_hash=hash_join_code(code))
        day = s.get(TrainingDay, jc.training_day_id) if jc is not None else None
        if jc is not None and day is not None and jc.revoked_at is None \
                and jc.valid_on == today and day.status == TrainingDayStatus.open:
            p = s.get(Participant, jc.participant_id) if jc.participant_id else None
            if p is None:
                p = repo.create_participant(
                    session=s, code=_new_panel_code(s), role=Role.panel,
                    group=Group.lived_experience, training_day_id=day.id,
                )
                jc.participant_id = p.id
                jc.used_at = now
                s.add(jc)
                repo.audit(session=s, action="join_code.redeem", entity="join_code",
                           entity_id=jc.id, details={"participant": p.code})
            if p.active:
                repo_training.record_login_attempt(session=s, key=key, ok=True, at=now)
                return _signed_in(p)
    raise _fail(engine, key, now, "auth.bad_join_code")


def _new_panel_code(session) -> str:  # type: ignore[no-untyped-def]
    while True:
        code = PANEL_PREFIX + _random(4)
        if repo.get_participant(session=session, code=code) is None:
            return code


# --- the signed-in participant --------------------------------------------------------------


def current_participant(*, engine: sa.Engine, participant_id: int) -> SignedIn | None:
    """The participant as the database knows them now; None when deactivated (e.g. revoked)."""
    with session_scope(engine) as s:
        p = s.get(Participant, participant_id)
        if p is None or not p.active:
            return None
        if p.role == Role.panel and p.training_day_id is not None:
            day = s.get(TrainingDay, p.training_day_id)
            if day is None or day.status != TrainingDayStatus.open:
                return None
        return _signed_in(p)


def set_language(*, engine: sa.Engine, participant_id: int, language: str) -> None:
    if language not in ("nl", "en"):
        raise ValueError(f"unsupported language {language!r}")
    with session_scope(engine) as s:
        p = s.get(Participant, participant_id)
        if p is None:
            raise repo.NotFound(f"participant {participant_id}")
        p.language = language
        s.add(p)
