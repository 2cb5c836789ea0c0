"""A small training day for the curation tests: three experts (one a lead), a facilitator, a panel
member with a consented role-play, and replies whose ratings agree, split on a critical
criterion, or spread on a plain one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from tests import builders
from workbench.domain.enums import (
    ConversationKind,
    Group,
    RatingSource,
    RatingStatus,
    Role,
    TurnRole,
)
from workbench.domain.library import Library
from workbench.domain.scoring import score
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import TrainingDay

PANEL_TEXT = "Mijn vriend leest al mijn berichten en ik mag niemand meer zien."
ALL_EXPERT = ("safety", "accuracy", "listen_validate", "no_blame", "autonomy", "relevance",
              "transparency", "clarity", "would_send")
# reply name → the three experts' values (criteria left out are not rated)
PLAN: dict[str, list[dict[str, Any]]] = {
    "agreed": [{"safety": 4, "clarity": 4}] * 3,
    "critical": [{"safety": 1, "clarity": 4}, {"safety": 4, "clarity": 4},
                 {"safety": 4, "clarity": 4}],
    "spread3": [{"safety": 3, "clarity": 1}, {"safety": 3, "clarity": 4},
                {"safety": 3, "clarity": 4}],
    "spread1": [{"safety": 3, "clarity": 3}, {"safety": 4, "clarity": 3},
                {"safety": 3, "clarity": 3}],
    "roleplay": [{"safety": 2, "clarity": 3}, {"safety": 4, "clarity": 5},
                 {"safety": 3, "clarity": 4}],
}


@dataclass
class World:
    day_id: int
    rv_id: int
    lead_id: int
    lead2_id: int
    facilitator_id: int
    panel_id: int
    panel_code: str
    expert_ids: list[int]
    expert_codes: list[str]
    replies: dict[str, int] = field(default_factory=dict)
    rating_ids: dict[str, list[int]] = field(default_factory=dict)


def full_values(value: int = 4, send: str = "yes") -> dict[str, Any]:
    return {k: (send if k == "would_send" else value) for k in ALL_EXPERT}


def build_world(engine: sa.Engine, library: Library) -> World:
    rubric = library.rubric("expert")
    assert rubric is not None
    scenario_ids = sorted(library.scenarios)
    with session_scope(engine) as s:
        day = TrainingDay(name="Curatiedag", day=date.today())
        s.add(day)
        s.flush()
        rv = builders.rubric_version(s, library, "expert")
        target = builders.bot_target(s)
        lead = builders.participant(s, code="EXP-LEAD", is_demo=False)
        lead.is_lead = True
        lead2 = builders.participant(s, code="EXP-LEAD2")
        lead2.is_lead = True
        fac = builders.participant(s, code="FAC-1", role=Role.facilitator, group=None)
        experts = [builders.participant(s, code=f"EXP-{i}") for i in (1, 2, 3)]
        panel = builders.participant(s, code="LE-TEST", role=Role.panel,
                                     group=Group.lived_experience, training_day_id=day.id)
        world = World(day.id or 0, rv.id or 0, lead.id or 0, lead2.id or 0, fac.id or 0,
                      panel.id or 0, panel.code, [e.id or 0 for e in experts],
                      [e.code for e in experts])
        for n, (name, plan) in enumerate(PLAN.items()):
            if name == "roleplay":
                conv = repo.create_conversation(
                    session=s, kind=ConversationKind.roleplay, training_day_id=day.id,
                    bot_target_id=target[0].id, prompt_version_id=target[1].id,
                    scenario_snapshot_id=repo.snapshot_scenario(
                        session=s, loaded=library.scenarios[scenario_ids[0]]).id,
                    participant_id=panel.id, consent_to_use=True)
                repo.append_turn(session=s, conversation_id=conv.id or 0, role=TurnRole.user,
                                 content=PANEL_TEXT, author_participant_id=panel.id,
                                 consent_to_use=True)
                reply = repo.append_turn(session=s, conversation_id=conv.id or 0,
                                         role=TurnRole.assistant, prompt_version_id=target[1].id,
                                         content="Wat vervelend. Wil je vertellen wat er gebeurt?")
            else:
                _, reply = builders.conversation_with_reply(
                    s, library, scenario_ids[n % len(scenario_ids)], target=target,
                    training_day_id=day.id)
            world.replies[name] = reply.id or 0
            world.rating_ids[name] = []
            for i, (expert, values) in enumerate(zip(experts, plan, strict=True)):
                verdict = score(rubric.rubric, values)
                r = repo.upsert_rating(
                    session=s, rater_id=expert.id or 0, turn_id=reply.id or 0,
                    rubric_version_id=rv.id or 0, values=values, status=RatingStatus.submitted,
                    overall=verdict.overall, unsafe=verdict.unsafe, source=RatingSource.human,
                    ideal_reply=f"Herschreven {name} door {expert.code} ({i})",
                    comment="kort" if i == 0 else None)
                world.rating_ids[name].append(r.id or 0)
        s.add_all([lead, lead2])
    return world
