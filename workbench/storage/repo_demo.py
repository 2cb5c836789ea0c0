"""Keyword-only queries of the demo loader and of "is this a fresh database?". Same rules as
`repo`: flush, never commit."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import TurnRole, TurnStatus
from workbench.storage.tables import Conversation, Run, ScenarioSnapshot, TrainingDay, Turn


def is_empty(*, session: Session) -> bool:
    """No training day and no conversation yet."""
    return (session.exec(select(TrainingDay.id).limit(1)).first() is None
            and session.exec(select(Conversation.id).limit(1)).first() is None)


def holds_demo_data(*, session: Session, days_only: bool = False) -> bool:
    if session.exec(select(TrainingDay.id).where(col(TrainingDay.is_demo)).limit(1)).first():
        return True
    return not days_only and session.exec(
        select(Conversation.id).where(col(Conversation.is_demo)).limit(1)).first() is not None


def attach_runs_to_day(*, session: Session, run_ids: list[str], training_day_id: int) -> int:
    """Put the runs' conversations on a training day (the demo's replies are the day's)."""
    result = session.execute(sa.update(Conversation)
                             .where(col(Conversation.run_id).in_(run_ids))
                             .values(training_day_id=training_day_id))
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def run_replies(*, session: Session, run_ids: list[str]) -> list[tuple[int, int, str]]:
    """(turn id, prompt version id, run id) of the runs' ok bot replies, in turn order."""
    rows = session.exec(
        select(Turn.id, Run.prompt_version_id, Run.id)
        .join(Conversation, col(Turn.conversation_id) == col(Conversation.id))
        .join(Run, col(Conversation.run_id) == col(Run.id))
        .where(col(Run.id).in_(run_ids), Turn.role == TurnRole.assistant,
               Turn.status == TurnStatus.ok)
        .order_by(col(Turn.id))).all()
    return [(int(t or 0), int(p), str(r)) for t, p, r in rows]


def reply_scenarios(*, session: Session, turn_ids: list[int]) -> dict[int, str]:
    """turn id → the scenario id its conversation played (replies without a scenario left out)."""
    if not turn_ids:
        return {}
    rows = session.exec(
        select(Turn.id, ScenarioSnapshot.scenario_id)
        .join(Conversation, col(Turn.conversation_id) == col(Conversation.id))
        .join(ScenarioSnapshot, col(Conversation.scenario_snapshot_id) == col(ScenarioSnapshot.id))
        .where(col(Turn.id).in_(turn_ids))).all()
    return {int(t or 0): str(sid) for t, sid in rows}
