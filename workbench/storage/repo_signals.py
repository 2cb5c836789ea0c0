"""Keyword-only queries of the panel's support signals ("Ik wil even iemand spreken"). Same
rules as `repo`: flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from workbench.storage.tables import Participant, SupportSignal, TrainingDay


def open_signal(*, session: Session, participant_id: int) -> SupportSignal | None:
    """The panel member's signal nobody has handled yet, if any (at most one: see the index)."""
    return session.exec(select(SupportSignal).where(
        SupportSignal.participant_id == participant_id,
        col(SupportSignal.handled_at).is_(None))).first()


def create_signal(*, session: Session, participant_id: int, training_day_id: int | None,
                  at: datetime) -> SupportSignal:
    signal = SupportSignal(participant_id=participant_id, training_day_id=training_day_id,
                           raised_at=at)
    session.add(signal)
    session.flush()
    return signal


def lock_signal(*, session: Session, signal_id: int) -> SupportSignal | None:
    """The signal's row, locked until the transaction ends (two staff pressing "handled" at
    once: the second sees the first one's name)."""
    return session.exec(select(SupportSignal).where(SupportSignal.id == signal_id)
                        .with_for_update().execution_options(populate_existing=True)).first()


def list_signals(*, session: Session, handled: bool, limit: int
                 ) -> list[tuple[SupportSignal, str, str | None]]:
    """Open signals oldest first (who has waited longest comes first), or handled ones newest
    first; each with the participant's code and the day's name (NULL for a member without a
    day). Closed and archived days included: a signal must reach someone whatever the day."""
    query = (select(SupportSignal, Participant.code, TrainingDay.name)
             .join(Participant, col(Participant.id) == SupportSignal.participant_id)
             .join(TrainingDay, col(TrainingDay.id) == SupportSignal.training_day_id,
                   isouter=True))
    if handled:
        query = query.where(col(SupportSignal.handled_at).is_not(None)).order_by(
            col(SupportSignal.handled_at).desc(), col(SupportSignal.id).desc())
    else:
        query = query.where(col(SupportSignal.handled_at).is_(None)).order_by(
            col(SupportSignal.raised_at), col(SupportSignal.id))
    return [(sig, code, name) for sig, code, name in session.exec(query.limit(limit))]
