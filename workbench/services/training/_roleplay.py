"""Live role-play for the lived-experience panel: which scenario comes next, consent, and the
pause / skip / stop / finish moves. The chat itself runs on `_conversations`.

Exposure counts scenarios in which the panel member actually wrote something; declining a
scenario at its content warning does not count. Nothing here asks for or stores a name.

Each use-case is one unit of work. Starting a scenario decides (is a conversation open, is this
the next scenario, is the cap reached) and creates it in one transaction that first locks the
panel member's row, so two tabs pressing "Begin" at once get the same conversation; a partial
unique index (one open role-play per panel member, migration 0006) backs that up.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import BotKind, ConversationKind, ConversationStatus, RiskLevel
from workbench.domain.library import Library
from workbench.services.errors import UserError
from workbench.services.training._conversations import append_user_turn, open_conversation
from workbench.services.training._days import DayView, _view
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget, Participant, PromptVersion, TrainingDay, Turn

OPEN = (ConversationStatus.active, ConversationStatus.paused)


@dataclass(frozen=True)
class ScenarioCard:
    scenario_id: str
    title: str
    risk_level: RiskLevel
    content_warnings: list[str]
    persona_name: str
    persona_age: int | None
    persona_description: str
    situation: str
    guidance: str


@dataclass(frozen=True)
class RoleplayState:
    day: DayView
    played: int  # scenarios with at least one message of this panel member
    cap: int
    current_conversation_id: int | None
    current_status: ConversationStatus | None
    current_card: ScenarioCard | None
    current_is_reference: bool
    next_card: ScenarioCard | None

    @property
    def cap_reached(self) -> bool:
        return self.played >= self.cap


def scenario_card(library: Library, scenario_id: str) -> ScenarioCard:
    sc = library.scenarios[scenario_id].scenario
    return ScenarioCard(
        scenario_id=sc.id, title=sc.title, risk_level=sc.risk_level,
        content_warnings=list(sc.content_warnings), persona_name=sc.persona.name,
        persona_age=sc.persona.age, persona_description=sc.persona.description,
        situation=sc.situation, guidance=sc.roleplay_guidance,
    )


def _participant_day(s: Session, participant_id: int) -> int:
    p = s.get(Participant, participant_id)
    if p is None or p.training_day_id is None:
        raise UserError("roleplay.no_day")
    return p.training_day_id


def _state(s: Session, library: Library, participant_id: int,
           training_day_id: int | None = None) -> RoleplayState:
    day_id = training_day_id or _participant_day(s, participant_id)
    d = s.get(TrainingDay, day_id)
    if d is None:
        raise repo.NotFound(f"training day {day_id}")
    day = _view(s, d)
    mine = [(c, sid) for c, sid in repo_training.roleplays_of(session=s,
                                                                 participant_id=participant_id)
            if c.training_day_id == day_id]
    written = repo_training.conversations_with_user_turns(
        session=s, conversation_ids=[c.id or 0 for c, _ in mine])
    current = next(((c, sid) for c, sid in reversed(mine) if c.status in OPEN), None)
    is_reference = False
    if current is not None:
        target = s.get(BotTarget, current[0].bot_target_id)
        is_reference = target is not None and target.kind == BotKind.reference
    seen = {sid for _, sid in mine}
    upcoming = [sid for sid in day.scenario_ids if sid not in seen and sid in library.scenarios]
    return RoleplayState(
        day=day, played=sum(1 for c, _ in mine if c.id in written), cap=day.exposure_cap,
        current_conversation_id=current[0].id if current else None,
        current_status=ConversationStatus(current[0].status) if current else None,
        current_card=scenario_card(library, current[1])
        if current and current[1] in library.scenarios else None,
        current_is_reference=is_reference,
        next_card=scenario_card(library, upcoming[0]) if upcoming else None,
    )


def roleplay_state(*, engine: sa.Engine, library: Library, participant_id: int,
                   training_day_id: int | None = None) -> RoleplayState:
    """Where this panel member is: the open conversation (to resume after a refresh), how many
    scenarios they played, and the next scenario of the day they have not seen."""
    with session_scope(engine) as s:
        return _state(s, library, participant_id, training_day_id)


def _target_for(s: Session, day: DayView, participant_id: int) -> tuple[int, int | None]:
    """Spread panel members over the day's prompt versions (A/B), round robin by participant."""
    if day.prompt_version_ids:
        pv = s.get(PromptVersion, day.prompt_version_ids[participant_id %
                                                         len(day.prompt_version_ids)])
        if pv is not None:
            return pv.bot_target_id, pv.id
    if not day.bot_target_ids:
        raise UserError("roleplay.no_bot")
    return day.bot_target_ids[participant_id % len(day.bot_target_ids)], None


