"""What a run (batch or simulation) still has to play when it resumes."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from workbench.domain.enums import ConversationStatus
from workbench.domain.scenarios import Scenario
from workbench.services.training import chat_history
from workbench.storage import repo, repo_eval
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of
from workbench.storage.tables import ScenarioSnapshot


@dataclass(frozen=True)
class Unfinished:
    """A conversation of a run still to play: its scenario as snapshotted (the snapshot's exact
    text, not today's file, which may have changed since) and its exchanges so far."""

    conversation_id: int
    scenario_id: str
    scenario: Scenario
    history: list[dict[str, str]]  # OpenAI-style messages, oldest first


def unfinished_conversations(*, engine: sa.Engine, run_id: str) -> tuple[list[Unfinished], int]:
    """The run's conversations that are not finished (read in one session), and how many it has;
    batch runs and simulations resume from this."""
    with session_scope(engine) as s:
        convs = repo_eval.run_conversations(session=s, run_id=run_id)
        found = []
        for conv in convs:
            if conv.status == ConversationStatus.finished:
                continue
            snap = s.get(ScenarioSnapshot, conv.scenario_snapshot_id)
            assert snap is not None
            turns = repo.list_turns(session=s, conversation_id=conv.id or 0, ok_only=True)
            found.append(Unfinished(conv.id or 0, snap.scenario_id,
                                    scenario_of(session=s, snapshot_id=snap.id or 0),
                                    chat_history(turns)))
        return found, len(convs)
