"""Keyword-only queries of the training-day app: sign-in attempts, join codes, progress, the
rater's queue and pairwise candidates. Same rules as `repo`: flush, never commit.

Progress and the queue count ratings by the rule of purpose "progress" (`storage/rules.py`):
people only, so a simulated rating never takes a person's place in the room.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from workbench.domain.enums import (
    ConversationKind,
    RatingStatus,
    TurnRole,
    TurnStatus,
)
from workbench.domain.rules import Purpose
from workbench.storage import rules
from workbench.storage.tables import (
    Conversation,
    JoinCode,
    LoginAttempt,
    PairwiseJudgement,
    Participant,
    Rating,
    ScenarioSnapshot,
    TrainingDay,
    Turn,
    utcnow,
)

# A draft younger than this counts as "someone is working on it", so the queue hands the reply
# to other raters only when it still needs more people; an abandoned draft stops counting.
DRAFT_CLAIM = timedelta(minutes=30)


# --- sign-in attempts -------------------------------------------------------------------------


def record_login_attempt(*, session: Session, key: str, ok: bool, at: datetime | None = None
                         ) -> LoginAttempt:
    attempt = LoginAttempt(key=key, ok=ok, at=at or utcnow())
    session.add(attempt)
    session.flush()
    return attempt


# --- join codes ---------------------------------------------------------------------------------


def create_join_code(*, session: Session, code_hash: str, training_day_id: int, valid_on
                     ) -> JoinCode:
    jc = JoinCode(code_hash=code_hash, training_day_id=training_day_id, valid_on=valid_on)
    session.add(jc)
    session.flush()
    return jc


def get_join_code(*, session: Session, code_hash: str, for_update: bool = False
                  ) -> JoinCode | None:
    """The code with this hash; `for_update` locks it, so two tablets redeeming the same code
    at once make one participant, not two."""
    q = select(JoinCode).where(JoinCode.code_hash == code_hash)
    return session.exec(q.with_for_update() if for_update else q).first()


def revoke_day_codes(*, session: Session, training_day_id: int, at: datetime) -> int:
    """Revoke every code of the day not revoked yet; returns how many."""
    result = session.execute(sa.update(JoinCode)
                             .where(col(JoinCode.training_day_id) == training_day_id,
                                    col(JoinCode.revoked_at).is_(None))
                             .values(revoked_at=at))
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def list_join_codes(*, session: Session, training_day_id: int) -> list[tuple[JoinCode, str | None]]:
    """The day's join codes with the pseudonymous code of whoever used each (if any)."""
    rows = session.exec(
        select(JoinCode, Participant.code)
        .join(Participant, col(Participant.id) == col(JoinCode.participant_id), isouter=True)
        .where(JoinCode.training_day_id == training_day_id)
        .order_by(col(JoinCode.id))
    )
    return [(jc, code) for jc, code in rows]


# --- training days ------------------------------------------------------------------------------


def list_training_days(*, session: Session, status: str | None = None,
                       include_archived: bool = False) -> list[TrainingDay]:
    """Newest first; archived days only when asked for (every day picker leaves them out)."""
    q = select(TrainingDay).order_by(col(TrainingDay.day).desc(), col(TrainingDay.id).desc())
    if status is not None:
        q = q.where(TrainingDay.status == status)
    if not include_archived:
        q = q.where(col(TrainingDay.archived_at).is_(None))
    return list(session.exec(q))


def day_usage(*, session: Session, training_day_ids: Collection[int]
              ) -> dict[int, tuple[int, int, int]]:
    """Per day: (conversations, join codes, panel members) — what a day holds that setup
    changes and deletion must respect. Ratings and A/B judgements hang off the conversations'
    turns, so a day without conversations has none. One grouped query per table."""
    ids = sorted(set(training_day_ids))
    out = {i: [0, 0, 0] for i in ids}
    if not ids:
        return {}
    for slot, fk in enumerate((col(Conversation.training_day_id), col(JoinCode.training_day_id),
                               col(Participant.training_day_id))):
        rows = session.exec(select(fk, sa.func.count()).where(fk.in_(ids)).group_by(fk))
        for day_id, n in rows:
            out[int(day_id or 0)][slot] = int(n)
    return {i: (c[0], c[1], c[2]) for i, c in out.items()}


