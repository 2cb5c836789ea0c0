"""Keyword-only queries for agreement, adjudication, curation and withdrawal. Same rules as
`repo`: flush, never commit.

"Counted" ratings are the ones every agreement figure and curated score is built on: the
rule of purpose "agreement" in `storage/rules.py` (people and their simulated stand-ins, never
an automatic judge; nothing withdrawn).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from workbench.domain.enums import RatingStatus, TurnRole, TurnStatus
from workbench.domain.rules import Purpose
from workbench.storage import rules
from workbench.storage.tables import (
    Adjudication,
    Conversation,
    CuratedExample,
    Participant,
    PromptVersion,
    Rating,
    RatingScore,
    RubricVersion,
    ScenarioSnapshot,
    Turn,
)

FALSE = sa.false()


def _counted() -> list[Any]:
    return [*rules.rating_counts(Purpose.agreement), col(Turn.withdrawn) == FALSE]


def _scope(q: Any, training_day_id: int | None, rubric_version_ids: Collection[int] | None) -> Any:
    """Restrict a query that already joins Rating and Turn to a day and rubric versions."""
    if training_day_id is not None:
        q = q.join(Conversation, col(Conversation.id) == col(Turn.conversation_id)).where(
            Conversation.training_day_id == training_day_id)
    if rubric_version_ids is not None:
        q = q.where(col(Rating.rubric_version_id).in_(list(rubric_version_ids)))
    return q


# --- agreement ------------------------------------------------------------------------------


def counted_scores(
    *, session: Session, training_day_id: int | None = None,
    rubric_version_ids: Collection[int] | None = None,
) -> list[tuple[int, int, str | None, int, str, int]]:
    """(turn_id, rater_id, rater group, rubric_version_id, criterion, value) of counted ratings."""
    q = (select(Rating.turn_id, Rating.rater_id, Participant.group,  # type: ignore[call-overload]
                Rating.rubric_version_id, RatingScore.criterion, RatingScore.value)
         .join(RatingScore, col(RatingScore.rating_id) == col(Rating.id))
         .join(Participant, col(Participant.id) == col(Rating.rater_id))
         .join(Turn, col(Turn.id) == col(Rating.turn_id))
         .where(*_counted()))
    q = _scope(q, training_day_id, rubric_version_ids)
    return [tuple(r) for r in session.exec(q)]  # type: ignore[misc]


def withdrawn_rating_count(
    *, session: Session, training_day_id: int | None = None,
    rubric_version_ids: Collection[int] | None = None,
) -> int:
    """Submitted non-judge ratings left out because they or their reply were withdrawn."""
    q = (select(sa.func.count(col(Rating.id))).join(Turn, col(Turn.id) == col(Rating.turn_id))
         .where(Rating.status == RatingStatus.submitted,
                col(Rating.source).in_(rules.sources(Purpose.agreement)),
                sa.or_(col(Rating.withdrawn) != FALSE, col(Turn.withdrawn) != FALSE)))
    return int(session.exec(_scope(q, training_day_id, rubric_version_ids)).one())


def rubric_versions(*, session: Session, ids: Collection[int] | None = None
                    ) -> list[RubricVersion]:
    q = select(RubricVersion).order_by(col(RubricVersion.id))
    if ids is not None:
        q = q.where(col(RubricVersion.id).in_(list(ids)))
    return list(session.exec(q))


def participant_codes(*, session: Session, ids: Collection[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.exec(select(Participant.id, Participant.code)
                        .where(col(Participant.id).in_(list(ids))))
    return {i: c for i, c in rows if i is not None}


def reply_facts(*, session: Session, turn_ids: Collection[int]
                ) -> dict[int, tuple[str, str | None, str | None]]:
    """turn_id → (reply text, scenario id, scenario title)."""
    if not turn_ids:
        return {}
    rows = session.exec(
        select(Turn.id, Turn.content, ScenarioSnapshot.scenario_id, ScenarioSnapshot.title)
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .outerjoin(ScenarioSnapshot,
                   col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
        .where(col(Turn.id).in_(list(turn_ids))))
    return {i: (text, sid, title) for i, text, sid, title in rows if i is not None}


def reply_numbers(*, session: Session, turn_ids: Collection[int]) -> dict[int, int]:
    """turn_id → which bot reply of its conversation it is (1 for the first), so two replies
    of one conversation can be told apart."""
    if not turn_ids:
        return {}
    earlier = aliased(Turn)
    number = (select(sa.func.count())
              .where(col(earlier.conversation_id) == col(Turn.conversation_id),
                     col(earlier.role) == TurnRole.assistant,
                     col(earlier.index) <= col(Turn.index))
              .correlate(Turn).scalar_subquery())
    rows = session.exec(select(Turn.id, number).where(col(Turn.id).in_(list(turn_ids))))
    return {i: int(n) for i, n in rows if i is not None}


# --- ratings and adjudications of replies ------------------------------------------------------


def counted_ratings(
    *, session: Session, training_day_id: int | None = None,
    rubric_version_ids: Collection[int] | None = None, turn_ids: Collection[int] | None = None,
) -> list[Rating]:
    q = select(Rating).join(Turn, col(Turn.id) == col(Rating.turn_id)).where(*_counted())
    q = _scope(q, training_day_id, rubric_version_ids)
    if turn_ids is not None:
        q = q.where(col(Rating.turn_id).in_(list(turn_ids)))
    return list(session.exec(q.order_by(col(Rating.turn_id), col(Rating.id))))


def latest_adjudications(*, session: Session, turn_ids: Collection[int] | None = None
                         ) -> dict[int, Adjudication]:
    """turn_id → its most recent adjudication (a later decision supersedes an earlier one)."""
    newest = select(sa.func.max(col(Adjudication.id))).group_by(col(Adjudication.turn_id))
    if turn_ids is not None:
        newest = newest.where(col(Adjudication.turn_id).in_(list(turn_ids)))
    rows = session.exec(select(Adjudication).where(col(Adjudication.id).in_(newest)))
    return {a.turn_id: a for a in rows}


def conversation_turns(*, session: Session, conversation_ids: Collection[int]
                       ) -> dict[int, list[Turn]]:
    """Per conversation, its ok user and bot turns in order."""
    out: dict[int, list[Turn]] = {c: [] for c in conversation_ids}
    if not conversation_ids:
        return out
    rows = session.exec(select(Turn).where(
        col(Turn.conversation_id).in_(list(conversation_ids)), Turn.status == TurnStatus.ok,
        col(Turn.role).in_([TurnRole.user, TurnRole.assistant]),
    ).order_by(col(Turn.conversation_id), col(Turn.index)))
    for t in rows:
        out[t.conversation_id].append(t)
    return out


# --- curated examples ---------------------------------------------------------------------------

ExampleRow = tuple[CuratedExample, Turn, Conversation, ScenarioSnapshot | None,
                   PromptVersion | None]


def curated_rows(
    *, session: Session, training_day_id: int | None = None, include_withdrawn: bool = False,
    states: Collection[str] | None = None, rubric_version_id: int | None = None,
    example_ids: Collection[int] | None = None,
) -> list[ExampleRow]:
    """Curated examples with their reply, conversation, scenario snapshot and prompt version."""
    q = (select(CuratedExample, Turn, Conversation,  # type: ignore[call-overload]
                ScenarioSnapshot, PromptVersion)
         .join(Turn, col(Turn.id) == col(CuratedExample.turn_id))
         .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
         .outerjoin(ScenarioSnapshot,
                    col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
         .outerjoin(PromptVersion, col(PromptVersion.id) == col(Turn.prompt_version_id))
         .order_by(col(CuratedExample.id)))
    if not include_withdrawn:
        q = q.where(col(CuratedExample.withdrawn) == FALSE, col(Turn.withdrawn) == FALSE)
    if training_day_id is not None:
        q = q.where(Conversation.training_day_id == training_day_id)
    if states is not None:
        q = q.where(col(CuratedExample.state).in_(list(states)))
    if rubric_version_id is not None:
        q = q.where(CuratedExample.rubric_version_id == rubric_version_id)
    if example_ids is not None:
        q = q.where(col(CuratedExample.id).in_(list(example_ids)))
    return [tuple(r) for r in session.exec(q)]  # type: ignore[misc]


def example_rating_stats(*, session: Session, training_day_id: int | None = None,
                         example_ids: Collection[int] | None = None,
                         ) -> dict[int, tuple[int, bool, dict[str, float]]]:
    """example id → (counted ratings, any of them unsafe, criterion → mean value), from the
    ratings under the example's rubric version; aggregated in SQL, not in Python."""
    on_example = sa.and_(col(Rating.turn_id) == col(CuratedExample.turn_id),
                         col(Rating.rubric_version_id) == col(CuratedExample.rubric_version_id))

    def scoped(q: Any) -> Any:
        q = q.join(Rating, on_example).join(Turn, col(Turn.id) == col(Rating.turn_id))
        q = q.where(*_counted())
        if training_day_id is not None:
            q = q.join(Conversation, col(Conversation.id) == col(Turn.conversation_id)).where(
                Conversation.training_day_id == training_day_id)
        if example_ids is not None:
            q = q.where(col(CuratedExample.id).in_(list(example_ids)))
        return q

    out: dict[int, tuple[int, bool, dict[str, float]]] = {}
    heads = scoped(select(CuratedExample.id, sa.func.count(col(Rating.id)),
                          sa.func.max(sa.cast(col(Rating.unsafe), sa.Integer))))
    for ex_id, n, unsafe in session.exec(heads.group_by(col(CuratedExample.id))):
        out[int(ex_id)] = (int(n), bool(unsafe), {})
    means = scoped(select(CuratedExample.id, RatingScore.criterion,
                          sa.func.avg(RatingScore.value)))
    means = means.join(RatingScore, col(RatingScore.rating_id) == col(Rating.id))
    for ex_id, criterion, mean in session.exec(
            means.group_by(col(CuratedExample.id), col(RatingScore.criterion))):
        out[int(ex_id)][2][criterion] = float(mean)
    return out


