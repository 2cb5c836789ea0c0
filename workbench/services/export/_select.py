"""What an export may contain: curated examples (`_examples`, plus the ideal-reply fallback),
pairwise preference pairs and the ratings table, from the queries in `storage/repo_export.py`.
Never anything withdrawn; consent-only by default (`domain.rules.may_reuse`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import rules
from workbench.domain.enums import PairwiseChoice
from workbench.services.export._examples import (
    DEFAULT_EXPORT_STATES,
    ExportExample,
    Message,
    curated_examples_for_export,
)
from workbench.storage import repo_curation, repo_export
from workbench.storage.db import session_scope
from workbench.storage.tables import (
    Conversation,
    ScenarioSnapshot,
)

FALSE = sa.false()


@dataclass(frozen=True)
class ExportFilters:
    """What to take. None (or empty) means: do not filter on this. `states` None means gold and
    accepted for curated formats, and every rating (any or no curation state) for `table`."""

    training_day_id: int | None = None
    states: tuple[str, ...] | None = None
    scenario_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # scenario forms of violence or curators' tags, any of
    risk_levels: tuple[str, ...] = ()
    rubric_version_id: int | None = None
    min_score: float | None = None
    consent_only: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def _opt(values: Collection[str]) -> Collection[str] | None:
    return values or None


# --- curated examples ----------------------------------------------------------------------------


def select_examples(*, engine: sa.Engine, filters: ExportFilters) -> list[ExportExample]:
    """Curated examples, ordered by example id, with the ideal reply filled in.

    Which ideal reply: the curator's (curated_example.ideal_reply), else the newest
    adjudication's, else the rewrite in the counted rating (submitted, not by a judge, not
    withdrawn) with the highest overall score (ties: the oldest rating). Examples touching a
    participant who withdrew are left out even if their turns were not (yet) marked.
    """
    states = filters.states if filters.states is not None else DEFAULT_EXPORT_STATES
    examples = curated_examples_for_export(
        engine=engine, states=states, training_day_id=filters.training_day_id,
        scenario_ids=_opt(filters.scenario_ids), tags=_opt(filters.tags),
        risk_levels=_opt(filters.risk_levels), rubric_version_id=filters.rubric_version_id,
        min_score=filters.min_score, consent_only=filters.consent_only)
    with session_scope(engine) as s:
        tainted = repo_export.conversations_of_withdrawn(session=s)
        fallback = _fallback_ideals(s) if any(e.ideal_reply is None for e in examples) else {}
    out = []
    for ex in examples:
        if ex.conversation_id in tainted:
            continue
        if ex.ideal_reply is None and ex.turn_id in fallback:
            ex = dataclasses.replace(ex, ideal_reply=fallback[ex.turn_id])
        out.append(ex)
    return out


def _fallback_ideals(s: Session) -> dict[int, str]:
    """turn id → ideal reply from the adjudication or the best counted rating."""
    gone = repo_curation.withdrawn_participant_ids(session=s)
    out: dict[int, str] = {}
    for turn_id, _, _, text in repo_export.rating_rewrites(session=s, exclude_raters=gone):
        if text and text.strip():
            out.setdefault(turn_id, text.strip())
    for turn_id, adj in repo_curation.latest_adjudications(session=s).items():
        if adj.final_ideal_reply and adj.final_ideal_reply.strip() \
                and adj.adjudicator_id not in gone:
            out[turn_id] = adj.final_ideal_reply.strip()  # the adjudication wins
    return out


# --- pairwise preference pairs --------------------------------------------------------------------


@dataclass(frozen=True)
class PairwiseSelection:
    turn_a_id: int
    turn_b_id: int
    winner_conversation_id: int
    loser_conversation_id: int
    scenario_id: str | None
    scenario_tags: tuple[str, ...]
    risk_level: str | None
    prompt_version_id: int | None  # the winner's
    system_prompt: str | None
    messages: tuple[Message, ...]  # the winner's conversation before its reply
    chosen: str
    rejected: str
    votes: tuple[int, int, int]  # a, b, tie


def select_pairwise(*, engine: sa.Engine, filters: ExportFilters) -> list[PairwiseSelection]:
    """Pairs from A/B judgements: the majority's winner against the loser; ties and even votes
    are skipped. Judgements of withdrawn raters do not count. Both replies and everything
    before them must be unwithdrawn (and consented, with consent_only)."""
    with session_scope(engine) as s:
        votes: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0])
        rows = repo_export.pairwise_votes(session=s)
        for a, b, choice in rows:
            votes[(int(a), int(b))][("a", "b", "tie").index(str(PairwiseChoice(choice)))] += 1
        if not votes:
            return []
        turn_ids = sorted({t for pair in votes for t in pair})
        facts = repo_export.turn_facts(session=s, turn_ids=turn_ids)
        turns = repo_curation.conversation_turns(
            session=s, conversation_ids=sorted({f[1].id or 0 for f in facts.values()}))
        tainted = repo_export.conversations_of_withdrawn(session=s)
    out = []
    for (a, b), (va, vb, vt) in sorted(votes.items()):
        if va == vb or a not in facts or b not in facts:
            continue
        winner, loser = (a, b) if va > vb else (b, a)
        (w_turn, w_conv, snap, pv), (l_turn, l_conv, _, _) = facts[winner], facts[loser]
        if not _matches(filters, w_conv, snap):
            continue
        ok = True
        for turn, conv in ((w_turn, w_conv), (l_turn, l_conv)):
            before = [t for t in turns.get(conv.id or 0, []) if t.index < turn.index]
            if turn.withdrawn or conv.id in tainted or any(t.withdrawn for t in before) or (
                    filters.consent_only and not all(rules.may_reuse(t, conv) for t in before)):
                ok = False
        if not ok:
            continue
        context = tuple(Message(str(t.role), t.content)
                        for t in turns.get(w_conv.id or 0, []) if t.index < w_turn.index)
        out.append(PairwiseSelection(
            turn_a_id=a, turn_b_id=b, winner_conversation_id=w_conv.id or 0,
            loser_conversation_id=l_conv.id or 0, scenario_id=snap.scenario_id if snap else None,
            scenario_tags=tuple(snap.tags) if snap else (),
            risk_level=str(snap.risk_level) if snap else None,
            prompt_version_id=pv.id if pv else None,
            system_prompt=pv.content if pv else None, messages=context,
            chosen=w_turn.content, rejected=l_turn.content, votes=(va, vb, vt)))
    return out


def _matches(f: ExportFilters, conv: Conversation, snap: ScenarioSnapshot | None,
             curator_tags: Collection[str] = ()) -> bool:
    """The filters that apply to any reply: day, scenario, risk level, tags."""
    if f.training_day_id is not None and conv.training_day_id != f.training_day_id:
        return False
    if f.scenario_ids and (snap is None or snap.scenario_id not in f.scenario_ids):
        return False
    if f.risk_levels and (snap is None or str(snap.risk_level) not in f.risk_levels):
        return False
    return not f.tags or bool(set(f.tags) & (set(snap.tags if snap else ()) | set(curator_tags)))


def version_facts(*, engine: sa.Engine, rubric_version_ids: Collection[int],
                  prompt_version_ids: Collection[int]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rubric and prompt versions an export drew on, for its manifest (id order)."""
    with session_scope(engine) as s:
        rubrics = [{"id": rv.id, "rubric_id": rv.rubric_id, "version": rv.version,
                    "audience": str(rv.audience), "sha256": rv.sha256}
                   for rv in repo_curation.rubric_versions(session=s, ids=sorted(
                       rubric_version_ids))] if rubric_version_ids else []
        prompts = [{"id": pv.id, "bot_target_id": pv.bot_target_id, "label": pv.label,
                    "sha256": pv.sha256}
                   for pv in repo_export.prompt_versions(session=s, ids=prompt_version_ids)]
    return rubrics, prompts


