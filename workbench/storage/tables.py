"""All table models of the workbench, in one module (the Alembic migrations mirror this file).

Enums are stored as short strings, not database enum types, so adding a status is a code change
and not a PostgreSQL type migration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from workbench.domain.enums import (
    BotKind,
    ConversationKind,
    ConversationStatus,
    CurationState,
    Group,
    PairwiseChoice,
    RatingSource,
    RatingStatus,
    RiskLevel,
    Role,
    RunStatus,
    TrainingDayStatus,
    TurnRole,
    TurnStatus,
)
from workbench.domain.storable import clean_row


def utcnow() -> datetime:
    return datetime.now(UTC)


def _enum(default: Any = None, **kw: Any) -> Any:
    return Field(default=default, sa_type=sa.String(32), **kw)


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


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


class ScenarioSnapshot(SQLModel, table=True):
    """The exact YAML text of a scenario as used, identified by its sha256."""

    __tablename__ = "scenario_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(index=True, max_length=120)
    sha256: str = Field(unique=True, max_length=64)
    content: str
    title: str
    risk_level: RiskLevel = _enum()
    writer: str = Field(max_length=32)
    tags: list[str] = _json(list)
    created_at: datetime = Field(default_factory=utcnow)


class RubricVersion(SQLModel, table=True):
    __tablename__ = "rubric_version"
    __table_args__ = (sa.UniqueConstraint("rubric_id", "version", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    rubric_id: str = Field(index=True, max_length=120)
    version: int
    audience: Group = _enum()
    sha256: str = Field(max_length=64)
    content: str
    created_at: datetime = Field(default_factory=utcnow)


class BotTarget(SQLModel, table=True):
    """A bot under test. The API key itself is never stored: only the env var that holds it."""

    __tablename__ = "bot_target"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=80)
    kind: BotKind = _enum()
    base_url: str | None = None
    model: str | None = None
    parameters: dict[str, Any] = _json(dict)
    api_key_env: str | None = None
    current_prompt_version_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PromptVersion(SQLModel, table=True):
    """One distinct system-prompt text of a bot target (content hash + human label)."""

    __tablename__ = "prompt_version"
    __table_args__ = (sa.UniqueConstraint("bot_target_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    bot_target_id: int = Field(foreign_key="bot_target.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    label: str
    content: str
    created_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    """A batch run of scripted scenarios against one bot target and prompt version."""

    id: str = Field(primary_key=True, max_length=40)
    bot_target_id: int = Field(foreign_key="bot_target.id")
    prompt_version_id: int = Field(foreign_key="prompt_version.id")
    status: RunStatus = _enum(RunStatus.running)
    scenario_ids: list[str] = _json(list)
    repeat: int = 1
    concurrency: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    manifest: dict[str, Any] = _json(dict)
    is_demo: bool = False
    # The lease (migration 0005): who plays the run now, taken with one conditional UPDATE and
    # renewed while it plays, so a second runner refuses instead of duplicating exchanges.
    lease_holder: str | None = Field(default=None, max_length=160)
    lease_taken_at: datetime | None = None
    lease_expires_at: datetime | None = None


class Conversation(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("run_id", "scenario_snapshot_id", "repeat_index"),
        # An imported conversation is stored once per replay target (migration 0005): NULL for
        # every other kind, and NULLs never collide.
        sa.Index("uq_conversation_content", "bot_target_id", "content_sha256", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: ConversationKind = _enum()
    status: ConversationStatus = _enum(ConversationStatus.active)
    training_day_id: int | None = Field(default=None, foreign_key="training_day.id", index=True)
    scenario_snapshot_id: int | None = Field(default=None, foreign_key="scenario_snapshot.id")
    bot_target_id: int | None = Field(default=None, foreign_key="bot_target.id")
    prompt_version_id: int | None = Field(default=None, foreign_key="prompt_version.id")
    participant_id: int | None = Field(default=None, foreign_key="participant.id", index=True)
    run_id: str | None = Field(default=None, foreign_key="run.id", index=True)
    repeat_index: int | None = None
    external_id: str | None = None  # replay imports: the id in the source log
    # replay imports: sha256 of the conversation as read (before scrubbing), for idempotency
    content_sha256: str | None = Field(default=None, max_length=64)
    consent_to_use: bool | None = None  # panel member's consent to reuse their role-play text
    meta: dict[str, Any] = _json(dict)
    is_demo: bool = False
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None


class Turn(SQLModel, table=True):
    """One message. A failed bot reply stays as a failed turn; the retry gets the next index."""

    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "index"),
        # Dashboard (migration 0003_dashboard): the bot replies a filter selects, read from the
        # index instead of the wide rows that hold the text.
        sa.Index("ix_turn_dashboard", "role", "status", "withdrawn", "prompt_version_id",
                 "conversation_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    index: int
    role: TurnRole = _enum()
    content: str = ""
    status: TurnStatus = _enum(TurnStatus.ok)
    error_kind: str | None = Field(default=None, max_length=32)
    error_message: str | None = None
    author_participant_id: int | None = Field(default=None, foreign_key="participant.id")
    consent_to_use: bool | None = None
    prompt_version_id: int | None = Field(default=None, foreign_key="prompt_version.id")
    model: str | None = None
    parameters: dict[str, Any] = _json(dict)
    latency_first_token_ms: float | None = None
    latency_total_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    started_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    withdrawn: bool = False


# Every turn written through the ORM (a live role-play, an import) passes here; the runner's
# bulk inserts pass repo_eval.turn_row, which does the same. PostgreSQL refuses a NUL in text
# and no driver encodes a lone surrogate, so one odd reply would otherwise fail its whole
# transaction (domain/storable.py).
_TURN_TEXT = ("content", "error_message", "model", "error_kind", "parameters")


@sa.event.listens_for(Turn, "before_insert")
@sa.event.listens_for(Turn, "before_update")
def _storable_turn(_mapper: Any, _connection: Any, turn: Turn) -> None:
    values = {name: getattr(turn, name) for name in _TURN_TEXT}
    cleaned = clean_row(values, fields=_TURN_TEXT)
    for name in _TURN_TEXT:
        if cleaned[name] is not values[name]:
            setattr(turn, name, cleaned[name])


class Rating(SQLModel, table=True):
    """One rater's judgement of one bot reply under one rubric version (draft or submitted)."""

    __table_args__ = (
        sa.UniqueConstraint("rater_id", "turn_id", "rubric_version_id", name="uq_rating_once"),
        sa.Index("ix_rating_turn_status", "turn_id", "status"),
        # Dashboard: covers every rating column its per-reply aggregation reads, in reply order
        # (migration 0003_dashboard).
        sa.Index("ix_rating_dashboard", "turn_id", "status", "withdrawn", "source",
                 "rubric_version_id", "unsafe", "overall"),
    )
    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turn.id")
    rater_id: int = Field(foreign_key="participant.id", index=True)
    rubric_version_id: int = Field(foreign_key="rubric_version.id")
    source: RatingSource = _enum(RatingSource.human)
    status: RatingStatus = _enum(RatingStatus.draft)
    values: dict[str, Any] = _json(dict)
    overall: float | None = None
    unsafe: bool = False  # the verdict: a critical criterion failed or the rater flagged it
    unsafe_flag: bool = False  # the rater's explicit flag
    unsafe_span: str | None = None
    comment: str | None = None
    ideal_reply: str | None = None
    time_spent_s: float | None = None
    judge_model: str | None = None
    judge_prompt_sha: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = None
    withdrawn: bool = False


