"""What curation hands to export: curated examples as plain `ExportExample`s, consent-only by
default and never anything withdrawn (the consent rule is `domain.rules.may_reuse`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import rules
from workbench.domain.enums import CurationState
from workbench.storage import repo_curation, repo_export
from workbench.storage.db import session_scope

DEFAULT_EXPORT_STATES = (CurationState.gold, CurationState.accepted)


@dataclass(frozen=True)
class Message:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ExportExample:
    """One curated reply, ready to be turned into a training or evaluation record.

    messages: the conversation's ok user and bot turns BEFORE the reply, oldest first (no
    system message; `system_prompt` holds the prompt version's text). bot_reply: what the bot
    said. ideal_reply: the adjudicated or curated reply a person would send (None when nobody
    chose or wrote one yet — the caller decides whether such an example is usable; for SFT it
    is not). scores: criterion → final value (1–5; yes/no as 1.0/0.0) when adjudicated, else
    the mean of the counted ratings. score: the overall (weighted mean of 1–5 criteria).
    """

    example_id: int
    turn_id: int
    conversation_id: int
    conversation_kind: str
    training_day_id: int | None
    state: CurationState
    tags: tuple[str, ...]  # curators' tags
    messages: tuple[Message, ...]
    bot_reply: str
    ideal_reply: str | None
    score: float | None
    scores: dict[str, float]
    unsafe: bool
    adjudicated: bool
    n_ratings: int
    rubric_version_id: int | None
    scenario_id: str | None
    scenario_title: str | None
    scenario_tags: tuple[str, ...]  # forms of violence, from the scenario snapshot
    risk_level: str | None
    writer: str | None
    prompt_version_id: int | None
    prompt_label: str | None
    prompt_sha256: str | None
    system_prompt: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the consent rule reads of a turn or a conversation (duck-typed for
    `rules.may_reuse`, so the rule itself stays in one place)."""

    role: str
    kind: str
    author_participant_id: int | None
    consent_to_use: bool | None


@dataclass(frozen=True, slots=True)
class _TurnRow:
    index: int
    message: Message
    withdrawn: bool
    lacks_consent: bool  # a person's text without consent to reuse it


def curated_examples_for_export(
    *, engine: sa.Engine, states: Any = DEFAULT_EXPORT_STATES, training_day_id: int | None = None,
    scenario_ids: Any = None, tags: Any = None, risk_levels: Any = None,
    rubric_version_id: int | None = None, min_score: float | None = None,
    consent_only: bool = True,
) -> list[ExportExample]:
    """Curated examples for an export, ordered by example id (deterministic).

    Never returned, whatever the arguments: a withdrawn example, a withdrawn reply, or an
    example whose conversation up to the reply holds a withdrawn turn; an ideal reply written
    by a participant who has since withdrawn is returned as None. With consent_only (the
    default) an example is left out when any user turn before the reply was written by a person
    (role-play) without consent_to_use = True; scripted and batch turns need no consent.

    Filters: states (default gold and accepted); tags matches the scenario's forms of violence
    OR the curators' tags (any of); min_score compares the overall score (examples without
    one are left out when it is set). Queries run once per call, not once per example.
    """
    with session_scope(engine) as s:
        rows = repo_export.curated_example_rows(
            session=s, states=[str(CurationState(x)) for x in states],
            training_day_id=training_day_id, rubric_version_id=rubric_version_id,
            scenario_ids=scenario_ids, risk_levels=risk_levels)
        stats = repo_curation.example_rating_stats(session=s, training_day_id=training_day_id)
        decided = repo_curation.latest_adjudications(session=s)
        gone = repo_curation.withdrawn_participant_ids(session=s)
        turns = _turns(s, training_day_id)
        snaps = repo_export.snapshot_facts(session=s)
        prompts = repo_export.prompt_facts(
            session=s, ids={r.prompt_version_id for r in rows if r.prompt_version_id})
    no_snap = (None, None, (), None, None)
    out: list[ExportExample] = []
    for (ex_id, turn_id, state, ex_tags, ideal, ideal_author, rv_id, ex_score, index, content,
         model, pv_id, conv_id, kind, day_id, snap_id) in rows:
        scenario_id, title, scenario_tags, risk, writer = snaps.get(snap_id, no_snap)
        if tags is not None and not (set(tags) & (set(scenario_tags) | set(ex_tags))):
            continue
        n, unsafe, scores = stats.get(ex_id, (0, False, {}))
        adj = decided.get(turn_id)
        adjudicated = adj is not None and adj.rubric_version_id == rv_id
        overall = ex_score
        if adj is not None and adjudicated:
            scores = {k: float(v) for k, v in adj.final_values.items() if v is not None}
            overall = adj.final_overall
        unsafe = rules.reply_unsafe([unsafe], adj.unsafe if adj is not None and adjudicated
                                    else None)
        score = overall if overall is not None else ex_score
        if min_score is not None and (score is None or score < min_score):
            continue
        before = [t for t in turns.get(conv_id, ()) if t.index < index]
        if any(t.withdrawn for t in before) or (
                consent_only and any(t.lacks_consent for t in before)):
            continue
        pv = prompts.get(pv_id)
        out.append(ExportExample(
            example_id=ex_id, turn_id=turn_id, conversation_id=conv_id,
            conversation_kind=str(kind), training_day_id=day_id, state=CurationState(state),
            tags=tuple(ex_tags), messages=tuple(t.message for t in before), bot_reply=content,
            ideal_reply=ideal if ideal_author not in gone else None, score=score,
            scores=scores, unsafe=unsafe, adjudicated=adjudicated, n_ratings=n,
            rubric_version_id=rv_id, scenario_id=scenario_id, scenario_title=title,
            scenario_tags=scenario_tags, risk_level=risk, writer=writer,
            prompt_version_id=pv.id if pv else None, prompt_label=pv.label if pv else None,
            prompt_sha256=pv.sha256 if pv else None, system_prompt=pv.content if pv else None,
            model=model))
    return out


def _turns(s: Session, training_day_id: int | None) -> dict[int, list[_TurnRow]]:
    """The ok user and bot turns (withdrawn ones too) of every conversation holding a curated
    example, in order, each with its consent verdict."""
    convs = {cid: _Facts("", kind, None, consent) for cid, (kind, consent) in
             repo_export.example_conversations(session=s, training_day_id=training_day_id).items()}
    out: dict[int, list[_TurnRow]] = defaultdict(list)
    for cid, index, role, content, withdrawn, author, consent in repo_export.example_turns(
            session=s, training_day_id=training_day_id):
        turn = _Facts(str(role), "", author, consent)
        out[cid].append(_TurnRow(index, Message(str(role), content), bool(withdrawn),
                                 not rules.may_reuse(turn, convs[cid])))
    return dict(out)