# --- ratings table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingSelection:
    rating_id: int
    turn_id: int
    conversation_id: int
    conversation_kind: str
    training_day_id: int | None
    scenario_id: str | None
    scenario_tags: tuple[str, ...]
    risk_level: str | None
    prompt_version_id: int | None
    prompt_label: str | None
    rubric_id: str
    rubric_version: int
    rubric_version_id: int
    rater_id: int
    rater_group: str | None
    source: str
    values: dict[str, Any]
    overall: float | None
    unsafe: bool
    unsafe_flag: bool
    curated_state: str | None
    curated_tags: tuple[str, ...]
    submitted_at: str | None
    time_spent_s: float | None
    comment: str | None  # None when consent is missing for the conversation's role-play text
    unsafe_span: str | None
    ideal_reply: str | None


def select_ratings(*, engine: sa.Engine, filters: ExportFilters) -> list[RatingSelection]:
    """Every submitted, unwithdrawn rating (people, simulated raters and judges: see `source`)
    that passes the filters, in rating id order. With consent_only the free-text columns of
    ratings on role-play text without consent are emptied; the numbers stay."""
    f = filters
    out = []
    with session_scope(engine) as s:
        tainted = repo_export.conversations_of_withdrawn(session=s)
        rows = repo_export.rating_rows(session=s, training_day_id=f.training_day_id,
                                       rubric_version_id=f.rubric_version_id,
                                       min_score=f.min_score, states=f.states)
        unconsented = _unconsented_conversations(s, {c.id or 0 for _, _, c, *_ in rows}) \
            if f.consent_only else set()
    for r, turn, conv, snap, pv, rv, rater, ex in rows:
        if conv.id in tainted or not _matches(f, conv, snap, ex.tags if ex else ()):
            continue
        hide = conv.id in unconsented
        out.append(RatingSelection(
            rating_id=r.id or 0, turn_id=turn.id or 0, conversation_id=conv.id or 0,
            conversation_kind=str(conv.kind), training_day_id=conv.training_day_id,
            scenario_id=snap.scenario_id if snap else None,
            scenario_tags=tuple(snap.tags) if snap else (),
            risk_level=str(snap.risk_level) if snap else None,
            prompt_version_id=pv.id if pv else None, prompt_label=pv.label if pv else None,
            rubric_id=rv.rubric_id, rubric_version=rv.version, rubric_version_id=rv.id or 0,
            rater_id=rater.id or 0, rater_group=str(rater.group) if rater.group else None,
            source=str(r.source), values=dict(r.values), overall=r.overall, unsafe=r.unsafe,
            unsafe_flag=r.unsafe_flag, curated_state=str(ex.state) if ex else None,
            curated_tags=tuple(ex.tags) if ex else (),
            submitted_at=r.submitted_at.isoformat() if r.submitted_at else None,
            time_spent_s=r.time_spent_s, comment=None if hide else r.comment,
            unsafe_span=None if hide else r.unsafe_span,
            ideal_reply=None if hide else r.ideal_reply))
    return out


def _unconsented_conversations(s: Session, conversation_ids: set[int]) -> set[int]:
    """Conversations holding a person's text without consent to reuse it."""
    convs = repo_export.conversations_by_id(session=s, ids=conversation_ids)
    turns = repo_curation.conversation_turns(session=s, conversation_ids=sorted(convs))
    return {cid for cid, ts in turns.items()
            if not all(rules.may_reuse(t, convs[cid]) for t in ts)}