def withdrawn_participant_ids(*, session: Session) -> set[int]:
    rows = session.exec(select(Participant.id)
                        .where(col(Participant.withdrawn_at).is_not(None)))
    return {int(i) for i in rows if i is not None}


def curated_by_turn(*, session: Session, turn_ids: Collection[int]) -> dict[int, CuratedExample]:
    if not turn_ids:
        return {}
    rows = session.exec(select(CuratedExample)
                        .where(col(CuratedExample.turn_id).in_(list(turn_ids))))
    return {c.turn_id: c for c in rows}


def compare_and_set(*, session: Session, example_id: int, lock_version: int,
                    values: Mapping[str, Any]) -> bool:
    """Update an example only if it still has `lock_version` (and is not withdrawn); bumps it.

    One UPDATE … WHERE lock_version = :read, so two writers can never both win, on either
    database. False means someone else changed it first (or it was withdrawn).
    """
    result = session.exec(  # type: ignore[call-overload]
        sa.update(CuratedExample)
        .where(col(CuratedExample.id) == example_id,
               col(CuratedExample.lock_version) == lock_version,
               col(CuratedExample.withdrawn) == FALSE)
        .values(**values, lock_version=col(CuratedExample.lock_version) + 1)
    )
    session.flush()
    return bool(result.rowcount == 1)