def _open_for(s: Session, library: Library, where: RoleplayState, participant_id: int,
              scenario_id: str, consent: bool | None) -> int:
    target_id, pv_id = _target_for(s, where.day, participant_id)
    conv = open_conversation(
        session=s, kind=ConversationKind.roleplay, bot_target_id=target_id,
        prompt_version_id=pv_id, scenario_id=scenario_id, library=library,
        participant_id=participant_id, training_day_id=where.day.id, consent_to_use=consent)
    return conv.id or 0


def begin_roleplay(*, engine: sa.Engine, library: Library, participant_id: int,
                   scenario_id: str, consent: bool | None) -> int:
    """Start the scenario after the content warning; `consent` is the answer to "may my
    role-play text be used in training data" and must be given (yes or no). A conversation
    that is already open (another tab started it) is returned instead of a second one."""
    if consent is None:
        raise UserError("roleplay.consent_needed")
    for attempt in (1, 2):
        try:
            with session_scope(engine) as s:
                repo_training.lock_participant(session=s, participant_id=participant_id)
                where = _state(s, library, participant_id)
                if not where.day.is_open:
                    raise UserError("roleplay.day_closed")
                if where.current_conversation_id is not None:
                    return where.current_conversation_id
                if where.cap_reached:
                    raise UserError("roleplay.cap_reached", cap=where.cap)
                if where.next_card is None or where.next_card.scenario_id != scenario_id:
                    raise UserError("roleplay.not_next")
                return _open_for(s, library, where, participant_id, scenario_id, consent)
        except sa.exc.IntegrityError:
            # The unique index caught a second open role-play that slipped past the lock (a
            # database without row locks): the other one stands, and the next pass returns it.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def decline_scenario(*, engine: sa.Engine, library: Library, participant_id: int,
                     scenario_id: str) -> None:
    """Skip a scenario at its content warning: recorded as skipped, no reason asked."""
    with session_scope(engine) as s:
        repo_training.lock_participant(session=s, participant_id=participant_id)
        where = _state(s, library, participant_id)
        if where.next_card is None or where.next_card.scenario_id != scenario_id:
            return
        cid = _open_for(s, library, where, participant_id, scenario_id, None)
        repo.set_conversation_status(
            session=s, conversation=repo.get_conversation(session=s, conversation_id=cid),
            status=ConversationStatus.skipped)


def _own(s: Session, participant_id: int, conversation_id: int):  # type: ignore[no-untyped-def]
    conv = repo.get_conversation(session=s, conversation_id=conversation_id)
    if conv.participant_id != participant_id:
        raise UserError("roleplay.not_yours")
    return conv


def set_roleplay_status(*, engine: sa.Engine, participant_id: int, conversation_id: int,
                        status: ConversationStatus) -> None:
    """Pause, resume (active), skip, stop or finish the panel member's own conversation."""
    with session_scope(engine) as s:
        conv = _own(s, participant_id, conversation_id)
        repo.set_conversation_status(session=s, conversation=conv, status=status)


def send_message(*, engine: sa.Engine, participant_id: int, conversation_id: int,
                 text: str) -> int:
    """Store what the panel member wrote (the reply is streamed separately), in one
    transaction with the check that the conversation is theirs."""
    if not text.strip():
        raise UserError("roleplay.empty")
    with session_scope(engine) as s:
        conv = _own(s, participant_id, conversation_id)
        turn: Turn = append_user_turn(session=s, conversation=conv, text=text,
                                      author_participant_id=participant_id)
        return turn.id or 0
