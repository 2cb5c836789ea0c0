"""The conversation engine shared by live role-play, scripted runs and the batch runner.

Append a user turn, stream the bot's reply, persist both with provenance. A failed reply is
stored as a failed turn (with what arrived before the failure) and can be retried: the user turn
stays, and the retry is written at the next index. Completed turns are never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.bots import Bot, BotError, ReplyRequest, ReplyResult
from workbench.domain.enums import ConversationKind, ConversationStatus, TurnRole, TurnStatus
from workbench.domain.library import Library
from workbench.services.targets import bot_for, prompt_of
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget, Conversation, Turn


class NothingToReply(RuntimeError):
    """The conversation's last turn is already a bot reply."""


def start_conversation(
    *,
    engine: sa.Engine,
    kind: ConversationKind,
    bot_target_id: int,
    prompt_version_id: int | None = None,
    scenario_id: str | None = None,
    library: Library | None = None,
    participant_id: int | None = None,
    training_day_id: int | None = None,
    consent_to_use: bool | None = None,
    is_demo: bool = False,
    **fields: Any,
) -> int:
    """Open a conversation on a scenario snapshot; returns its id."""
    with session_scope(engine) as s:
        return open_conversation(
            session=s, kind=kind, bot_target_id=bot_target_id,
            prompt_version_id=prompt_version_id, scenario_id=scenario_id, library=library,
            participant_id=participant_id, training_day_id=training_day_id,
            consent_to_use=consent_to_use, is_demo=is_demo, **fields).id or 0


def open_conversation(*, session: Session, kind: ConversationKind, bot_target_id: int,
                      prompt_version_id: int | None = None, scenario_id: str | None = None,
                      library: Library | None = None, **fields: Any) -> Conversation:
    """`start_conversation` inside the caller's unit of work."""
    target = session.get(BotTarget, bot_target_id)
    if target is None:
        raise repo.NotFound(f"bot target {bot_target_id}")
    snapshot_id = None
    if scenario_id is not None:
        snapshot_id = _snapshot_for(session=session, scenario_id=scenario_id, library=library).id
    return repo.create_conversation(
        session=session, kind=kind, bot_target_id=target.id,
        prompt_version_id=prompt_version_id or target.current_prompt_version_id,
        scenario_snapshot_id=snapshot_id, **fields)


def _snapshot_for(*, session: Session, scenario_id: str, library: Library | None = None):
    """The snapshot of the scenario's current text in the library (created on first use)."""
    if library is None:
        from workbench.services.context import load_shipped_library

        library = load_shipped_library()
    loaded = library.scenarios.get(scenario_id)
    if loaded is None:
        raise repo.NotFound(f"no scenario with id '{scenario_id}'")
    return repo.snapshot_scenario(session=session, loaded=loaded)


def add_user_turn(
    *, engine: sa.Engine, conversation_id: int, text: str,
    author_participant_id: int | None = None,
) -> int:
    """Store what the user wrote; the conversation's consent travels with the turn."""
    with session_scope(engine) as s:
        conv = repo.get_conversation(session=s, conversation_id=conversation_id)
        return append_user_turn(session=s, conversation=conv, text=text,
                                author_participant_id=author_participant_id).id or 0


def append_user_turn(*, session: Session, conversation: Conversation, text: str,
                     author_participant_id: int | None = None) -> Turn:
    """`add_user_turn` inside the caller's unit of work."""
    if not text.strip():
        raise ValueError("an empty message is not sent")
    return repo.append_turn(
        session=session, conversation_id=conversation.id or 0, role=TurnRole.user, content=text,
        author_participant_id=author_participant_id or conversation.participant_id,
        consent_to_use=conversation.consent_to_use)


def chat_history(turns: list[Turn]) -> list[dict[str, str]]:
    """OpenAI-style messages from the ok user/assistant turns, oldest first."""
    return [{"role": str(t.role), "content": t.content} for t in turns
            if t.status == TurnStatus.ok and t.role in (TurnRole.user, TurnRole.assistant)]


def _build_request(*, session: Session, conversation: Conversation) -> ReplyRequest:
    turns = repo.list_turns(session=session, conversation_id=conversation.id or 0, ok_only=True)
    if not turns or turns[-1].role != TurnRole.user:
        raise NothingToReply(f"conversation {conversation.id} has no user turn awaiting a reply")
    if conversation.prompt_version_id is None:
        raise repo.NotFound(f"conversation {conversation.id} has no prompt version")
    pv = prompt_of(session=session, prompt_version_id=conversation.prompt_version_id)
    return ReplyRequest(system_prompt=pv.content, messages=chat_history(turns),
                        prompt_version_hash=pv.sha256)


