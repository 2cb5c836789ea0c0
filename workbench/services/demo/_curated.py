"""What the demo's simulated lead expert does after the ratings, so that every export format,
the few-shot snippet and the eval set have something in them on a fresh `make run` (issue 14,
item 11): curated examples for every scored reply, adjudications of the most disputed replies
with a final ideal reply, a share of the other examples accepted, and a few A/B judgements.

It goes through the curation and training services, the same doors a person uses, so the demo
holds what a real day would. Everything stays marked demo: the lead and the raters are demo
participants, every reason says "Demo", and the examples carry the curator tag `demo`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from workbench.domain.enums import CurationState
from workbench.domain.library import Library
from workbench.services import curation, training
from workbench.services.demo._rewrites import demo_rewrite
from workbench.storage import repo, repo_demo
from workbench.storage.db import session_scope

LEAD = "DEMO-EXP-1"  # a simulated expert leads, so no real account is needed
DEMO_TAG = "demo"
ADJUDICATIONS = 8  # the most disputed replies first (critical splits first)
ACCEPTED_SHARE = 0.5  # of the undecided examples that have a rewrite
PAIRWISE_RATERS = ("DEMO-EXP-2", "DEMO-EXP-3", "DEMO-EXP-4")
PAIRWISE_PER_RATER = 4
PREFER_BETTER = 0.75  # how often a simulated rater picks the reply of the better prompt
TIE_RATE = 0.1


@dataclass(frozen=True)
class CurationSummary:
    examples: int
    gold: int
    accepted: int
    adjudications: int
    pairwise: int


def _participant_ids(engine: sa.Engine, codes: tuple[str, ...]) -> dict[str, int]:
    with session_scope(engine) as s:
        found = {c: repo.get_participant(session=s, code=c) for c in codes}
        return {c: p.id or 0 for c, p in found.items() if p is not None}


def _decision(detail: curation.DisputeDetail, scenario_text: str | None) -> curation.Decision:
    """The lead's call: per criterion the middle of the raters' scores (yes only when most
    said yes), and the best-scored rater's rewrite as the ideal reply (else one written)."""
    values: dict[str, Any] = {}
    for crit in detail.criteria:
        given = [r.values[crit.key] for r in detail.ratings if r.values.get(crit.key) is not None]
        if crit.yes_no:
            yes = sum(1 for v in given if v is True or v in ("yes", 1))
            values[crit.key] = "yes" if yes * 2 > len(given) else "no"
        else:
            values[crit.key] = int(statistics.median_low(given)) if given else 3
    rewrites = sorted((r for r in detail.ratings if (r.ideal_reply or "").strip()),
                      key=lambda r: -(r.overall or 0))
    reason = "Demo (gesimuleerd): de middelste score van de beoordelaars telt."
    if rewrites:
        return curation.Decision(values=values, reason=reason,
                                 ideal_reply_rating_id=rewrites[0].rating_id)
    return curation.Decision(values=values, reason=reason,
                             ideal_reply_text=scenario_text or "Demo: geen herschrijving.")


def curate_demo(*, engine: sa.Engine, library: Library, training_day_id: int,
                rewritten: set[int], better_prompt_ids: set[int], prompt_of: dict[int, int],
                seed: int) -> CurationSummary:
    """Curate the demo day (see the module docstring). `rewritten` are the replies with a
    simulated rewrite; `prompt_of` maps a reply to its prompt version."""
    rng = np.random.default_rng(seed + 101)
    lead_id = curation.set_lead(engine=engine, code=LEAD, lead=True, actor="demo").id
    curation.sync_curated_examples(engine=engine, training_day_id=training_day_id)

    queue = curation.disagreement_queue(engine=engine, training_day_id=training_day_id)
    with session_scope(engine) as s:
        scenarios = repo_demo.reply_scenarios(session=s, turn_ids=[q.turn_id for q in queue])
    adjudicated = 0
    for item in queue[:ADJUDICATIONS]:
        detail = curation.dispute_detail(engine=engine, turn_id=item.turn_id,
                                         rubric_version_id=item.rubric_version_id)
        sid = scenarios.get(item.turn_id)
        text = demo_rewrite(library.scenarios[sid].scenario, 0) \
            if sid in library.scenarios else None
        curation.adjudicate(engine=engine, turn_id=item.turn_id,
                            rubric_version_id=item.rubric_version_id, adjudicator_id=lead_id,
                            decision=_decision(detail, text), lock_version=detail.lock_version)
        adjudicated += 1

    day = curation.CurationFilter(training_day_id=training_day_id)
    open_ones = [e for e in curation.list_examples(engine=engine, filters=day)
                 if e.state == CurationState.needs_review and e.turn_id in rewritten]
    accept = open_ones[::max(1, round(1 / ACCEPTED_SHARE))]
    curation.bulk_update(engine=engine, versions={e.id: e.lock_version for e in accept},
                         actor_id=lead_id, state=CurationState.accepted)
    every = curation.list_examples(engine=engine, filters=day)
    curation.bulk_update(engine=engine, versions={e.id: e.lock_version for e in every},
                         actor_id=lead_id, add_tags=[DEMO_TAG])
    pairwise = _pairwise(engine, training_day_id, better_prompt_ids, prompt_of, rng)
    final = curation.list_examples(engine=engine, filters=day)
    return CurationSummary(
        examples=len(final), gold=sum(e.state == CurationState.gold for e in final),
        accepted=sum(e.state == CurationState.accepted for e in final),
        adjudications=adjudicated, pairwise=pairwise)


def _pairwise(engine: sa.Engine, training_day_id: int, better_prompt_ids: set[int],
              prompt_of: dict[int, int], rng: np.random.Generator) -> int:
    """A few A/B judgements by simulated experts: mostly for the better prompt's reply."""
    n = 0
    for rater_id in _participant_ids(engine, PAIRWISE_RATERS).values():
        for _ in range(PAIRWISE_PER_RATER):
            item = training.next_pair(engine=engine, rater_id=rater_id,
                                      training_day_id=training_day_id)
            if item is None:
                break
            left_better = prompt_of.get(item.left_turn_id) in better_prompt_ids
            right_better = prompt_of.get(item.right_turn_id) in better_prompt_ids
            draw = rng.random()
            if draw < TIE_RATE or left_better == right_better:
                choice = "tie"
            else:
                picks_better = draw < TIE_RATE + (1 - TIE_RATE) * PREFER_BETTER
                choice = "left" if left_better == picks_better else "right"
            training.record_pair(engine=engine, rater_id=rater_id, item=item, preferred=choice,
                                 reason="Demo (gesimuleerd)")
            n += 1
    return n
