"""Keyword-only queries of the automatic evaluation (runs, judge, expectation checks, ragas,
compare): bot replies with their place in the conversation, judge ratings and failures, and
gold-reference candidates.

Like `repo`, these flush but never commit; the calling service owns the transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import (
    ConversationStatus,
    CurationState,
    RatingSource,
    RatingStatus,
    TurnRole,
    TurnStatus,
)
from workbench.domain.rules import Purpose
from workbench.domain.storable import clean_row
from workbench.storage import rules
from workbench.storage.tables import (
    Adjudication,
    AuditEvent,
    Conversation,
    CuratedExample,
    Participant,
    Rating,
    RatingScore,
    ScenarioSnapshot,
    Turn,
    utcnow,
)

FALSE = sa.false()
JUDGE_FAILURE = "judge.failure"  # audit action of a judge answer that never became valid


@dataclass(frozen=True)
class Reply:
    """One ok bot reply with what came before it.

    `ordinal` counts the conversation's ok bot replies from 0: in a scripted or batch
    conversation, reply n answers scripted turn n, and two runs of a scenario pair on it.
    """

    turn_id: int
    conversation_id: int
    ordinal: int
    text: str
    context: tuple[tuple[str, str], ...]  # (role, text) of the ok turns before the reply
    kind: str
    scenario_snapshot_id: int | None
    scenario_id: str | None
    repeat_index: int | None

    @property
    def user_text(self) -> str | None:
        """The message this reply answers."""
        for role, text in reversed(self.context):
            if role == TurnRole.user:
                return text
        return None


def replies_of_conversations(*, session: Session, conversation_ids: Collection[int]
                             ) -> list[Reply]:
    """Every ok, not withdrawn bot reply of these conversations, in conversation order."""
    if not conversation_ids:
        return []
    convs = session.execute(
        sa.select(col(Conversation.id), col(Conversation.kind),
                  col(Conversation.scenario_snapshot_id), col(Conversation.repeat_index),
                  col(ScenarioSnapshot.scenario_id))
        .outerjoin(ScenarioSnapshot,
                   col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
        .where(col(Conversation.id).in_(list(conversation_ids)))
        .order_by(col(Conversation.id))).all()
    turns = session.exec(
        select(Turn).where(col(Turn.conversation_id).in_(list(conversation_ids)),
                           Turn.status == TurnStatus.ok,
                           col(Turn.role).in_([TurnRole.user, TurnRole.assistant]))
        .order_by(col(Turn.conversation_id), col(Turn.index))).all()
    by_conv: dict[int, list[Turn]] = {}
    for t in turns:
        by_conv.setdefault(t.conversation_id, []).append(t)
    out: list[Reply] = []
    for cid, kind, snap_id, repeat, scenario_id in convs:
        context: list[tuple[str, str]] = []
        ordinal = 0
        for t in by_conv.get(int(cid), []):
            if t.role == TurnRole.assistant:
                if not t.withdrawn:
                    out.append(Reply(t.id or 0, int(cid), ordinal, t.content, tuple(context),
                                     str(kind), snap_id, scenario_id, repeat))
                ordinal += 1
            context.append((str(t.role), t.content))
    return out


def run_conversation_ids(*, session: Session, run_id: str) -> list[int]:
    return [int(i or 0) for i in session.exec(
        select(col(Conversation.id)).where(Conversation.run_id == run_id)
        .order_by(col(Conversation.id)))]


def replies_of_run(*, session: Session, run_id: str) -> list[Reply]:
    return replies_of_conversations(
        session=session, conversation_ids=run_conversation_ids(session=session, run_id=run_id))


def conversation_ids_of_turns(*, session: Session, turn_ids: Collection[int]) -> set[int]:
    if not turn_ids:
        return set()
    return {int(c) for c in session.exec(
        select(Turn.conversation_id).where(col(Turn.id).in_(list(turn_ids))).distinct())}


def reply_of_turn(*, session: Session, turn_id: int) -> Reply | None:
    turn = session.get(Turn, turn_id)
    if turn is None:
        return None
    found = [r for r in replies_of_conversations(session=session,
                                                 conversation_ids=[turn.conversation_id])
             if r.turn_id == turn_id]
    return found[0] if found else None


# --- judge ratings and failures -----------------------------------------------------------------


def judged_turn_ids(*, session: Session, rater_id: int, rubric_version_id: int,
                    turn_ids: Collection[int]) -> set[int]:
    if not turn_ids:
        return set()
    return {int(t) for t in session.exec(
        select(Rating.turn_id).where(Rating.rater_id == rater_id,
                                     Rating.rubric_version_id == rubric_version_id,
                                     col(Rating.turn_id).in_(list(turn_ids))))}


def insert_judge_ratings(*, session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new submitted judge ratings and their rating_score rows in two statements.

    A judge run writes hundreds of ratings a minute; the ORM upsert (`repo.upsert_rating`) costs
    several ms of CPU each, which would throttle the run. Raises IntegrityError when one of them
    exists already (a concurrent run); the caller then falls back to the upsert. Judge ratings
    never count on the dashboard, so its stored statistics (storage/dashboard_stats.py) are
    left as they are.
    """
    if not rows:
        return
    now = utcnow()
    full = [{"status": RatingStatus.submitted, "source": RatingSource.judge,
             "unsafe_flag": False, "withdrawn": False, "created_at": now, "updated_at": now,
             "submitted_at": now, **r} for r in rows]
    ids = session.execute(sa.insert(Rating).returning(col(Rating.id), sort_by_parameter_order=True),
                          full).scalars().all()
    scores = [{"rating_id": rid, "criterion": k, "value": int(v)}
              for rid, r in zip(ids, full, strict=True) for k, v in r["values"].items()
              if v is not None]
    if scores:
        session.execute(sa.insert(RatingScore), scores)


