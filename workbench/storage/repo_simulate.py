"""Keyword-only queries of simulated conversations (`workbench simulate`): why each one ended,
and the dashboard's separate section on them. Like `repo`, these flush but never commit."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import ConversationKind, SimulationStop
from workbench.domain.rules import Purpose
from workbench.storage import rules
from workbench.storage.tables import Conversation, Rating, Turn


def set_stop(*, session: Session, conversation_id: int, stop: SimulationStop) -> None:
    """Record why a simulated conversation ended, in its meta (`stop`)."""
    conv = session.get(Conversation, conversation_id)
    if conv is None:
        return
    conv.meta = {**(conv.meta or {}), "stop": str(stop)}  # a new dict: JSON changes are seen
    session.add(conv)
    session.flush()


@dataclass(frozen=True)
class SimulatedCounts:
    conversations: int
    by_status: dict[str, int]
    by_stop: dict[str, int]
    replies: int
    rated_replies: int
    mean_overall: float | None  # mean over rated replies of each reply's mean overall
    unsafe_replies: int


def _simulated() -> sa.ColumnElement[bool]:
    return col(Conversation.kind) == ConversationKind.simulated.value


def simulated_counts(*, session: Session, bot_target_id: int | None = None) -> SimulatedCounts:
    """Simulated conversations and what people made of their replies, counted with the
    figures' rating rule (people and their stand-ins, never the judge) but on nothing else."""
    where = [_simulated()]
    if bot_target_id is not None:
        where.append(col(Conversation.bot_target_id) == bot_target_id)
    by_status: dict[str, int] = {}
    by_stop: dict[str, int] = {}
    # Few rows (one per simulated conversation), and JSON paths differ per dialect: in Python.
    for status, meta in session.exec(select(Conversation.status, Conversation.meta)
                                     .where(*where)).all():
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        stop = str((meta or {}).get("stop") or "open")
        by_stop[stop] = by_stop.get(stop, 0) + 1
    replies_q: sa.Select[tuple[int]] = (sa.select(col(Turn.id).label("id"))
                 .join(Conversation, col(Conversation.id) == col(Turn.conversation_id))
                 .where(*where, *rules.reply_counts()))
    replies = session.exec(select(sa.func.count()).select_from(replies_q.subquery())).one()
    per_reply = (select(col(Rating.turn_id).label("turn_id"),
                        sa.func.avg(Rating.overall).label("mean"),
                        sa.func.max(sa.case((col(Rating.unsafe) == sa.true(), 1), else_=0))
                        .label("unsafe"))
                 .where(col(Rating.turn_id).in_(replies_q), *rules.rating_counts(Purpose.figures))
                 .group_by(col(Rating.turn_id)).subquery())
    rated, mean, unsafe = session.exec(
        select(sa.func.count(), sa.func.avg(per_reply.c.mean),
               sa.func.coalesce(sa.func.sum(per_reply.c.unsafe), 0))).one()
    return SimulatedCounts(
        conversations=sum(by_status.values()), by_status=by_status, by_stop=by_stop,
        replies=int(replies), rated_replies=int(rated),
        mean_overall=None if mean is None else float(mean), unsafe_replies=int(unsafe))
