"""A panel member's "Ik wil even iemand spreken": the signal goes to the facilitator's page,
who walks over and marks it handled.

The guarantee: at most one open signal per panel member. Pressing again, a second tab, or two
presses at once return the signal that is already open (its time unchanged), backed by a
partial unique index (migration 0012_panel). A signal names nobody: the facilitator sees the
participant code, the day and the time, nothing of the person or their conversations.

A revoked code or a closed day does not stop a signal: someone who was just sent out of the
room is the one most likely to need a person, so the ended-session page offers it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import Role
from workbench.services.errors import UserError
from workbench.storage import repo_signals, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, SupportSignal, utcnow

# The facilitator's list: every open signal, and the last few handled for "who went".
HANDLED_SHOWN = 5
MAX_OPEN_SHOWN = 200  # more than any room holds; a bound so a flood cannot stall the page


@dataclass(frozen=True)
class SignalView:
    id: int
    participant_code: str
    training_day_id: int | None
    day_name: str | None
    raised_at: datetime
    handled_at: datetime | None
    handled_by: str | None

    @property
    def is_open(self) -> bool:
        return self.handled_at is None


@dataclass(frozen=True)
class SignalBoard:
    open: list[SignalView]
    recently_handled: list[SignalView]


def _view(sig: SupportSignal, code: str, day_name: str | None) -> SignalView:
    return SignalView(id=sig.id or 0, participant_code=code,
                      training_day_id=sig.training_day_id, day_name=day_name,
                      raised_at=sig.raised_at, handled_at=sig.handled_at,
                      handled_by=sig.handled_by)


def _panel_member(s: Session, participant_id: int) -> Participant:
    p = s.get(Participant, participant_id)
    if p is None or p.role != Role.panel:
        raise UserError("signals.not_panel")
    return p


def raise_signal(*, engine: sa.Engine, participant_id: int) -> SignalView:
    """Record that this panel member wants to talk to someone, once: an open signal of theirs
    is returned as it is. Works on a closed day and with a revoked code (see the module)."""
    for attempt in (1, 2):
        try:
            with session_scope(engine) as s:
                repo_training.lock_participant(session=s, participant_id=participant_id)
                p = _panel_member(s, participant_id)
                sig = repo_signals.open_signal(session=s, participant_id=participant_id)
                if sig is None:
                    sig = repo_signals.create_signal(session=s, participant_id=participant_id,
                                                     training_day_id=p.training_day_id,
                                                     at=utcnow())
                return _view(sig, p.code, None)
        except sa.exc.IntegrityError:
            # Another press slipped past the lock (a database without row locks) and made the
            # open signal first: the next pass returns it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def my_open_signal(*, engine: sa.Engine, participant_id: int) -> SignalView | None:
    """The panel member's signal still waiting for someone, so their page keeps saying that
    someone is coming (after a refresh too)."""
    with session_scope(engine) as s:
        p = s.get(Participant, participant_id)
        sig = repo_signals.open_signal(session=s, participant_id=participant_id)
        return _view(sig, p.code, None) if sig is not None and p is not None else None


def signal_board(*, engine: sa.Engine) -> SignalBoard:
    """What the facilitator's page shows: open signals of every day (closed and archived ones
    too), the longest waiting first, and the last few handled."""
    with session_scope(engine) as s:
        return SignalBoard(
            open=[_view(*row) for row in repo_signals.list_signals(
                session=s, handled=False, limit=MAX_OPEN_SHOWN)],
            recently_handled=[_view(*row) for row in repo_signals.list_signals(
                session=s, handled=True, limit=HANDLED_SHOWN)])


def handle_signal(*, engine: sa.Engine, signal_id: int, handled_by_id: int) -> SignalView:
    """Mark the signal handled by this facilitator. A second press, or a colleague pressing at
    the same moment, keeps the first name and time."""
    with session_scope(engine) as s:
        staff = s.get(Participant, handled_by_id)
        if staff is None or staff.role != Role.facilitator or not staff.active:
            raise UserError("signals.not_staff")
        sig = repo_signals.lock_signal(session=s, signal_id=signal_id)
        if sig is None:
            raise UserError("signals.not_found")
        if sig.handled_at is None:
            sig.handled_at = utcnow()
            sig.handled_by = staff.code
            s.add(sig)
            s.flush()
        member = s.get(Participant, sig.participant_id)
        return _view(sig, member.code if member else "", None)
