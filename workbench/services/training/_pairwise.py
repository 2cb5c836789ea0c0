"""Pairwise A/B: which of two replies to the same conversation context is better?

Two replies qualify as a pair when they answer the same scenario after exactly the same user
turns, and come from different prompt versions or bot targets. A pair is stored canonically
(`turn_a_id` < `turn_b_id`) and `choice` refers to those two turns; which one a rater saw on the
left is drawn per rater and recorded in `left_turn_id` (a seeded draw, so a refresh shows the same
sides), which lets position bias be measured later.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import PairwiseChoice, TurnRole
from workbench.services.errors import UserError
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import PairwiseJudgement, ScenarioSnapshot, Turn


@dataclass(frozen=True)
class PairItem:
    turn_a_id: int
    turn_b_id: int
    left_turn_id: int
    right_turn_id: int
    scenario_id: str
    context: list[tuple[str, str]]  # (role, text) shared by both replies
    left_text: str
    right_text: str
    scenario_title: str = ""
    risk_level: str | None = None
    training_day_id: int | None = None


@dataclass(frozen=True)
class PairQueue:
    """The next pair for a rater and why there may be none: `own_left_out` pairs were left
    out because a reply in them answers the rater's own role-play (nobody judges their own
    conversation), `judged` are the pairs this rater has already judged."""

    item: PairItem | None
    remaining: int
    judged: int
    own_left_out: int


def _context_key(scenario_id: str, user_texts: list[str]) -> str:
    h = hashlib.sha256(scenario_id.encode())
    for text in user_texts:
        h.update(b"\x00" + text.strip().encode())
    return h.hexdigest()


def left_turn_for(rater_id: int, turn_a_id: int, turn_b_id: int) -> int:
    """The side this rater sees on the left: random per rater and pair, stable across refreshes."""
    rng = random.Random(f"{rater_id}:{turn_a_id}:{turn_b_id}")
    return turn_a_id if rng.random() < 0.5 else turn_b_id


def next_pair(*, engine: sa.Engine, rater_id: int, training_day_id: int | None = None
              ) -> PairItem | None:
    """The next pair this rater has not judged, oldest context first."""
    return pair_queue(engine=engine, rater_id=rater_id, training_day_id=training_day_id).item


def pair_queue(*, engine: sa.Engine, rater_id: int, training_day_id: int | None = None
               ) -> PairQueue:
    """The next pair for this rater (on one training day, or all), with the counts the page
    uses to say why there is none."""
    with session_scope(engine) as s:
        rows = repo_training.pair_candidate_turns(session=s, training_day_id=training_day_id)
        conv_ids = sorted({c.id or 0 for _, c, _ in rows})
        users = repo_training.user_texts_before(session=s, conversation_ids=conv_ids)
        done = repo_training.judged_pairs(session=s, rater_id=rater_id)
        groups: dict[str, list[tuple[Turn, tuple[int | None, int | None], bool]]] = {}
        for turn, conv, scenario_id in rows:
            before = [text for idx, text in users.get(conv.id or 0, []) if idx < turn.index]
            if not before:
                continue
            source = (conv.bot_target_id, turn.prompt_version_id or conv.prompt_version_id)
            own = conv.participant_id == rater_id
            groups.setdefault(_context_key(scenario_id, before), []).append((turn, source, own))
        candidates: list[tuple[int, int]] = []
        own_left_out = judged = 0
        for members in groups.values():
            members.sort(key=lambda m: m[0].id or 0)
            for i, (t1, src1, own1) in enumerate(members):
                for t2, src2, own2 in members[i + 1:]:
                    pair = (t1.id or 0, t2.id or 0)
                    if src1 == src2:
                        continue
                    if own1 or own2:
                        own_left_out += 1  # never judge your own role-play
                    elif pair in done:
                        judged += 1
                    else:
                        candidates.append(pair)
        item = _item(s, rater_id, *min(candidates)) if candidates else None
        return PairQueue(item, len(candidates), judged, own_left_out)


def _item(s: Session, rater_id: int, turn_a_id: int, turn_b_id: int) -> PairItem:
    a, b = s.get(Turn, turn_a_id), s.get(Turn, turn_b_id)
    if a is None or b is None:
        raise repo.NotFound(f"turns {turn_a_id}, {turn_b_id}")
    conv = repo.get_conversation(session=s, conversation_id=a.conversation_id)
    snap = s.get(ScenarioSnapshot, conv.scenario_snapshot_id) \
        if conv.scenario_snapshot_id is not None else None
    context = [(str(t.role), t.content) for t in repo_training.turns_up_to(session=s, turn=a)
               if t.id != a.id and t.role in (TurnRole.user, TurnRole.assistant)]
    left = left_turn_for(rater_id, turn_a_id, turn_b_id)
    right_turn = b if left == turn_a_id else a
    left_turn = a if left == turn_a_id else b
    return PairItem(turn_a_id=turn_a_id, turn_b_id=turn_b_id, left_turn_id=left,
                    right_turn_id=right_turn.id or 0,
                    scenario_id=snap.scenario_id if snap else "", context=context,
                    left_text=left_turn.content, right_text=right_turn.content,
                    scenario_title=snap.title if snap else "",
                    risk_level=str(snap.risk_level) if snap else None,
                    training_day_id=conv.training_day_id)


def record_pair(*, engine: sa.Engine, rater_id: int, item: PairItem, preferred: str,
           reason: str | None = None) -> int:
    """Store the judgement. `preferred` is what the rater clicked: "left", "right" or "tie";
    it is translated to the canonical a/b. Judging the same pair again keeps the first answer."""
    if preferred not in ("left", "right", "tie"):
        raise UserError("pairwise.bad_choice")
    if preferred == "tie":
        choice = PairwiseChoice.tie
    else:
        winner = item.left_turn_id if preferred == "left" else item.right_turn_id
        choice = PairwiseChoice.a if winner == item.turn_a_id else PairwiseChoice.b
    for attempt in (1, 2):
        try:
            with session_scope(engine) as s:
                found = repo_training.get_judgement(session=s, rater_id=rater_id,
                                                    turn_a_id=item.turn_a_id,
                                                    turn_b_id=item.turn_b_id)
                if found is not None:
                    return found.id or 0
                j = PairwiseJudgement(rater_id=rater_id, turn_a_id=item.turn_a_id,
                                      turn_b_id=item.turn_b_id, left_turn_id=item.left_turn_id,
                                      choice=choice, reason=(reason or "").strip() or None)
                s.add(j)
                s.flush()
                return j.id or 0
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
