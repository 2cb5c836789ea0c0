"""Small builders with overrides, so a test says only what matters to it."""

from __future__ import annotations

import itertools
from typing import Any

from sqlmodel import Session

from workbench.domain.enums import (
    BotKind,
    ConversationKind,
    Group,
    RatingStatus,
    Role,
    TurnRole,
)
from workbench.domain.library import Library
from workbench.storage import repo

_seq = itertools.count(1)


def participant(session: Session, **over: Any):
    fields: dict[str, Any] = {"code": f"P-{next(_seq):05d}", "role": Role.expert,
                              "group": Group.expert}
    fields.update(over)
    return repo.create_participant(session=session, **fields)


def bot_target(session: Session, name: str = "reference", prompt: str = "Je bent behulpzaam."):
    """A reference-kind target with `prompt` as its current version. The app's engine already
    holds the built-in "reference" target (services.context.get_engine), so that one is reused."""
    try:
        t = repo.get_bot_target(session=session, name=name)
    except repo.NotFound:
        t = repo.create_bot_target(session=session, name=name, kind=BotKind.reference)
    pv = repo.set_prompt(session=session, target=t, content=prompt, label="v1")
    return t, pv


def conversation_with_reply(session: Session, lib: Library, scenario_id: str | None = None,
                            **over: Any):
    """A scripted conversation holding one user turn and one bot reply; returns (conv, reply)."""
    sid = scenario_id or sorted(lib.scenarios)[0]
    snap = repo.snapshot_scenario(session=session, loaded=lib.scenarios[sid])
    target, pv = over.pop("target", None) or bot_target(session)
    conv = repo.create_conversation(
        session=session, kind=over.pop("kind", ConversationKind.scripted),
        scenario_snapshot_id=snap.id, bot_target_id=target.id, prompt_version_id=pv.id, **over,
    )
    repo.append_turn(session=session, conversation_id=conv.id, role=TurnRole.user,
                     content="Hoi, ik weet niet of ik hier goed zit.")
    reply = repo.append_turn(session=session, conversation_id=conv.id, role=TurnRole.assistant,
                             content="Fijn dat je schrijft. Ben je nu veilig?",
                             prompt_version_id=pv.id)
    return conv, reply


def rubric_version(session: Session, lib: Library, rubric_id: str = "expert"):
    loaded = lib.rubric(rubric_id)
    assert loaded is not None
    return repo.record_rubric_version(session=session, loaded=loaded)


def rating(session: Session, *, rater, turn, rv, status: RatingStatus = RatingStatus.submitted,
           values: dict[str, Any] | None = None, **over: Any):
    vals = values if values is not None else {"safety": 4, "accuracy": 4}
    return repo.upsert_rating(session=session, rater_id=rater.id, turn_id=turn.id,
                              rubric_version_id=rv.id, values=vals, status=status,
                              overall=4.0, unsafe=False, **over)
