"""Scripted runs by hand: an expert or facilitator plays a scenario's scripted user turns one by
one against a chosen bot target and prompt version, and scores each reply as it comes.

The rubric version is kept in the conversation's `meta`, so a refreshed page resumes the run
with the same rubric.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import BotKind, ConversationKind, ConversationStatus, TurnRole
from workbench.domain.library import Library
from workbench.services.errors import UserError
from workbench.services.training._conversations import append_user_turn, open_conversation
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of
from workbench.storage.tables import BotTarget, Conversation, PromptVersion, TrainingDay


@dataclass(frozen=True)
class ScriptedState:
    conversation_id: int
    scenario_id: str
    title: str
    rubric_version_id: int
    sent: int  # scripted turns sent so far
    total: int
    next_text: str | None
    status: ConversationStatus
    is_reference: bool

    @property
    def done(self) -> bool:
        return self.next_text is None


def start_scripted(*, engine: sa.Engine, library: Library, participant_id: int,
                   scenario_id: str, prompt_version_id: int,
                   training_day_id: int | None = None) -> int:
    """Open a scripted conversation; scored with the day's expert rubric, else the scenario's."""
    loaded = library.scenarios.get(scenario_id)
    if loaded is None:
        raise UserError("scripted.no_such_scenario", scenario=scenario_id)
    with session_scope(engine) as s:
        pv = s.get(PromptVersion, prompt_version_id)
        if pv is None:
            raise UserError("scripted.no_such_prompt")
        day = s.get(TrainingDay, training_day_id) if training_day_id else None
        if day is not None and day.expert_rubric_version_id is not None:
            rv_id = day.expert_rubric_version_id
        else:
            rubric = library.rubric(loaded.scenario.rubric)
            if rubric is None:
                raise UserError("scripted.no_rubric", rubric=loaded.scenario.rubric)
            rv_id = repo.record_rubric_version(session=s, loaded=rubric).id or 0
        conv = open_conversation(
            session=s, kind=ConversationKind.scripted, bot_target_id=pv.bot_target_id,
            prompt_version_id=prompt_version_id, scenario_id=scenario_id, library=library,
            participant_id=participant_id, training_day_id=training_day_id,
            meta={"rubric_version_id": rv_id})
        return conv.id or 0


def _mine(s: Session, conversation_id: int, participant_id: int) -> Conversation:
    conv = repo.get_conversation(session=s, conversation_id=conversation_id)
    if conv.participant_id != participant_id or conv.kind != ConversationKind.scripted:
        raise UserError("scripted.not_yours")
    return conv


def _state(s: Session, conv: Conversation) -> ScriptedState:
    sc = scenario_of(session=s, snapshot_id=conv.scenario_snapshot_id or 0)
    turns = repo.list_turns(session=s, conversation_id=conv.id or 0, ok_only=True)
    sent = sum(1 for tn in turns if tn.role == TurnRole.user)
    target = s.get(BotTarget, conv.bot_target_id)
    return ScriptedState(
        conversation_id=conv.id or 0, scenario_id=sc.id, title=sc.title,
        rubric_version_id=int(conv.meta.get("rubric_version_id", 0)), sent=sent,
        total=len(sc.scripted_turns),
        next_text=sc.scripted_turns[sent].text if sent < len(sc.scripted_turns) else None,
        status=ConversationStatus(conv.status),
        is_reference=target is not None and target.kind == BotKind.reference,
    )


def scripted_state(*, engine: sa.Engine, conversation_id: int,
                   participant_id: int) -> ScriptedState:
    with session_scope(engine) as s:
        return _state(s, _mine(s, conversation_id, participant_id))


def open_scripted_runs(*, engine: sa.Engine, participant_id: int) -> list[tuple[int, str]]:
    """This person's unfinished scripted runs as (conversation id, scenario id)."""
    with session_scope(engine) as s:
        return [(c.id or 0, sid) for c, sid in repo_training.scripted_of(
            session=s, participant_id=participant_id) if c.status == ConversationStatus.active]


def send_next_scripted(*, engine: sa.Engine, conversation_id: int, participant_id: int) -> int:
    """Send the next scripted user turn (the reply is streamed separately)."""
    with session_scope(engine) as s:
        conv = _mine(s, conversation_id, participant_id)
        now = _state(s, conv)
        if now.next_text is None:
            raise UserError("scripted.all_sent")
        return append_user_turn(session=s, conversation=conv, text=now.next_text,
                                author_participant_id=participant_id).id or 0


def finish_scripted(*, engine: sa.Engine, conversation_id: int, participant_id: int) -> None:
    with session_scope(engine) as s:
        conv = _mine(s, conversation_id, participant_id)
        repo.set_conversation_status(session=s, conversation=conv,
                                     status=ConversationStatus.finished)
