"""Conversations and what people make of them: turns, ratings and their scores, pairwise
judgements, adjudications and curated examples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from workbench.domain.enums import (
    ConversationKind,
    ConversationStatus,
    CurationState,
    PairwiseChoice,
    RatingSource,
    RatingStatus,
    TurnRole,
    TurnStatus,
)
from workbench.domain.storable import clean_row
from workbench.storage.tables._base import _enum, _json, utcnow

_ONE_OPEN_ROLEPLAY = sa.text("kind = 'roleplay' AND status IN ('active', 'paused') "
                             "AND participant_id IS NOT NULL")


class Conversation(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("run_id", "scenario_snapshot_id", "repeat_index"),
        # An imported conversation is stored once per replay target (migration 0011): NULL for
        # every other kind, and NULLs never collide.
        sa.Index("uq_conversation_content", "bot_target_id", "content_sha256", unique=True),
        # One open role-play per panel member (migration 0006), whatever the tabs do.
        sa.Index("uq_conversation_one_open_roleplay", "participant_id", unique=True,
                 sqlite_where=_ONE_OPEN_ROLEPLAY, postgresql_where=_ONE_OPEN_ROLEPLAY),
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