def lock_training_day(*, session: Session, training_day_id: int) -> TrainingDay | None:
    """The day's row, locked until the transaction ends (PostgreSQL: FOR UPDATE).

    A conversation or join code that refers to the day takes a key-share lock on this row for
    its foreign key, which FOR UPDATE conflicts with: so "the day has no conversation yet",
    checked after this, stays true until the caller commits. SQLite needs no lock: the
    engine's BEGIN IMMEDIATE already lets one writer in at a time."""
    return session.exec(select(TrainingDay).where(TrainingDay.id == training_day_id)
                        .with_for_update()).first()


# Any constant: the key of the PostgreSQL advisory lock that serialises day creation/renames.
_DAY_NAMES_LOCK = 0x7D4A_0001


def lock_day_names(*, session: Session) -> None:
    """Serialise "is there a day with this name and date already?" with the write that
    follows, until the transaction ends. PostgreSQL: a transaction-level advisory lock (two
    facilitators creating the same day at once); SQLite: BEGIN IMMEDIATE already does it."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_DAY_NAMES_LOCK)))


def days_on(*, session: Session, day: date) -> list[TrainingDay]:
    """Every day (archived too) on this date, oldest first: the candidates for "same name"."""
    return list(session.exec(select(TrainingDay).where(TrainingDay.day == day)
                             .order_by(col(TrainingDay.id))))


def delete_training_day(*, session: Session, training_day: TrainingDay) -> None:
    """Delete the day's row. The foreign keys of conversation, join_code and participant
    refuse it (IntegrityError) while anything refers to the day."""
    session.delete(training_day)
    session.flush()


def _replies_of_day(training_day_id: int) -> sa.Select:
    return (
        select(Turn.id)
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .where(
            Conversation.training_day_id == training_day_id,
            *rules.conversation_counts(Purpose.progress),
            Turn.role == TurnRole.assistant, Turn.status == TurnStatus.ok,
            Turn.withdrawn == False,  # noqa: E712
        )
    )


def day_counts(*, session: Session, training_day_id: int, rubric_version_id: int | None,
               overlap: int) -> dict[str, int]:
    """Counts for the facilitator's progress panel, each one aggregate query."""
    started = session.exec(
        select(sa.func.count(sa.distinct(col(Turn.conversation_id))))
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .where(Conversation.training_day_id == training_day_id)
    ).one()
    active = session.exec(
        select(sa.func.count()).select_from(Conversation).where(
            Conversation.training_day_id == training_day_id,
            col(Conversation.status).in_(["active", "paused"]),
        )
    ).one()
    replies = _replies_of_day(training_day_id).subquery()
    total = session.exec(select(sa.func.count()).select_from(replies)).one()
    scored = 0
    submitted = 0
    if rubric_version_id is not None:
        per_turn = (
            select(Rating.turn_id, sa.func.count().label("n"))
            .where(
                col(Rating.turn_id).in_(select(replies.c.id)),
                Rating.rubric_version_id == rubric_version_id,
                *rules.rating_counts(Purpose.progress),
            )
            .group_by(col(Rating.turn_id))
            .subquery()
        )
        scored = session.exec(
            select(sa.func.count()).select_from(per_turn).where(per_turn.c.n >= overlap)
        ).one()
        submitted = session.exec(select(sa.func.coalesce(sa.func.sum(per_turn.c.n), 0))).one()
    panel = session.exec(
        select(sa.func.count()).select_from(Participant)
        .where(Participant.training_day_id == training_day_id)
    ).one()
    return {"conversations_started": int(started), "conversations_open": int(active),
            "replies": int(total), "replies_scored": int(scored),
            "replies_unscored": int(total) - int(scored), "ratings_submitted": int(submitted),
            "panel_members": int(panel)}


# --- the rater's queue ----------------------------------------------------------------------------


def oldest_draft_turn_id(*, session: Session, rater_id: int, training_day_id: int,
                         rubric_version_id: int) -> int | None:
    """The reply this rater left as a draft (oldest first): resumed before anything new."""
    return session.exec(
        select(Rating.turn_id)
        .join(Turn, col(Turn.id) == col(Rating.turn_id))
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .where(
            Rating.rater_id == rater_id, Rating.rubric_version_id == rubric_version_id,
            Rating.status == RatingStatus.draft, Conversation.training_day_id == training_day_id,
        )
        .order_by(col(Rating.turn_id))
        .limit(1)
    ).first()


