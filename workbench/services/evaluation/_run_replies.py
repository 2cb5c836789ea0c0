"""A run's replies with the expectation checks of each, by conversation: what the prompt lab
puts side by side for two runs (the checks are the ones `compare` counts)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from workbench.services.evaluation._expectations import (
    TurnExpectation,
    _musts,
    _turn_scope,
    conversation_musts,
)
from workbench.storage import repo
from workbench.storage import repo_eval as q
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of
from workbench.storage.tables import Run


@dataclass(frozen=True)
class RunReply:
    ordinal: int  # reply n answers scripted turn n
    user_text: str | None
    text: str
    checks: tuple[TurnExpectation, ...]  # this reply's turn and must-not checks


@dataclass(frozen=True)
class RunConversation:
    scenario_id: str | None
    scenario_title: str | None
    repeat_index: int | None
    replies: tuple[RunReply, ...]
    conversation_checks: tuple[TurnExpectation, ...]  # the scenario's musts, over all replies


def run_replies(*, engine: sa.Engine, run_id: str) -> list[RunConversation]:
    """Every conversation of the run with its ok replies, in (scenario, repeat) order."""
    with session_scope(engine) as s:
        if s.get(Run, run_id) is None:
            raise repo.NotFound(f"no run with id '{run_id}'")
        by_conv: dict[int, list[q.Reply]] = {}
        for r in q.replies_of_run(session=s, run_id=run_id):
            by_conv.setdefault(r.conversation_id, []).append(r)
        out = []
        for replies in by_conv.values():
            first = replies[0]
            if first.scenario_snapshot_id is None:
                continue
            scenario = scenario_of(session=s, snapshot_id=first.scenario_snapshot_id)
            out.append(RunConversation(
                first.scenario_id, scenario.title, first.repeat_index,
                tuple(RunReply(r.ordinal, r.user_text, r.text,
                               tuple(_turn_scope(scenario, r))) for r in replies),
                tuple(conversation_musts(_musts(scenario), replies))))
    return sorted(out, key=lambda c: (c.scenario_id or "", c.repeat_index or 0))
