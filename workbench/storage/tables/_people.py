"""People and access: participants, training days, join codes, sign-in throttles and staff
sessions."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from workbench.domain.enums import (
    Group,
    Role,
    ThrottleKind,
    TrainingDayStatus,
)
from workbench.storage.tables._base import _enum, _json, utcnow


class Participant(SQLModel, table=True):
    """Anyone who works in the workbench. Panel members are known only by a pseudonymous code."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    role: Role = _enum()
    group: Group | None = _enum(None)
    password_hash: str | None = None  # staff only; panel members sign in with a join code
    language: str = Field(default="nl", max_length=2)
    training_day_id: int | None = Field(default=None, foreign_key="training_day.id")
    is_demo: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    withdrawn_at: datetime | None = None
    active: bool = True
    is_lead: bool = False  # a lead expert: may adjudicate disputes and curate examples


class TrainingDay(SQLModel, table=True):
    __tablename__ = "training_day"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    day: date
    status: TrainingDayStatus = _enum(TrainingDayStatus.open)
    overlap: int = 2  # how many raters each reply needs
    exposure_cap: int = 3  # scenarios one panel member may play in a session
    scenario_ids: list[str] = _json(list)
    bot_target_ids: list[int] = _json(list)
    prompt_version_ids: list[int] = _json(list)
    expert_rubric_version_id: int | None = Field(default=None, foreign_key="rubric_version.id")
    panel_rubric_version_id: int | None = Field(default=None, foreign_key="rubric_version.id")
    is_demo: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    # Archived (migration 0009_dayadmin): left out of every day picker; its conversations,
    # ratings and figures stay. An archived day is always closed.
    archived_at: datetime | None = None


class JoinCode(SQLModel, table=True):
    """A one-time code a panel member uses to join one training day; only its hash is stored."""

    __tablename__ = "join_code"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, index=True)
    training_day_id: int = Field(foreign_key="training_day.id", index=True)
    valid_on: date
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    participant_id: int | None = Field(default=None, foreign_key="participant.id")


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, kept to rate-limit guessing of passwords and join codes."""

    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, index=True)  # e.g. "user:<code>" or "join"
    at: datetime = Field(default_factory=utcnow, index=True)
    ok: bool = False


class LoginThrottle(SQLModel, table=True):
    """The rate-limit counter of one key (`user:<code>` or `join:<address>`), one row locked
    while an attempt is reserved, so parallel guesses queue on it (domain/access.py)."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=128)
    kind: ThrottleKind = _enum(index=True)
    failures: int = 0
    window_started_at: datetime | None = None
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None


class StaffSession(SQLModel, table=True):
    """A signed-in staff member's session behind an http-only cookie. Only sha256 hashes of the
    cookie's token and of the one-time claim that sets it are stored."""

    __tablename__ = "staff_session"
    id: int | None = Field(default=None, primary_key=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    token_hash: str | None = Field(default=None, unique=True, max_length=64)
    claim_hash: str | None = Field(default=None, unique=True, max_length=64)
    claim_expires_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None