def _open_replies(rater_id: int, training_day_id: int, rubric_version_id: int, overlap: int,
                  after_turn_id: int, now: datetime | None) -> SelectOfScalar[int]:
    """The day's replies this rater may still take up, oldest first (see next_queue_turn_id)."""
    claim_since = (now or utcnow()) - DRAFT_CLAIM
    day = (
        select(col(Turn.id).label("id"))
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .where(
            Conversation.training_day_id == training_day_id,
            sa.or_(col(Conversation.participant_id).is_(None),
                   col(Conversation.participant_id) != rater_id),
            *rules.conversation_counts(Purpose.progress),
            Turn.role == TurnRole.assistant, Turn.status == TurnStatus.ok,
            Turn.withdrawn == False,  # noqa: E712
            col(Turn.id) > after_turn_id,
        )
        .cte("day_replies")
        .prefix_with("MATERIALIZED")
    )
    mine = sa.exists().where(
        col(Rating.turn_id) == day.c.id, col(Rating.rater_id) == rater_id,
        col(Rating.rubric_version_id) == rubric_version_id,
    )
    taken = (
        select(sa.func.count())
        .where(
            Rating.turn_id == day.c.id, Rating.rubric_version_id == rubric_version_id,
            # The progress rule, but a fresh draft also holds a place (see DRAFT_CLAIM).
            col(Rating.source).in_(rules.sources(Purpose.progress)),
            Rating.withdrawn == False,  # noqa: E712
            sa.or_(col(Rating.status) == RatingStatus.submitted,
                   sa.and_(col(Rating.status) == RatingStatus.draft,
                           col(Rating.updated_at) >= claim_since)),
        )
        .scalar_subquery()
    )
    return select(day.c.id).where(~mine, taken < overlap)


def next_queue_turn_id(*, session: Session, rater_id: int, training_day_id: int,
                       rubric_version_id: int, overlap: int, after_turn_id: int = 0,
                       now: datetime | None = None) -> int | None:
    """The oldest reply of the day this rater may score next.

    Not their own conversation, not rated by them yet, and fewer than `overlap` other raters
    have submitted it or are working on it (a fresh draft). The day's replies are gathered
    first (conversation by training_day_id, turn by conversation_id) in a MATERIALIZED CTE:
    without that fence PostgreSQL walks the turn primary key from the first reply ever made
    to satisfy ORDER BY ... LIMIT 1, which grows with the whole table. Per candidate the checks
    are index lookups on rating (rater, turn, rubric version) and (turn, status), so the cost
    grows with the size of the day, not with the number of ratings stored.
    """
    q = _open_replies(rater_id, training_day_id, rubric_version_id, overlap, after_turn_id, now)
    return session.exec(q.order_by(q.selected_columns[0]).limit(1)).first()


def queue_counts(*, session: Session, rater_id: int, training_day_id: int,
                 rubric_version_id: int, overlap: int, now: datetime | None = None
                 ) -> tuple[int, int]:
    """(submitted, still open) for this rater on the day: their submitted ratings of the day's
    replies, and their drafts plus the replies next_queue_turn_id could still hand them."""
    of_day = (select(col(Turn.id))
              .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
              .where(Conversation.training_day_id == training_day_id,
                     Turn.withdrawn == False))  # noqa: E712
    by_status = dict(session.exec(
        select(Rating.status, sa.func.count())
        .where(Rating.rater_id == rater_id, Rating.rubric_version_id == rubric_version_id,
               Rating.withdrawn == False,  # noqa: E712
               col(Rating.turn_id).in_(of_day))
        .group_by(Rating.status)).all())
    waiting = _open_replies(rater_id, training_day_id, rubric_version_id, overlap, 0, now)
    n_waiting = session.exec(select(sa.func.count()).select_from(waiting.subquery())).one()
    return (int(by_status.get(RatingStatus.submitted, 0)),
            int(by_status.get(RatingStatus.draft, 0)) + int(n_waiting))


def turns_up_to(*, session: Session, turn: Turn) -> list[Turn]:
    """The ok turns of the reply's conversation up to and including the reply."""
    return list(session.exec(
        select(Turn).where(
            Turn.conversation_id == turn.conversation_id, Turn.index <= turn.index,
            Turn.status == TurnStatus.ok,
        ).order_by(col(Turn.index))
    ))


# --- role-play ------------------------------------------------------------------------------------


