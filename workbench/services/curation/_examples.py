"""What curation hands to export (issue 6): curated examples as plain dataclasses, consent-only by
default and never anything withdrawn. Also the per-example facts (scores, unsafe, adjudicated)
that the curation pages show, computed the same way for both.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import ConversationKind, CurationState, TurnRole
from workbench.storage import repo_curation
from workbench.storage.tables import Adjudication, Conversation, Turn

DEFAULT_EXPORT_STATES = (CurationState.gold, CurationState.accepted)


@dataclass(frozen=True)
class Message:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ExampleFacts:
    scores: dict[str, float]  # criterion → adjudicated value, or the raters' mean (yes = 1)
    unsafe: bool  # adjudicated verdict, or: any counted rater judged the reply unsafe
    adjudicated: bool
    n_ratings: int
    overall: float | None


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


def example_facts(*, session: Session, training_day_id: int | None = None,
                  example_ids: Collection[int] | None = None) -> dict[int, ExampleFacts]:
    """example id → its facts; adjudication (the newest) wins over the raters' means."""
    rows = repo_curation.curated_rows(session=session, training_day_id=training_day_id,
                                      include_withdrawn=True, example_ids=example_ids)
    stats = repo_curation.example_rating_stats(session=session, training_day_id=training_day_id,
                                               example_ids=example_ids)
    decided = repo_curation.latest_adjudications(
        session=session, turn_ids=None if example_ids is None else [r[0].turn_id for r in rows])
    out: dict[int, ExampleFacts] = {}
    for row in rows:
        ex = row[0]
        n, unsafe, means = stats.get(ex.id or 0, (0, False, {}))
        adj: Adjudication | None = decided.get(ex.turn_id)
        if adj is not None and adj.rubric_version_id == ex.rubric_version_id:
            scores = {k: float(v) for k, v in adj.final_values.items() if v is not None}
            out[ex.id or 0] = ExampleFacts(scores, adj.unsafe, True, n, adj.final_overall)
        else:
            out[ex.id or 0] = ExampleFacts(means, unsafe, False, n, ex.score)
    return out


def needs_consent(turn: Turn, conversation: Conversation) -> bool:
    """Text a person wrote (role-play, or any turn with an author) may be reused only with
    their consent; scripted turns come from the scenario library and need none."""
    return turn.role == TurnRole.user and (
        turn.author_participant_id is not None or conversation.kind == ConversationKind.roleplay)


def consented(turn: Turn, conversation: Conversation) -> bool:
    given = turn.consent_to_use if turn.consent_to_use is not None else conversation.consent_to_use
    return given is True


def curated_examples_for_export(
    *,
    engine: sa.Engine,
    states: Collection[CurationState | str] = DEFAULT_EXPORT_STATES,
    training_day_id: int | None = None,
    scenario_ids: Collection[str] | None = None,
    tags: Collection[str] | None = None,
    risk_levels: Collection[str] | None = None,
    rubric_version_id: int | None = None,
    min_score: float | None = None,
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
    # One implementation of these rules: export_examples reads the same rows with plain
    # column queries (about ten times faster at 100k examples than building ORM objects).
    from workbench.services.export._examples import load_examples  # (it imports this module)

    return load_examples(
        engine=engine, states=states, training_day_id=training_day_id,
        scenario_ids=scenario_ids, tags=tags, risk_levels=risk_levels,
        rubric_version_id=rubric_version_id, min_score=min_score, consent_only=consent_only,
    )
