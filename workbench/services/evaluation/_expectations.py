"""Automatic evaluation of bot replies without people: the scenario's mechanical expectation
checks per reply, and ragas metrics against a gold reference (offline string metrics always, LLM
metrics only with a judge target).

Which expectations apply to a reply: in a scripted or batch conversation, reply n answers
scripted turn n, so that turn's expectations apply to it; of the whole-conversation expectations,
every `must_not` applies to every reply (no reply may ask for a name), while a `must` is met
when any reply of the conversation meets it, so it is shown with scope "conversation".

Where the gold reference comes from (first found wins):
1. the reply's own: a curated gold example's ideal reply, else the lead's adjudicated final
   ideal reply, else a submitted (human or simulated, never judge) rating's ideal reply;
2. otherwise, for a scripted or batch conversation, the same from another conversation of the
   same scenario, at the same reply position, answering the same user message text (so an
   edited scripted turn never borrows a reference written for the old text).
Within a source the newest text wins. `compare` uses only (2)-style references per position, so
both runs of a pair are measured against the same text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import ConversationKind, ExpectationKind
from workbench.domain.expectations import ExpectationOutcome, evaluate_expectations
from workbench.domain.scenarios import Expectation, Scenario
from workbench.services.evaluation._judge_prompt import ScenarioFacts
from workbench.storage import repo_eval as q
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of

SCRIPTED_KINDS = (ConversationKind.scripted, ConversationKind.batch)
SOURCE_NAMES = {q.TIER_CURATED: "curated", q.TIER_ADJUDICATED: "adjudicated",
                q.TIER_RATING: "rating"}


# --- expectations ------------------------------------------------------------------------------


def applicable_expectations(scenario: Scenario, reply: q.Reply
                            ) -> tuple[list[Expectation], list[Expectation]]:
    """(expectations of the scripted turn this reply answers, whole-conversation ones)."""
    turn: list[Expectation] = []
    if reply.kind in SCRIPTED_KINDS and reply.ordinal < len(scenario.scripted_turns):
        turn = list(scenario.scripted_turns[reply.ordinal].expectations)
    return turn, list(scenario.expectations)


def scenario_facts(scenario: Scenario, reply: q.Reply) -> ScenarioFacts:
    """What the judge is told about the scenario of this reply."""
    turn, whole = applicable_expectations(scenario, reply)
    return ScenarioFacts(
        title=scenario.title, writer=str(scenario.writer), risk_level=str(scenario.risk_level),
        situation=scenario.situation,
        expectations=[(str(e.kind), e.text) for e in [*turn, *whole]])


@dataclass(frozen=True)
class TurnExpectation:
    """One expectation applied to a reply; `passed` is None when only a person can judge it."""

    scope: str  # "turn" (this reply) or "conversation" (any reply of the conversation)
    kind: str
    check: str | None
    text: str
    passed: bool | None


def _scoped(scope: str, outcomes: Iterable[ExpectationOutcome]) -> list[TurnExpectation]:
    return [TurnExpectation(scope, str(o.kind), None if o.check is None else str(o.check),
                            o.text, o.passed) for o in outcomes]


def _turn_scope(scenario: Scenario, reply: q.Reply) -> list[TurnExpectation]:
    turn, whole = applicable_expectations(scenario, reply)
    must_not = [e for e in whole if e.kind == ExpectationKind.must_not]
    return _scoped("turn", evaluate_expectations(reply.text, [*turn, *must_not]))


def _musts(scenario: Scenario) -> list[Expectation]:
    return [e for e in scenario.expectations if e.kind == ExpectationKind.must]


def reply_outcomes(scenario: Scenario, reply: q.Reply, conversation_replies: list[q.Reply]
                   ) -> list[TurnExpectation]:
    """The expectations of one reply: its scripted turn's and the conversation's must-nots on
    the reply itself, the conversation's musts on all the conversation's replies."""
    return [*_turn_scope(scenario, reply),
            *conversation_musts(_musts(scenario), conversation_replies)]


def conversation_musts(must: list[Expectation], replies: list[q.Reply]) -> list[TurnExpectation]:
    """A whole-conversation `must` passes when any reply meets it."""
    per_reply = [evaluate_expectations(r.text, must) for r in replies]
    out = []
    for i, e in enumerate(must):
        checked = [o[i].passed for o in per_reply]
        passed = None if e.check is None else any(bool(p) for p in checked)
        out.append(TurnExpectation("conversation", str(e.kind), str(e.check) if e.check else None,
                                   e.text, passed))
    return out


def expectation_outcomes_for_turn(engine: sa.Engine, turn_id: int) -> list[TurnExpectation]:
    """The scenario's expectations applied to one bot reply, for the scoring page to show
    beside the human scores. Empty when the reply has no scenario (e.g. an imported log)."""
    with session_scope(engine) as s:
        reply = q.reply_of_turn(session=s, turn_id=turn_id)
        if reply is None or reply.scenario_snapshot_id is None:
            return []
        scenario = scenario_of(session=s, snapshot_id=reply.scenario_snapshot_id)
        siblings = q.replies_of_conversations(session=s,
                                              conversation_ids=[reply.conversation_id])
    return reply_outcomes(scenario, reply, siblings)


@dataclass
class ConversationChecks:
    """All mechanically checked expectations of one conversation."""

    conversation_id: int
    scenario_id: str | None
    repeat_index: int | None
    outcomes: list[TurnExpectation] = field(default_factory=list)

    @property
    def pass_rate(self) -> float | None:
        checked = [o.passed for o in self.outcomes if o.passed is not None]
        return sum(checked) / len(checked) if checked else None

    def by_check(self) -> dict[str, float]:
        """Pass rate per check name (e.g. mentions_112), over this conversation."""
        groups: dict[str, list[bool]] = {}
        for o in self.outcomes:
            if o.check is not None and o.passed is not None:
                groups.setdefault(f"{o.kind}:{o.check}", []).append(o.passed)
        return {k: sum(v) / len(v) for k, v in groups.items()}


def conversation_checks(session: Session, replies: list[q.Reply]) -> dict[int, ConversationChecks]:
    """Per conversation: each reply's turn-scope outcomes plus the conversation's musts once."""
    by_conv: dict[int, list[q.Reply]] = {}
    for r in replies:
        by_conv.setdefault(r.conversation_id, []).append(r)
    out: dict[int, ConversationChecks] = {}
    for cid, conv_replies in by_conv.items():
        first = conv_replies[0]
        checks = ConversationChecks(cid, first.scenario_id, first.repeat_index)
        if first.scenario_snapshot_id is not None:
            scenario = scenario_of(session=session, snapshot_id=first.scenario_snapshot_id)
            for r in conv_replies:
                checks.outcomes += _turn_scope(scenario, r)
            checks.outcomes += conversation_musts(_musts(scenario), conv_replies)
        out[cid] = checks
    return out


# --- gold references ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    text: str
    source: str  # curated | adjudicated | rating
    from_turn_id: int
    same_turn: bool  # written for this very reply, not borrowed from the same scenario position


def _best(cands: list[q.ReferenceCandidate]) -> q.ReferenceCandidate:
    return sorted(cands, key=lambda c: (c.tier, -(c.at.timestamp() if c.at else 0.0),
                                        -c.turn_id))[0]


def position_key(reply: q.Reply) -> tuple[str, int, str] | None:
    """Where a scripted reply sits: (scenario, reply position, the user message it answers)."""
    if reply.scenario_id is None or reply.kind not in SCRIPTED_KINDS:
        return None
    return (reply.scenario_id, reply.ordinal, " ".join((reply.user_text or "").split()))


def position_references(session: Session, keys: set[tuple[str, int, str]]
                        ) -> dict[tuple[str, int, str], Reference]:
    """The best reference written for any reply at each scenario position."""
    if not keys:
        return {}
    cands = q.reference_candidates(session=session, scenario_ids={k[0] for k in keys})
    if not cands:
        return {}
    conv_ids = q.conversation_ids_of_turns(session=session, turn_ids={c.turn_id for c in cands})
    turn_conv = {r.turn_id: r for r in q.replies_of_conversations(session=session,
                                                                  conversation_ids=conv_ids)}
    grouped: dict[tuple[str, int, str], list[q.ReferenceCandidate]] = {}
    for c in cands:
        reply = turn_conv.get(c.turn_id)
        key = position_key(reply) if reply is not None else None
        if key in keys:
            grouped.setdefault(key, []).append(c)  # type: ignore[arg-type]
    out = {}
    for key, group in grouped.items():
        best = _best(group)
        out[key] = Reference(best.text, SOURCE_NAMES[best.tier], best.turn_id, False)
    return out


def references_for(session: Session, replies: list[q.Reply]) -> dict[int, Reference]:
    """turn_id → gold reference, for the replies that have one (see the module docstring)."""
    own: dict[int, list[q.ReferenceCandidate]] = {}
    for c in q.reference_candidates(session=session, turn_ids=[r.turn_id for r in replies]):
        own.setdefault(c.turn_id, []).append(c)
    out: dict[int, Reference] = {}
    for tid, group in own.items():
        best = _best(group)
        out[tid] = Reference(best.text, SOURCE_NAMES[best.tier], best.turn_id, True)
    rest = {r.turn_id: position_key(r) for r in replies if r.turn_id not in out}
    by_key = position_references(session, {k for k in rest.values() if k is not None})
    for tid, key in rest.items():
        if key is not None and key in by_key:
            out[tid] = by_key[key]
    return out
