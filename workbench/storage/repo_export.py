"""Keyword-only queries of exports: curated examples with their context, the people's rewrites
an export may fall back on, pairwise votes, the ratings table, and earlier export records.
Same rules as `repo`: flush, never commit.

Curated examples are read with plain column queries, not ORM objects: five ORM objects per
example took minutes at 100k examples; these take seconds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from workbench.domain.enums import CurationState, Role, TurnRole, TurnStatus
from workbench.domain.rules import Purpose
from workbench.storage import rules
from workbench.storage.tables import (
    Conversation,
    CuratedExample,
    ExportRecord,
    PairwiseJudgement,
    Participant,
    PromptVersion,
    Rating,
    RubricVersion,
    ScenarioSnapshot,
    Turn,
)

FALSE = sa.false()
CHUNK = 5000  # ids per IN list: under SQLite's bound-parameter limit
_TABLES = SQLModel.metadata.tables
_CE, _T, _C = _TABLES["curated_example"], _TABLES["turn"], _TABLES["conversation"]
_S, _P = _TABLES["scenario_snapshot"], _TABLES["prompt_version"]


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(ids)
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


# --- curated examples ---------------------------------------------------------------------------


def curated_example_rows(
    *, session: Session, states: Collection[str], training_day_id: int | None = None,
    rubric_version_id: int | None = None, scenario_ids: Collection[str] | None = None,
    risk_levels: Collection[str] | None = None,
) -> list[Any]:
    """Unwithdrawn curated examples on unwithdrawn replies, in example id order: (id, turn_id,
    state, tags, ideal_reply, ideal_reply_author_id, rubric_version_id, score, index, content,
    model, prompt_version_id, conversation_id, kind, training_day_id, scenario_snapshot_id)."""
    q = (sa.select(
            _CE.c.id, _CE.c.turn_id, _CE.c.state, _CE.c.tags, _CE.c.ideal_reply,
            _CE.c.ideal_reply_author_id, _CE.c.rubric_version_id, _CE.c.score,
            _T.c.index, _T.c.content, _T.c.model, _T.c.prompt_version_id, _T.c.conversation_id,
            _C.c.kind, _C.c.training_day_id, _C.c.scenario_snapshot_id)
         .join(_T, _T.c.id == _CE.c.turn_id).join(_C, _C.c.id == _T.c.conversation_id)
         .outerjoin(_S, _S.c.id == _C.c.scenario_snapshot_id)
         .where(_CE.c.withdrawn == FALSE, _T.c.withdrawn == FALSE,
                _CE.c.state.in_([str(CurationState(s)) for s in states]))
         .order_by(_CE.c.id))
    if training_day_id is not None:
        q = q.where(_C.c.training_day_id == training_day_id)
    if rubric_version_id is not None:
        q = q.where(_CE.c.rubric_version_id == rubric_version_id)
    if scenario_ids is not None:
        q = q.where(_S.c.scenario_id.in_(list(scenario_ids)))
    if risk_levels is not None:
        q = q.where(_S.c.risk_level.in_(list(risk_levels)))
    return list(session.execute(q).all())


def snapshot_facts(*, session: Session) -> dict[int, tuple[str, str, tuple[str, ...], str, str]]:
    """snapshot id → (scenario id, title, tags, risk level, writer): once per export, not once
    per example."""
    rows = session.execute(sa.select(_S.c.id, _S.c.scenario_id, _S.c.title, _S.c.tags,
                                     _S.c.risk_level, _S.c.writer))
    return {r.id: (r.scenario_id, r.title, tuple(r.tags or ()), str(r.risk_level), r.writer)
            for r in rows}


def prompt_facts(*, session: Session, ids: Collection[int]) -> dict[int, Any]:
    """prompt version id → (id, label, sha256, content) rows."""
    if not ids:
        return {}
    rows = session.execute(sa.select(_P.c.id, _P.c.label, _P.c.sha256, _P.c.content)
                           .where(_P.c.id.in_(sorted(ids))))
    return {r.id: r for r in rows}


def _holding(training_day_id: int | None) -> sa.Select:
    holding = sa.select(_T.c.conversation_id).join(_CE, _CE.c.turn_id == _T.c.id)
    if training_day_id is not None:
        holding = holding.join(_C, _C.c.id == _T.c.conversation_id).where(
            _C.c.training_day_id == training_day_id)
    return holding


def example_conversations(*, session: Session, training_day_id: int | None = None
                          ) -> dict[int, tuple[str, bool | None]]:
    """conversation id → (kind, consent_to_use) of every conversation holding an example."""
    rows = session.execute(sa.select(_C.c.id, _C.c.kind, _C.c.consent_to_use)
                           .where(_C.c.id.in_(_holding(training_day_id))))
    return {cid: (str(kind), consent) for cid, kind, consent in rows}


def example_turns(*, session: Session, training_day_id: int | None = None) -> list[Any]:
    """The ok user and bot turns (withdrawn ones too) of every conversation holding a curated
    example, in order: (conversation_id, index, role, content, withdrawn,
    author_participant_id, consent_to_use)."""
    return list(session.execute(sa.select(
        _T.c.conversation_id, _T.c.index, _T.c.role, _T.c.content, _T.c.withdrawn,
        _T.c.author_participant_id, _T.c.consent_to_use)
        .where(_T.c.conversation_id.in_(_holding(training_day_id)),
               _T.c.status == TurnStatus.ok,
               _T.c.role.in_([TurnRole.user, TurnRole.assistant]))
        .order_by(_T.c.conversation_id, _T.c.index)))


def conversations_of_withdrawn(*, session: Session) -> set[int]:
    """Conversations a withdrawn participant played or wrote a turn in."""
    gone = select(Participant.id).where(col(Participant.withdrawn_at).is_not(None))
    played = select(Conversation.id).where(col(Conversation.participant_id).in_(gone))
    authored = select(Turn.conversation_id).where(col(Turn.author_participant_id).in_(gone))
    return ({c for c in session.exec(played) if c is not None}
            | {int(c) for c in session.exec(authored)})


def rating_rewrites(*, session: Session, turn_ids: Collection[int] | None = None,
                    exclude_raters: Collection[int] = ()) -> list[tuple[int, int, int, str]]:
    """(turn_id, rating_id, rater_id, rewrite) of ratings counted for reuse (`rules`, purpose
    "export") that hold an ideal reply, per reply the best overall first (None last on both
    databases), then the oldest rating."""
    q = (select(Rating.turn_id, Rating.id, Rating.rater_id, Rating.ideal_reply)
         .join(Turn, col(Turn.id) == col(Rating.turn_id))
         .where(*rules.rating_counts(Purpose.export), col(Turn.withdrawn) == FALSE,
                col(Rating.ideal_reply).is_not(None))
         .order_by(col(Rating.turn_id), sa.func.coalesce(col(Rating.overall), -1.0).desc(),
                   col(Rating.id)))
    if exclude_raters:
        q = q.where(col(Rating.rater_id).not_in(sorted(exclude_raters)))
    if turn_ids is not None:
        out: list[tuple[int, int, int, str]] = []
        for part in _chunks(turn_ids):
            out += [(int(t), int(r or 0), int(p), text or "") for t, r, p, text in
                    session.exec(q.where(col(Rating.turn_id).in_(part)))]
        return out
    return [(int(t), int(r or 0), int(p), text or "") for t, r, p, text in session.exec(q)]


# --- pairwise -----------------------------------------------------------------------------------


def pairwise_votes(*, session: Session) -> list[tuple[int, int, str]]:
    """(turn_a_id, turn_b_id, choice) of every A/B judgement by a person who did not withdraw."""
    rows = session.exec(select(PairwiseJudgement.turn_a_id, PairwiseJudgement.turn_b_id,
                               PairwiseJudgement.choice)
                        .join(Participant, col(Participant.id) == col(PairwiseJudgement.rater_id))
                        .where(col(Participant.withdrawn_at).is_(None),
                               Participant.role != Role.judge))
    return [(int(a), int(b), str(c)) for a, b, c in rows]


TurnFacts = tuple[Turn, Conversation, ScenarioSnapshot | None, PromptVersion | None]


def turn_facts(*, session: Session, turn_ids: Collection[int]) -> dict[int, TurnFacts]:
    """turn id → (turn, conversation, scenario snapshot, prompt version)."""
    out: dict[int, TurnFacts] = {}
    for part in _chunks(turn_ids):
        rows = session.exec(
            select(Turn, Conversation, ScenarioSnapshot, PromptVersion)
            .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
            .outerjoin(ScenarioSnapshot,
                       col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
            .outerjoin(PromptVersion, col(PromptVersion.id) == col(Turn.prompt_version_id))
            .where(col(Turn.id).in_(part)))
        for t, c, snap, pv in rows:
            out[t.id or 0] = (t, c, snap, pv)
    return out


def prompt_versions(*, session: Session, ids: Collection[int]) -> list[PromptVersion]:
    if not ids:
        return []
    return list(session.exec(select(PromptVersion).where(col(PromptVersion.id).in_(sorted(ids)))
                             .order_by(col(PromptVersion.id))))


def conversations_by_id(*, session: Session, ids: Collection[int]) -> dict[int, Conversation]:
    out: dict[int, Conversation] = {}
    for part in _chunks(ids):
        out.update({c.id or 0: c for c in session.exec(
            select(Conversation).where(col(Conversation.id).in_(part)))})
    return out


# --- the ratings table --------------------------------------------------------------------------


def rating_rows(*, session: Session, training_day_id: int | None = None,
                rubric_version_id: int | None = None, min_score: float | None = None,
                states: Collection[str] | None = None) -> list[Any]:
    """Every submitted, unwithdrawn rating by anyone who did not withdraw (people, simulated
    raters and judges: the table says which), in rating id order, as (rating, turn,
    conversation, snapshot, prompt version, rubric version, rater, curated example)."""
    q = (sa.select(Rating, Turn, Conversation, ScenarioSnapshot, PromptVersion, RubricVersion,
                   Participant, CuratedExample)
         .join(Turn, col(Turn.id) == col(Rating.turn_id))
         .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
         .join(RubricVersion, col(RubricVersion.id) == col(Rating.rubric_version_id))
         .join(Participant, col(Participant.id) == col(Rating.rater_id))
         .outerjoin(ScenarioSnapshot,
                    col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
         .outerjoin(PromptVersion, col(PromptVersion.id) == col(Turn.prompt_version_id))
         .outerjoin(CuratedExample, col(CuratedExample.turn_id) == col(Turn.id))
         .where(col(Rating.status) == "submitted", col(Rating.withdrawn) == FALSE,
                col(Turn.withdrawn) == FALSE, col(Participant.withdrawn_at).is_(None))
         .order_by(col(Rating.id)))
    if training_day_id is not None:
        q = q.where(col(Conversation.training_day_id) == training_day_id)
    if rubric_version_id is not None:
        q = q.where(col(Rating.rubric_version_id) == rubric_version_id)
    if min_score is not None:
        q = q.where(col(Rating.overall) >= min_score)
    if states is not None:
        q = q.where(col(CuratedExample.state).in_([str(CurationState(x)) for x in states]))
    return list(session.execute(q).all())


# --- export records -----------------------------------------------------------------------------


def recent_export_records(*, session: Session, limit: int = 10) -> list[ExportRecord]:
    """The newest exports first."""
    return list(session.exec(select(ExportRecord).order_by(col(ExportRecord.id).desc())
                             .limit(limit)))
