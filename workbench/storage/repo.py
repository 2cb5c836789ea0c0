"""Keyword-only repository functions of the core tables (participants, library snapshots, bot
targets, conversations, turns, ratings, audit). Queries are built only in storage modules.

Callers hand in a Session; these functions flush but never commit, so a service decides what
one transaction is.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import (
    BotKind,
    ConversationKind,
    ConversationStatus,
    Group,
    RatingSource,
    RatingStatus,
    Role,
    TurnRole,
    TurnStatus,
)
from workbench.domain.library import LoadedRubric, LoadedScenario
from workbench.domain.scenarios import content_hash
from workbench.storage.errors import NotFound
from workbench.storage.tables import (
    AuditEvent,
    BotTarget,
    Conversation,
    Participant,
    PromptVersion,
    Rating,
    RatingScore,
    RubricVersion,
    ScenarioSnapshot,
    Turn,
    utcnow,
)

# --- participants -------------------------------------------------------------------------


def create_participant(
    *,
    session: Session,
    code: str,
    role: Role,
    group: Group | None = None,
    password_hash: str | None = None,
    training_day_id: int | None = None,
    is_demo: bool = False,
    language: str = "nl",
) -> Participant:
    p = Participant(
        code=code, role=role, group=group, password_hash=password_hash,
        training_day_id=training_day_id, is_demo=is_demo, language=language,
    )
    session.add(p)
    session.flush()
    return p


def get_participant(*, session: Session, code: str) -> Participant | None:
    return session.exec(select(Participant).where(Participant.code == code)).first()


def list_participants(*, session: Session, role: Role | None = None) -> list[Participant]:
    q = select(Participant).order_by(col(Participant.id))
    if role is not None:
        q = q.where(Participant.role == role)
    return list(session.exec(q))


# --- library snapshots ----------------------------------------------------------------------


def snapshot_scenario(*, session: Session, loaded: LoadedScenario) -> ScenarioSnapshot:
    """The snapshot of this exact scenario text, created on first use."""
    found = session.exec(
        select(ScenarioSnapshot).where(ScenarioSnapshot.sha256 == loaded.sha256)
    ).first()
    if found:
        return found
    sc = loaded.scenario
    snap = ScenarioSnapshot(
        scenario_id=sc.id, sha256=loaded.sha256, content=loaded.text, title=sc.title,
        risk_level=sc.risk_level, writer=sc.writer, tags=[str(t) for t in sc.tags],
    )
    session.add(snap)
    session.flush()
    return snap


def record_rubric_version(*, session: Session, loaded: LoadedRubric) -> RubricVersion:
    r = loaded.rubric
    found = session.exec(
        select(RubricVersion).where(
            RubricVersion.rubric_id == r.id,
            RubricVersion.version == r.version,
            RubricVersion.sha256 == loaded.sha256,
        )
    ).first()
    if found:
        return found
    rv = RubricVersion(
        rubric_id=r.id, version=r.version, audience=Group(str(r.audience)),
        sha256=loaded.sha256, content=loaded.text,
    )
    session.add(rv)
    session.flush()
    return rv


def get_rubric_version(*, session: Session, rubric_version_id: int) -> RubricVersion:
    rv = session.get(RubricVersion, rubric_version_id)
    if rv is None:
        raise NotFound(f"rubric version {rubric_version_id}")
    return rv


# --- bot targets and prompt versions ----------------------------------------------------------


def create_bot_target(
    *,
    session: Session,
    name: str,
    kind: BotKind,
    base_url: str | None = None,
    model: str | None = None,
    parameters: dict[str, Any] | None = None,
    api_key_env: str | None = None,
) -> BotTarget:
    t = BotTarget(
        name=name, kind=kind, base_url=base_url, model=model,
        parameters=parameters or {}, api_key_env=api_key_env,
    )
    session.add(t)
    session.flush()
    return t


def get_bot_target(*, session: Session, name: str) -> BotTarget:
    t = session.exec(select(BotTarget).where(BotTarget.name == name)).first()
    if t is None:
        raise NotFound(f"no bot target named '{name}'")
    return t


def list_bot_targets(*, session: Session) -> list[BotTarget]:
    return list(session.exec(select(BotTarget).order_by(BotTarget.name)))


def set_prompt(*, session: Session, target: BotTarget, content: str, label: str) -> PromptVersion:
    """Make `content` the target's current system prompt; the same text reuses its version."""
    sha = content_hash(content)
    pv = session.exec(
        select(PromptVersion).where(
            PromptVersion.bot_target_id == target.id, PromptVersion.sha256 == sha
        )
    ).first()
    if pv is None:
        pv = PromptVersion(bot_target_id=target.id or 0, sha256=sha, label=label,
                           content=content)
        session.add(pv)
        session.flush()
    target.current_prompt_version_id = pv.id
    session.add(target)
    session.flush()
    return pv