class RatingScore(SQLModel, table=True):
    """Per-criterion values in long form, so aggregates run in SQL on both databases."""

    __tablename__ = "rating_score"
    __table_args__ = (
        # Dashboard (migration 0003_dashboard): the rare critical failures by criterion and
        # value, and a rating's values without reading the table.
        sa.Index("ix_rating_score_criterion_value", "criterion", "value", "rating_id"),
        sa.Index("ix_rating_score_values", "rating_id", "criterion", "value"),
    )
    rating_id: int = Field(foreign_key="rating.id", primary_key=True)
    criterion: str = Field(primary_key=True, max_length=64)
    value: int  # 1–5, or 1/0 for yes/no


class PairwiseJudgement(SQLModel, table=True):
    __tablename__ = "pairwise_judgement"
    __table_args__ = (sa.UniqueConstraint("rater_id", "turn_a_id", "turn_b_id"),)
    id: int | None = Field(default=None, primary_key=True)
    rater_id: int = Field(foreign_key="participant.id")
    turn_a_id: int = Field(foreign_key="turn.id")
    turn_b_id: int = Field(foreign_key="turn.id")
    left_turn_id: int = Field(foreign_key="turn.id")  # which reply this rater saw on the left
    choice: PairwiseChoice = _enum()
    reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Adjudication(SQLModel, table=True):
    """A lead expert's final decision on a disputed reply; the original ratings stay untouched."""

    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turn.id", index=True)
    rubric_version_id: int = Field(foreign_key="rubric_version.id")
    adjudicator_id: int = Field(foreign_key="participant.id")
    final_values: dict[str, Any] = _json(dict)
    final_overall: float | None = None
    unsafe: bool = False
    final_ideal_reply: str | None = None
    chosen_from_rating_id: int | None = Field(default=None, foreign_key="rating.id")
    reason: str
    created_at: datetime = Field(default_factory=utcnow)