def reply_fields(result: ReplyResult, *, prompt_version_id: int | None) -> dict[str, Any]:
    p = result.provenance
    return dict(
        role=TurnRole.assistant, content=result.text, status=TurnStatus.ok,
        prompt_version_id=prompt_version_id, model=p.model, parameters=dict(p.parameters),
        latency_first_token_ms=p.latency_first_token_ms, latency_total_ms=p.latency_total_ms,
        prompt_tokens=p.prompt_tokens, completion_tokens=p.completion_tokens,
    )


def failure_fields(err: BotError, *, prompt_version_id: int | None) -> dict[str, Any]:
    return dict(
        role=TurnRole.assistant, content=err.partial_text or "", status=TurnStatus.failed,
        prompt_version_id=prompt_version_id, error_kind=str(err.kind), error_message=str(err),
    )


class ReplyStreamHandle(Iterator[str]):
    """Chunks of the bot's reply, for `st.write_stream`. Persists the turn when the stream ends:
    `.turn_id` is the stored reply; a BotError is stored as a failed turn, then re-raised."""

    def __init__(self, engine: sa.Engine, conversation_id: int, bot: Bot, request: ReplyRequest,
                 prompt_version_id: int | None) -> None:
        self._engine = engine
        self._conversation_id = conversation_id
        self._prompt_version_id = prompt_version_id
        self._stream = bot.stream(request)
        self.turn_id: int | None = None
        self.error: BotError | None = None

    def __next__(self) -> str:
        try:
            return next(self._stream)
        except StopIteration:
            self.turn_id = self._persist(reply_fields(self._stream.result,
                                                      prompt_version_id=self._prompt_version_id))
            raise
        except BotError as err:
            self.error = err
            self.turn_id = self._persist(failure_fields(err,
                                                        prompt_version_id=self._prompt_version_id))
            raise

    def _persist(self, fields: dict[str, Any]) -> int:
        with session_scope(self._engine) as s:
            return repo.append_turn(session=s, conversation_id=self._conversation_id,
                                    **fields).id or 0


def stream_reply(*, engine: sa.Engine, conversation_id: int, bot: Bot | None = None
                 ) -> ReplyStreamHandle:
    """Ask the conversation's bot for the next reply; iterate the handle to receive it."""
    with session_scope(engine) as s:
        conv = repo.get_conversation(session=s, conversation_id=conversation_id)
        request = _build_request(session=s, conversation=conv)
        if bot is None:
            target = s.get(BotTarget, conv.bot_target_id)
            assert target is not None
            bot = bot_for(target)
        pv_id = conv.prompt_version_id
    return ReplyStreamHandle(engine, conversation_id, bot, request, pv_id)


def complete_reply(*, engine: sa.Engine, conversation_id: int, bot: Bot | None = None) -> Turn:
    """Get the whole reply at once; returns the stored turn (status failed on a bot error)."""
    handle = stream_reply(engine=engine, conversation_id=conversation_id, bot=bot)
    try:
        for _ in handle:
            pass
    except BotError:
        pass
    with session_scope(engine) as s:
        turn = s.get(Turn, handle.turn_id)
        assert turn is not None
        return turn


def needs_reply(*, engine: sa.Engine, conversation_id: int) -> bool:
    """True when the last ok turn is the user's: a reply is owed (e.g. after a failure)."""
    with session_scope(engine) as s:
        turns = repo.list_turns(session=s, conversation_id=conversation_id, ok_only=True)
        return bool(turns) and turns[-1].role == TurnRole.user


def end_conversation(*, engine: sa.Engine, conversation_id: int,
                     status: ConversationStatus) -> None:
    with session_scope(engine) as s:
        conv = repo.get_conversation(session=s, conversation_id=conversation_id)
        repo.set_conversation_status(session=s, conversation=conv, status=status)


def transcript(*, engine: sa.Engine, conversation_id: int, include_failed: bool = False
               ) -> list[Turn]:
    with session_scope(engine) as s:
        return repo.list_turns(session=s, conversation_id=conversation_id,
                               ok_only=not include_failed)