def judge_ratings(*, session: Session, turn_ids: Collection[int] | None = None,
                  judge_code: str | None = None, rubric_version_id: int | None = None
                  ) -> list[tuple[Rating, str]]:
    """Submitted judge ratings (not withdrawn) with the judge's participant code."""
    q = (select(Rating, Participant.code)
         .join(Participant, col(Participant.id) == col(Rating.rater_id))
         .where(Rating.source == RatingSource.judge, Rating.status == RatingStatus.submitted,
                col(Rating.withdrawn) == FALSE))
    if turn_ids is not None:
        q = q.where(col(Rating.turn_id).in_(list(turn_ids)))
    if judge_code is not None:
        q = q.where(Participant.code == judge_code)
    if rubric_version_id is not None:
        q = q.where(Rating.rubric_version_id == rubric_version_id)
    return [(r, str(code)) for r, code in session.exec(q.order_by(col(Rating.id)))]


def judge_rating_counts(*, session: Session) -> list[tuple[str, int, int]]:
    """(judge code, rubric version id, number of ratings) of every judge that has rated."""
    rows = session.exec(
        select(Participant.code, Rating.rubric_version_id, sa.func.count())
        .join(Participant, col(Participant.id) == col(Rating.rater_id))
        .where(Rating.source == RatingSource.judge, Rating.status == RatingStatus.submitted,
               col(Rating.withdrawn) == FALSE)
        .group_by(col(Participant.code), col(Rating.rubric_version_id))
        .order_by(col(Participant.code), col(Rating.rubric_version_id))).all()
    return [(str(c), int(rv), int(n)) for c, rv, n in rows]


def judge_failure_count(*, session: Session, judge_code: str) -> int:
    return int(session.exec(select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == JUDGE_FAILURE, AuditEvent.actor == judge_code)).one())


# --- gold references ----------------------------------------------------------------------------

# How much a written ideal reply counts as the gold reference, best first.
TIER_CURATED, TIER_ADJUDICATED, TIER_RATING = 0, 1, 2


@dataclass(frozen=True)
class ReferenceCandidate:
    turn_id: int
    tier: int
    text: str
    at: datetime | None


def _in(column: Any, values: Collection[Any] | None) -> list[Any]:
    return [] if values is None else [col(column).in_(list(values))]