class CuratedExample(SQLModel, table=True):
    __tablename__ = "curated_example"
    id: int | None = Field(default=None, primary_key=True)
    turn_id: int = Field(foreign_key="turn.id", unique=True)
    state: CurationState = _enum(CurationState.needs_review)
    tags: list[str] = _json(list)
    ideal_reply: str | None = None
    # Who wrote ideal_reply (a rater whose rewrite was chosen, or the lead who wrote it), so a
    # withdrawal can clear exactly their text.
    ideal_reply_author_id: int | None = Field(default=None, foreign_key="participant.id")
    rubric_version_id: int | None = Field(default=None, foreign_key="rubric_version.id")
    score: float | None = None
    lock_version: int = 1  # optimistic locking: an update must name the version it read
    updated_by: int | None = Field(default=None, foreign_key="participant.id")
    updated_at: datetime = Field(default_factory=utcnow)
    withdrawn: bool = False


class ExportRecord(SQLModel, table=True):
    __tablename__ = "export_record"
    id: int | None = Field(default=None, primary_key=True)
    format: str = Field(max_length=32)
    filters: dict[str, Any] = _json(dict)
    out_dir: str
    manifest: dict[str, Any] = _json(dict)
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    entity: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = _json(dict)


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, kept to rate-limit guessing of passwords and join codes."""

    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, index=True)  # e.g. "user:<code>" or "join"
    at: datetime = Field(default_factory=utcnow, index=True)
    ok: bool = False


# --- dashboard statistics, kept current on every write that changes what the dashboard counts
# (storage/dashboard_stats.py). At 1M ratings, aggregating the ratings on every dashboard
# view took seconds; these hold the same sums, so a view reads a few thousand rows.

GROUP_KEYS: tuple[str, ...] = ("all", *(g.value for g in Group))
CUBE_SUM_PREFIXES = ("n", "nm", "s", "ss", "unsafe", "crit", "wsn", "wsy")
CUBE_SUM_COLUMNS: tuple[str, ...] = (
    "replies", "ratings", "demo_replies",
    *(f"{p}_{g}" for g in GROUP_KEYS for p in CUBE_SUM_PREFIXES))


def _cube_dimensions() -> list[sa.Column[Any]]:
    """Where a reply's figures are added up: everything a dashboard filter or axis selects."""
    return [sa.Column("cube_key", sa.String(96), primary_key=True),
            sa.Column("prompt_version_id", sa.Integer, index=True),
            sa.Column("training_day_id", sa.Integer),
            sa.Column("scenario_snapshot_id", sa.Integer),
            sa.Column("bot_target_id", sa.Integer),
            sa.Column("reply_day", sa.Date)]


# Sums over counted replies per (prompt version, training day, scenario snapshot, bot target,
# reply day): the additive "reply cube" of services/dashboard_queries.py, stored. Once over
# every rubric version (rubric_version_id 0), and once per version for the rubric filter: a
# reply's mean and verdicts over all its ratings are not sums of its per-version ones.
dashboard_cube = sa.Table(
    "dashboard_cube", SQLModel.metadata, *_cube_dimensions(),
    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
    *(sa.Column(name, sa.Float, nullable=False, server_default="0")
      for name in CUBE_SUM_COLUMNS))

# Rating-level sums per criterion, for the heatmap: the same dimensions plus rubric version.
dashboard_criterion_cube = sa.Table(
    "dashboard_criterion_cube", SQLModel.metadata, *_cube_dimensions(),
    sa.Column("rubric_version_id", sa.Integer, primary_key=True),
    sa.Column("criterion", sa.String(64), primary_key=True),
    sa.Column("n", sa.Float, nullable=False, server_default="0"),
    sa.Column("s", sa.Float, nullable=False, server_default="0"))

# What each reply has added to the two cubes, so that a change can take it out again.
reply_stat = sa.Table(
    "reply_stat", SQLModel.metadata,
    sa.Column("turn_id", sa.Integer, sa.ForeignKey("turn.id"), primary_key=True),
    sa.Column("cube_key", sa.String(96), nullable=False),
    sa.Column("sums", sa.JSON, nullable=False),  # {rubric version or 0: CUBE_SUM_COLUMNS}
    sa.Column("criteria", sa.JSON, nullable=False))  # [[rubric_version_id, criterion, n, s]]

# Replies whose figures a write changed and the cubes do not show yet. A submit only adds a
# row here; whoever reads the cubes next applies them (dashboard_stats.apply_pending). Updating
# the shared cube rows inside every submit made 50 concurrent raters queue on one row.
reply_stat_pending = sa.Table(
    "reply_stat_pending", SQLModel.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("turn_id", sa.Integer, nullable=False))