# --- withdrawal -------------------------------------------------------------------------------


def withdraw_participant_rows(*, session: Session, participant_id: int) -> dict[str, int]:
    """Mark everything built on one participant's text or ratings; returns what changed.

    Turns: every turn of the conversations they played plus any turn they wrote (bot replies in
    their role-play echo their words). Their conversations and authored turns lose consent.
    """
    pid = participant_id
    own_conversations = select(Conversation.id).where(Conversation.participant_id == pid)
    their_turn = sa.or_(col(Turn.conversation_id).in_(own_conversations),
                        col(Turn.author_participant_id) == pid)
    their_ratings = select(Rating.id).where(Rating.rater_id == pid)
    changed: dict[str, int] = {}

    def run(name: str, stmt: Any) -> None:
        changed[name] = int(session.exec(stmt).rowcount or 0)  # type: ignore[call-overload]

    run("conversations", sa.update(Conversation).where(col(Conversation.participant_id) == pid)
        .where(sa.or_(col(Conversation.consent_to_use).is_(None),
                      col(Conversation.consent_to_use) != FALSE))
        .values(consent_to_use=False))
    run("turns", sa.update(Turn).where(their_turn, col(Turn.withdrawn) == FALSE)
        .values(withdrawn=True))
    session.exec(sa.update(Turn).where(col(Turn.author_participant_id) == pid)  # type: ignore[call-overload]
                 .values(consent_to_use=False))
    run("ratings", sa.update(Rating).where(col(Rating.rater_id) == pid,
                                           col(Rating.withdrawn) == FALSE)
        .values(withdrawn=True))
    run("curated_examples", sa.update(CuratedExample)
        .where(col(CuratedExample.turn_id).in_(select(Turn.id).where(their_turn)),
               col(CuratedExample.withdrawn) == FALSE)
        .values(withdrawn=True, lock_version=col(CuratedExample.lock_version) + 1))
    run("curated_ideal_replies", sa.update(CuratedExample)
        .where(col(CuratedExample.ideal_reply_author_id) == pid)
        .values(ideal_reply=None, ideal_reply_author_id=None, state="needs_review",
                lock_version=col(CuratedExample.lock_version) + 1))
    run("adjudication_ideal_replies", sa.update(Adjudication)
        .where(col(Adjudication.final_ideal_reply).is_not(None),
               sa.or_(col(Adjudication.chosen_from_rating_id).in_(their_ratings),
                      sa.and_(col(Adjudication.chosen_from_rating_id).is_(None),
                              col(Adjudication.adjudicator_id) == pid)))
        .values(final_ideal_reply=None))
    session.flush()
    return changed
