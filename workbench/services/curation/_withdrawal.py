"""Consent withdrawal, and the facilitator's list of participants (with who is a lead expert).

`withdraw_participant(code)` takes a participant's role-play text and ratings out of everything
that is reused, for good:
- their conversations and the turns they wrote lose consent (consent_to_use = False);
- every turn of their role-play conversations (their words and the bot replies to them) and any
  other turn they wrote is marked withdrawn; so are their ratings;
- curated examples built on those turns are withdrawn; curated ideal replies and adjudicated
  ideal replies they wrote are cleared (the example goes back to needs_review);
- the audit event records counts and ids only, never the withdrawn text.

Kept, so aggregate counts stay honest: the participant row (with `withdrawn_at`), and the
conversation, turn and rating rows, marked. Counts of how many conversations were played or
ratings given on a day therefore still include them; agreement figures, curated sets and exports
leave them out and the agreement report says how many ratings it left out. The text itself stays
in the database, hidden from every reuse; erasing it is a separate decision (a data-subject
erasure request) and not done here. Running it again is harmless and catches anything new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from workbench.domain.enums import Role
from workbench.services.errors import UserError
from workbench.storage import repo, repo_curation
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, utcnow


class ParticipantError(UserError):
    """`key` is an i18n key for the UI."""


@dataclass(frozen=True)
class WithdrawalReport:
    code: str
    already_withdrawn: bool  # an earlier withdrawal exists; the counts are what changed now
    withdrawn_at: datetime
    conversations: int  # conversations whose consent was switched off
    turns: int
    ratings: int
    curated_examples: int
    curated_ideal_replies: int
    adjudication_ideal_replies: int


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    code: str
    role: str
    group: str | None
    is_lead: bool
    withdrawn_at: datetime | None
    is_demo: bool


def withdraw_participant(*, engine: sa.Engine, code: str, actor: str | None = None
                         ) -> WithdrawalReport:
    """Withdraw one participant's text and ratings from every reuse (see the module docstring)."""
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=code.strip())
        if p is None:
            raise ParticipantError("curation.errors.participant_not_found", code=code)
        already = p.withdrawn_at is not None
        if p.withdrawn_at is None:
            p.withdrawn_at = utcnow()
            s.add(p)
            s.flush()
        changed = repo_curation.withdraw_participant_rows(session=s, participant_id=p.id or 0)
        repo.audit(session=s, action="participant.withdraw", actor=actor, entity="participant",
                   entity_id=p.id, details={"again": already, **changed})
        return WithdrawalReport(code=p.code, already_withdrawn=already,
                                withdrawn_at=p.withdrawn_at, **changed)


def _row(p: Participant) -> ParticipantRow:
    return ParticipantRow(p.id or 0, p.code, str(p.role),
                          None if p.group is None else str(p.group), p.is_lead, p.withdrawn_at,
                          p.is_demo)


def list_participants(*, engine: sa.Engine, include_demo: bool = True) -> list[ParticipantRow]:
    """Everyone except automatic judges, in code order."""
    with session_scope(engine) as s:
        people = repo.list_participants(session=s)
    return sorted((_row(p) for p in people
                   if p.role != Role.judge and (include_demo or not p.is_demo)),
                  key=lambda r: r.code)


def set_lead(*, engine: sa.Engine, code: str, lead: bool = True, actor: str | None = None
             ) -> ParticipantRow:
    """Make an expert a lead expert (may adjudicate and curate), or take that away."""
    with session_scope(engine) as s:
        p = repo.get_participant(session=s, code=code.strip())
        if p is None:
            raise ParticipantError("curation.errors.participant_not_found", code=code)
        if lead and p.role != Role.expert:
            raise ParticipantError("curation.errors.participant_lead_needs_expert", code=code)
        p.is_lead = lead
        s.add(p)
        repo.audit(session=s, action="participant.lead", actor=actor, entity="participant",
                   entity_id=p.id, details={"is_lead": lead})
        return _row(p)
