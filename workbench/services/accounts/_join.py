"""Join codes for the panel: the facilitator makes them (one, or one per person in the room at
once), a panel member joins the day with one.

Only the sha256 of a code is stored; the code itself is shown once. A code works only on the
date of its training day. The first use creates one pseudonymous participant (`LE-7K2Q`);
entering the same code again that day signs back in as them (a refresh loses no work), until
the facilitator revokes it or closes the day.

Guessing is slowed per client address, never locked (`domain/access.py`): reserving the
attempt, checking the code and recording the outcome are one transaction on the address's
locked row — a hash lookup is quick, so holding the row for it costs nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import access
from workbench.domain.enums import Group, Role, ThrottleKind, TrainingDayStatus
from workbench.services.accounts import _throttle
from workbench.services.accounts._auth import AuthError, SignedIn, signed_in
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import JoinCode, Participant, TrainingDay, utcnow

PANEL_PREFIX = "LE-"
MAX_CODES_AT_ONCE = 100  # a room, with room to spare; more at once is a slip of the hand
_MAX_TYPED = 200  # characters of a typed code looked at; anything longer is wrong anyway


def hash_join_code(code: str) -> str:
    """sha256 of the normalised code: case, spaces and dashes do not matter when typing it."""
    norm = "".join(ch for ch in code[:_MAX_TYPED].upper() if ch.isascii() and ch.isalnum())
    return hashlib.sha256(norm.encode("ascii")).hexdigest()


def _random(n: int) -> str:
    return "".join(secrets.choice(access.JOIN_ALPHABET) for _ in range(n))


def join_key(client: str) -> str:
    """The rate-limit key of a client address. The shell passes `accounts.client_address`;
    anything else odd is folded into a fixed-size key rather than trusted as text."""
    text = client.strip()
    if not text or len(text) > 64 or any(unicodedata.category(ch).startswith("C")
                                         for ch in text):
        text = "other-" + hashlib.sha256(client.encode("utf-8", "replace")).hexdigest()[:16]
    return f"join:{text}"


def _open_day(s: Session, training_day_id: int) -> TrainingDay:
    day = s.get(TrainingDay, training_day_id)
    if day is None:
        raise repo.NotFound(f"training day {training_day_id}")
    if day.status != TrainingDayStatus.open:
        raise AuthError("auth.day_closed")
    return day


def issue_join_codes(*, engine: sa.Engine, training_day_id: int, count: int,
                     issued_by: str | None = None) -> list[str]:
    """`count` new one-time codes for the day in one transaction, returned once in plain text
    (`ABCD-EFGH-JKMN`); only their hashes are kept. code_hash is unique in the database."""
    if isinstance(count, bool) or not isinstance(count, int) \
            or not 1 <= count <= MAX_CODES_AT_ONCE:
        raise AuthError("auth.code_count", max=MAX_CODES_AT_ONCE)
    with session_scope(engine) as s:
        day = _open_day(s, training_day_id)
        codes: list[str] = []
        ids: list[int] = []
        while len(codes) < count:
            raw = _random(access.JOIN_CODE_LENGTH)
            digest = hash_join_code(raw)
            if raw in codes or repo_training.get_join_code(session=s, code_hash=digest):
                continue  # 31**12 codes: practically never
            jc = repo_training.create_join_code(session=s, code_hash=digest,
                                                training_day_id=training_day_id,
                                                valid_on=day.day)
            codes.append(raw)
            ids.append(jc.id or 0)
        repo.audit(session=s, action="join_code.issue", actor=issued_by, entity="training_day",
                   entity_id=training_day_id, details={"count": count, "join_code_ids": ids})
    return [access.format_join_code(raw) for raw in codes]


def issue_join_code(*, engine: sa.Engine, training_day_id: int, issued_by: str | None = None
                    ) -> str:
    """One new code for the day (see `issue_join_codes`)."""
    return issue_join_codes(engine=engine, training_day_id=training_day_id, count=1,
                            issued_by=issued_by)[0]


def revoke_join_code(*, engine: sa.Engine, join_code_id: int, revoked_by: str | None = None
                     ) -> None:
    """The code stops working; a panel member who joined with it is signed out for good (the
    app tells them calmly and shows the support contacts; their conversation stays)."""
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


@dataclass(frozen=True)
class JoinCodeView:
    id: int
    created_at: datetime
    valid_on: date
    used_by: str | None
    revoked: bool


def list_join_codes(*, engine: sa.Engine, training_day_id: int) -> list[JoinCodeView]:
    with session_scope(engine) as s:
        return [
            JoinCodeView(id=jc.id or 0, created_at=jc.created_at, valid_on=jc.valid_on,
                         used_by=code, revoked=jc.revoked_at is not None)
            for jc, code in repo_training.list_join_codes(session=s,
                                                          training_day_id=training_day_id)
        ]


def _new_panel_code(session: Session) -> str:
    while True:
        code = PANEL_PREFIX + _random(4)
        if repo.get_participant(session=session, code=code) is None:
            return code


def redeem_join_code(*, engine: sa.Engine, code: str, client: str = "unknown",
                     language: str | None = None, today: date | None = None,
                     now: datetime | None = None) -> SignedIn:
    """Join a training day: the first use creates the pseudonymous panel participant; using the
    same code again that day signs back in as them. `language`, when the person chose one
    before joining, is kept on them. From one address, guesses beyond the free ones have to
    wait a growing delay (AuthError `auth.join_wait`), whichever code they try."""
    now = now or utcnow()
    today = today or date.today()
    key = join_key(client)
    with session_scope(engine) as s:
        decision = _throttle.reserve(session=s, key=key, kind=ThrottleKind.join_code, now=now)
        if not decision.allowed:
            refused = AuthError("auth.join_wait", seconds=access.whole_seconds(decision.wait))
        else:
            refused = AuthError("auth.bad_join_code")
            user = _redeem(s, code, language, today, now)
            if user is not None:
                _throttle.settle_success(session=s, key=key, reserved=decision.state)
                return user
    # After the commit: the failure stays counted. No login_attempt row: a client address is
    # kept only in its throttle row, which is deleted once it limits nothing (list_limits).
    raise refused


def _redeem(s: Session, code: str, language: str | None, today: date, now: datetime
            ) -> SignedIn | None:
    jc = repo_training.get_join_code(session=s, code_hash=hash_join_code(code),
                                     for_update=True)
    day = s.get(TrainingDay, jc.training_day_id) if jc is not None else None
    if jc is None or day is None or jc.revoked_at is not None or jc.valid_on != today \
            or day.status != TrainingDayStatus.open:
        return None
    p = s.get(Participant, jc.participant_id) if jc.participant_id else None
    if p is None:
        p = repo.create_participant(
            session=s, code=_new_panel_code(s), role=Role.panel,
            group=Group.lived_experience, training_day_id=day.id,
            language=language if language in ("nl", "en") else "nl",
        )
        jc.participant_id = p.id
        jc.used_at = now
        s.add(jc)
        repo.audit(session=s, action="join_code.redeem", entity="join_code",
                   entity_id=jc.id, details={"participant": p.code})
    elif language in ("nl", "en") and p.language != language:
        p.language = language
        s.add(p)
    return signed_in(p) if p.active else None