def reference_candidates(*, session: Session, turn_ids: Collection[int] | None = None,
                         scenario_ids: Collection[str] | None = None
                         ) -> list[ReferenceCandidate]:
    """Ideal replies people wrote for bot replies: a curated gold example's, a lead's
    adjudicated one, and those of ratings counted for reuse (`rules`, purpose "export").
    Withdrawn text never counts."""
    def where_turn(q: Any, turn_col: Any) -> Any:
        q = q.join(Turn, col(Turn.id) == col(turn_col)).where(col(Turn.withdrawn) == FALSE,
                                                              *_in(Turn.id, turn_ids))
        if scenario_ids is not None:
            q = (q.join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
                 .join(ScenarioSnapshot,
                       col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
                 .where(col(ScenarioSnapshot.scenario_id).in_(list(scenario_ids))))
        return q

    out: list[ReferenceCandidate] = []
    curated = where_turn(
        select(CuratedExample.turn_id, CuratedExample.ideal_reply, CuratedExample.updated_at)
        .where(CuratedExample.state == CurationState.gold,
               col(CuratedExample.withdrawn) == FALSE,
               col(CuratedExample.ideal_reply).is_not(None)), CuratedExample.turn_id)
    out += [ReferenceCandidate(int(t), TIER_CURATED, text, at) for t, text, at in
            session.exec(curated)]
    newest = select(sa.func.max(col(Adjudication.id))).group_by(col(Adjudication.turn_id))
    adjudicated = where_turn(
        select(Adjudication.turn_id, Adjudication.final_ideal_reply, Adjudication.created_at)
        .where(col(Adjudication.id).in_(newest),
               col(Adjudication.final_ideal_reply).is_not(None)), Adjudication.turn_id)
    out += [ReferenceCandidate(int(t), TIER_ADJUDICATED, text, at) for t, text, at in
            session.exec(adjudicated)]
    rated = where_turn(
        select(Rating.turn_id, Rating.ideal_reply, Rating.submitted_at)
        .where(*rules.rating_counts(Purpose.export), col(Rating.ideal_reply).is_not(None)),
        Rating.turn_id)
    out += [ReferenceCandidate(int(t), TIER_RATING, text, at) for t, text, at in
            session.exec(rated)]
    return [c for c in out if c.text and c.text.strip()]


# --- batch runs ---------------------------------------------------------------------------------

_ENDED = {ConversationStatus.finished, ConversationStatus.stopped, ConversationStatus.skipped,
          ConversationStatus.failed}
_TURN: sa.Table = Turn.__table__  # type: ignore[attr-defined]
_TURN_FIELDS = {name: info for name, info in Turn.model_fields.items() if name != "id"}
TURN_TEXT = ("content", "error_message", "model", "error_kind", "parameters")  # may need cleaning


def turn_row(**fields: Any) -> dict[str, Any]:
    """A full row for the turn table: the given fields plus the model's own defaults (every
    row of an executemany needs the same columns). Text a database cannot store (a NUL, a lone
    surrogate) is replaced, with a note in `parameters` (domain/storable.py); the ORM path
    does the same in tables.py."""
    unknown = fields.keys() - _TURN_FIELDS.keys()
    if unknown:
        raise TypeError(f"turn has no field(s) {sorted(unknown)}")
    row: dict[str, Any] = {}
    for name, info in _TURN_FIELDS.items():
        if name in fields:
            row[name] = fields[name]
        elif info.is_required():
            raise TypeError(f"turn field {name!r} is required")
        else:
            row[name] = info.get_default(call_default_factory=True)
    return clean_row(row, fields=TURN_TEXT)


def insert_turn_rows(*, session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert full turn rows (`turn_row`) in one executemany, not as ORM objects: the unit of
    work cost about 0.4 ms of CPU per turn on the runner's writer thread, all of it holding
    the GIL that the event loop needs to keep 32 requests moving."""
    if rows:
        session.connection().execute(sa.insert(_TURN), rows)


def set_run_conversation_status(*, session: Session, conversation_id: int,
                                status: ConversationStatus) -> None:
    values: dict[str, Any] = {"status": status}
    if status in _ENDED:
        values["ended_at"] = utcnow()
    session.execute(sa.update(Conversation).where(col(Conversation.id) == conversation_id)
                    .values(**values))


def next_turn_index(*, session: Session, conversation_id: int) -> int:
    last = session.exec(select(sa.func.max(Turn.index))
                        .where(Turn.conversation_id == conversation_id)).first()
    return 0 if last is None else int(last) + 1


def run_conversations(*, session: Session, run_id: str) -> list[Conversation]:
    return list(session.exec(select(Conversation).where(Conversation.run_id == run_id)
                             .order_by(col(Conversation.id))))


def run_conversations_with_snapshots(*, session: Session, run_id: str
                                     ) -> list[tuple[Conversation, ScenarioSnapshot]]:
    """The run's conversations with their scenario snapshot, by scenario id and repeat."""
    rows = session.exec(
        select(Conversation, ScenarioSnapshot)
        .join(ScenarioSnapshot,
              col(Conversation.scenario_snapshot_id) == col(ScenarioSnapshot.id))
        .where(Conversation.run_id == run_id)
        .order_by(col(ScenarioSnapshot.scenario_id), col(Conversation.repeat_index))).all()
    return [(c, snap) for c, snap in rows]