def _conversations_of(session: Session, participant_id: int, kind: ConversationKind
                      ) -> list[tuple[Conversation, str]]:
    rows = session.exec(
        select(Conversation, ScenarioSnapshot.scenario_id)
        .join(ScenarioSnapshot,
              col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
        .where(Conversation.participant_id == participant_id, Conversation.kind == kind)
        .order_by(col(Conversation.id))
    )
    return [(c, sid) for c, sid in rows]


def roleplays_of(*, session: Session, participant_id: int) -> list[tuple[Conversation, str]]:
    """This panel member's role-play conversations with their scenario id, oldest first."""
    return _conversations_of(session, participant_id, ConversationKind.roleplay)


def scripted_of(*, session: Session, participant_id: int) -> list[tuple[Conversation, str]]:
    """Scripted runs this person played by hand, with their scenario id, oldest first."""
    return _conversations_of(session, participant_id, ConversationKind.scripted)


def count_user_turns(*, session: Session, conversation_id: int) -> int:
    return int(session.exec(
        select(sa.func.count()).select_from(Turn).where(
            Turn.conversation_id == conversation_id, Turn.role == TurnRole.user)
    ).one())


def conversations_with_user_turns(*, session: Session, conversation_ids: list[int]) -> set[int]:
    """Those of the conversations in which the user wrote at least one message (one query)."""
    if not conversation_ids:
        return set()
    rows = session.exec(select(Turn.conversation_id).where(
        col(Turn.conversation_id).in_(conversation_ids), Turn.role == TurnRole.user).distinct())
    return {int(c) for c in rows}


def lock_participant(*, session: Session, participant_id: int) -> None:
    """Hold the participant's row until the transaction ends, so two requests deciding for
    the same person (two tabs) run one after the other. SQLite's BEGIN IMMEDIATE already
    serialises writers; PostgreSQL needs the row lock."""
    session.exec(select(Participant.id).where(Participant.id == participant_id)
                 .with_for_update()).first()


# --- pairwise -------------------------------------------------------------------------------------


def pair_candidate_turns(*, session: Session, training_day_id: int | None, limit: int = 2000
                         ) -> list[tuple[Turn, Conversation, str]]:
    """Recent ok bot replies in conversations on a scenario, with the scenario id, newest first."""
    q = (
        select(Turn, Conversation, ScenarioSnapshot.scenario_id)
        .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
        .join(ScenarioSnapshot,
              col(ScenarioSnapshot.id) == col(Conversation.scenario_snapshot_id))
        .where(Turn.role == TurnRole.assistant, Turn.status == TurnStatus.ok,
               Turn.withdrawn == False)  # noqa: E712
        .order_by(col(Turn.id).desc())
        .limit(limit)
    )
    if training_day_id is not None:
        q = q.where(Conversation.training_day_id == training_day_id)
    return [(t, c, sid) for t, c, sid in session.exec(q)]


def user_texts_before(*, session: Session, conversation_ids: list[int]
                      ) -> dict[int, list[tuple[int, str]]]:
    """Per conversation, its ok user turns as (index, text), in order."""
    out: dict[int, list[tuple[int, str]]] = {cid: [] for cid in conversation_ids}
    if not conversation_ids:
        return out
    rows = session.exec(
        select(Turn.conversation_id, Turn.index, Turn.content).where(
            col(Turn.conversation_id).in_(conversation_ids), Turn.role == TurnRole.user,
            Turn.status == TurnStatus.ok,
        ).order_by(col(Turn.conversation_id), col(Turn.index))
    )
    for cid, idx, text in rows:
        out[cid].append((idx, text))
    return out


def judged_pairs(*, session: Session, rater_id: int) -> set[tuple[int, int]]:
    rows = session.exec(
        select(PairwiseJudgement.turn_a_id, PairwiseJudgement.turn_b_id)
        .where(PairwiseJudgement.rater_id == rater_id)
    )
    return {(a, b) for a, b in rows}


def get_judgement(*, session: Session, rater_id: int, turn_a_id: int, turn_b_id: int
                  ) -> PairwiseJudgement | None:
    return session.exec(select(PairwiseJudgement).where(
        PairwiseJudgement.rater_id == rater_id, PairwiseJudgement.turn_a_id == turn_a_id,
        PairwiseJudgement.turn_b_id == turn_b_id)).first()
