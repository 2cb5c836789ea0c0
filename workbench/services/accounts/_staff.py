"""Staff accounts: create, list, new password, deactivate. Shared by the CLI (`workbench
account ...`) and the facilitator's Medewerkers page. Every change is audited, never with the
password; a new password or a deactivation ends the person's sessions at once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import access
from workbench.domain.enums import Group, Role, ThrottleKind
from workbench.services.accounts import _auth, _throttle
from workbench.services.accounts._auth import (
    MAX_CODE_LENGTH,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    STAFF_ROLES,
    AuthError,
    SignedIn,
    signed_in,
    user_key,
    valid_code,
)
from workbench.storage import repo, repo_access
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, utcnow

GENERATED_GROUPS = 4  # 4 groups of 4 from the join-code alphabet: 31**16 ≈ 7e23 (79 bits)


def generate_password() -> str:
    """A password to read off the screen once and type elsewhere: `K7QM-2WXP-...`."""
    raw = "".join(secrets.choice(access.JOIN_ALPHABET)
                  for _ in range(access.JOIN_GROUP * GENERATED_GROUPS))
    return access.format_join_code(raw)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("auth.password_too_short", n=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH or "\x00" in password:
        raise AuthError("auth.password_unusable", n=MAX_PASSWORD_LENGTH)


def create_staff(*, engine: sa.Engine, code: str, role: Role, password: str | None,
                 language: str = "nl", is_demo: bool = False, created_by: str | None = None
                 ) -> SignedIn:
    """A staff account. Without a password it can only sign in through OIDC. The user name is
    unique in the database (participant.code), so two at once cannot both be made."""
    role = Role(role)
    code = code.strip()
    if role not in STAFF_ROLES:
        raise AuthError("auth.not_a_staff_role", role=str(role))
    if not valid_code(code):
        raise AuthError("auth.bad_code")
    if password is not None:
        _check_password(password)
    hashed = _auth.HASHER.hash(password) if password else None  # slow: outside the transaction
    try:
        with session_scope(engine) as s:
            if repo.get_participant(session=s, code=code) is not None:
                raise AuthError("auth.code_taken", code=code)
            p = repo.create_participant(
                session=s, code=code, role=role,
                group=Group.expert if role == Role.expert else None,
                password_hash=hashed, language=language, is_demo=is_demo,
            )
            repo.audit(session=s, action="account.create", actor=created_by,
                       entity="participant", entity_id=p.id,
                       details={"code": code, "role": str(role)})
            return signed_in(p)
    except sa.exc.IntegrityError:  # the same name made at the same moment elsewhere
        raise AuthError("auth.code_taken", code=code) from None


def ensure_staff(*, engine: sa.Engine, code: str, role: Role, password: str | None,
                 is_demo: bool = False) -> SignedIn:
    """The staff account `code`, created when missing; an existing one is left as it is."""
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=code.strip())
        if p is not None:
            return signed_in(p)
    return create_staff(engine=engine, code=code, role=role, password=password, is_demo=is_demo)


@dataclass(frozen=True)
class NewAccount:
    user: SignedIn
    password: str  # shown once to whoever made it; only its argon2id hash is stored


def add_staff_account(*, engine: sa.Engine, code: str, role: Role, password: str | None = None,
                      added_by: str | None = None) -> NewAccount:
    """An account made in the app: with the typed password, or a generated one."""
    chosen = password if password else generate_password()
    user = create_staff(engine=engine, code=code, role=role, password=chosen,
                        created_by=added_by)
    return NewAccount(user=user, password=chosen)


def _staff_row(s: Session, code: str) -> Participant:
    p = repo.get_participant(session=s, code=code) if valid_code(code) else None
    if p is None or p.role not in STAFF_ROLES:
        raise AuthError("auth.no_such_account", code=code[:MAX_CODE_LENGTH])
    return p


def set_password(*, engine: sa.Engine, code: str, password: str, changed_by: str | None = None
                 ) -> None:
    """A new password; every session of the account ends (a stolen cookie dies with it)."""
    _check_password(password)
    hashed = _auth.HASHER.hash(password)
    with session_scope(engine) as s:
        p = _staff_row(s, code)
        p.password_hash = hashed
        s.add(p)
        ended = repo_access.revoke_staff_sessions(session=s, participant_id=p.id or 0,
                                                  at=utcnow())
        repo.audit(session=s, action="account.password", actor=changed_by,
                   entity="participant", entity_id=p.id, details={"sessions_ended": ended})


def reset_password(*, engine: sa.Engine, code: str, reset_by: str | None = None) -> str:
    """A generated new password, returned once (see `set_password`)."""
    password = generate_password()
    set_password(engine=engine, code=code, password=password, changed_by=reset_by)
    return password


def deactivate_staff(*, engine: sa.Engine, code: str, deactivated_by: str | None = None
                     ) -> None:
    """The account can no longer sign in (password or OIDC) and its sessions end now; its
    ratings stay. Nobody deactivates themselves, so a facilitator cannot lock out the room."""
    with session_scope(engine) as s:
        p = _staff_row(s, code)
        if deactivated_by is not None and p.code == deactivated_by:
            raise AuthError("auth.not_yourself")
        p.active = False
        s.add(p)
        ended = repo_access.revoke_staff_sessions(session=s, participant_id=p.id or 0,
                                                  at=utcnow())
        repo.audit(session=s, action="account.deactivate", actor=deactivated_by,
                   entity="participant", entity_id=p.id, details={"sessions_ended": ended})


def unlock_staff(*, engine: sa.Engine, code: str, unlocked_by: str | None = None) -> bool:
    """Lift the lock that wrong passwords put on this user name (audited)."""
    return _throttle.lift_limit(engine=engine, key=user_key(code.strip()), lifted_by=unlocked_by)


def list_staff(*, engine: sa.Engine) -> list[SignedIn]:
    with session_scope(engine) as s:
        return [signed_in(p) for p in repo.list_participants(session=s)
                if p.role in STAFF_ROLES]


@dataclass(frozen=True)
class StaffView:
    code: str
    role: Role
    active: bool
    has_password: bool  # False: signs in through OIDC only
    locked_minutes: int  # > 0 while too many wrong passwords lock the user name


def staff_accounts(*, engine: sa.Engine, now: datetime | None = None) -> list[StaffView]:
    """Every staff account for the Medewerkers page, with whether it is locked right now."""
    now = now or utcnow()
    with session_scope(engine) as s:
        out = []
        for p in repo.list_participants(session=s):
            if p.role not in STAFF_ROLES:
                continue
            row = repo_access.get_throttle(session=s, key=user_key(p.code))
            minutes = 0
            if row is not None:
                state = access.Throttle(kind=ThrottleKind.user, failures=row.failures,
                                        window_started_at=row.window_started_at)
                decision = access.reserve(state, now)
                minutes = 0 if decision.allowed else access.whole_minutes(decision.wait)
            out.append(StaffView(code=p.code, role=Role(p.role), active=p.active,
                                 has_password=p.password_hash is not None,
                                 locked_minutes=minutes))
        return out