def list_prompt_versions(
    *, session: Session, bot_target_id: int | None = None
) -> list[PromptVersion]:
    q = select(PromptVersion).order_by(col(PromptVersion.id))
    if bot_target_id is not None:
        q = q.where(PromptVersion.bot_target_id == bot_target_id)
    return list(session.exec(q))


# --- conversations and turns --------------------------------------------------------------------


def create_conversation(*, session: Session, kind: ConversationKind, **fields: Any) -> Conversation:
    conv = Conversation(kind=kind, **fields)
    session.add(conv)
    session.flush()
    return conv


def get_conversation(*, session: Session, conversation_id: int) -> Conversation:
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound(f"conversation {conversation_id}")
    return conv


def list_turns(*, session: Session, conversation_id: int, ok_only: bool = False) -> list[Turn]:
    q = select(Turn).where(Turn.conversation_id == conversation_id).order_by(col(Turn.index))
    if ok_only:
        q = q.where(Turn.status == TurnStatus.ok)
    return list(session.exec(q))


def append_turn(
    *, session: Session, conversation_id: int, role: TurnRole, content: str, **fields: Any
) -> Turn:
    """Add a turn at the next index of its conversation."""
    last = session.exec(
        select(sa.func.max(Turn.index)).where(Turn.conversation_id == conversation_id)
    ).first()
    turn = Turn(
        conversation_id=conversation_id, index=(last + 1) if last is not None else 0,
        role=role, content=content, **fields,
    )
    session.add(turn)
    session.flush()
    return turn


def set_conversation_status(
    *, session: Session, conversation: Conversation, status: ConversationStatus
) -> Conversation:
    conversation.status = status
    if status in (ConversationStatus.finished, ConversationStatus.stopped,
                  ConversationStatus.skipped, ConversationStatus.failed):
        conversation.ended_at = utcnow()
    session.add(conversation)
    session.flush()
    return conversation


# --- ratings --------------------------------------------------------------------------------------


def get_rating(
    *, session: Session, rater_id: int, turn_id: int, rubric_version_id: int
) -> Rating | None:
    return session.exec(
        select(Rating).where(
            Rating.rater_id == rater_id,
            Rating.turn_id == turn_id,
            Rating.rubric_version_id == rubric_version_id,
        )
    ).first()


def upsert_rating(
    *,
    session: Session,
    rater_id: int,
    turn_id: int,
    rubric_version_id: int,
    values: dict[str, Any],
    status: RatingStatus,
    overall: float | None,
    unsafe: bool,
    source: RatingSource = RatingSource.human,
    **fields: Any,
) -> Rating:
    """Write the one rating of (rater, turn, rubric version): create it or update the draft.

    A submitted rating is final; submitting again returns it unchanged, so a double click never
    writes twice. Per-criterion values are mirrored into rating_score for SQL aggregation. The
    dashboard's triggers mark the reply (stats/triggers.py); the draft's old values are removed
    before the rating becomes submitted, so a submit marks its reply once, not per criterion.
    """
    rating = get_rating(
        session=session, rater_id=rater_id, turn_id=turn_id, rubric_version_id=rubric_version_id
    )
    if rating is not None and rating.status == RatingStatus.submitted:
        return rating
    now = utcnow()
    if rating is not None:
        session.exec(sa.delete(RatingScore).where(col(RatingScore.rating_id) == rating.id))
    else:
        rating = Rating(rater_id=rater_id, turn_id=turn_id, rubric_version_id=rubric_version_id)
    rating.values = dict(values)
    rating.status = status
    rating.overall = overall
    rating.unsafe = unsafe
    rating.source = source
    rating.updated_at = now
    if status == RatingStatus.submitted:
        rating.submitted_at = now
    for key, value in fields.items():
        setattr(rating, key, value)
    session.add(rating)
    session.flush()
    for key, value in values.items():
        if value is None:
            continue
        session.add(RatingScore(rating_id=rating.id or 0, criterion=key, value=int(value)))
    session.flush()
    return rating


# --- audit ----------------------------------------------------------------------------------------


def audit(
    *,
    session: Session,
    action: str,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    ev = AuditEvent(
        action=action, actor=actor, entity=entity,
        entity_id=None if entity_id is None else str(entity_id), details=details or {},
    )
    session.add(ev)
    session.flush()
    return ev


def get_bot_target_by_id(*, session: Session, bot_target_id: int) -> BotTarget:
    t = session.get(BotTarget, bot_target_id)
    if t is None:
        raise NotFound(f"bot target {bot_target_id}")
    return t
