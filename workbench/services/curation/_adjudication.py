"""The disagreement queue and adjudication by a lead expert.

The queue holds replies rated by two or more raters under an expert-audience rubric on which
they disagree: any split on a critical criterion or on the unsafe verdict first, then by spread.
An adjudication records the final per-criterion scores, the final ideal reply (one rater's
rewrite, written new, or none when the lead settles the scores only), the reason, who and when;
the raters' own ratings are never changed.
The reply's curated example becomes gold under the same optimistic lock as any curation edit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench.domain.disputes import agreed_value, disagreement_order
from workbench.domain.enums import Audience, CurationState, ScaleKind
from workbench.domain.scoring import ScoreError, normalise_value, score
from workbench.services.curation._agreement import excerpt
from workbench.services.curation._curation import ConflictError, CurationError, require_lead
from workbench.storage import repo, repo_curation
from workbench.storage.db import session_scope
from workbench.storage.snapshots import rubric_of
from workbench.storage.tables import Adjudication, CuratedExample, Turn, utcnow

UNSAFE = "unsafe"  # the raters' unsafe verdicts, treated as one more critical yes/no question


@dataclass(frozen=True)
class QueueItem:
    turn_id: int
    rubric_version_id: int
    critical_disagreement: bool
    spread: float
    criteria_in_dispute: list[str]
    n_ratings: int
    adjudicated: bool
    reply_excerpt: str
    scenario_title: str | None
    reply_number: int = 0  # which bot reply of its conversation (1 = the first)
    # criterion key → its name in the rubric; the raters' unsafe verdict ("unsafe") has none
    criterion_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RaterView:
    rating_id: int
    rater: str  # participant code
    rater_id: int
    values: dict[str, Any]
    overall: float | None
    unsafe: bool
    unsafe_span: str | None
    comment: str | None
    ideal_reply: str | None


@dataclass(frozen=True)
class CriterionView:
    key: str
    name: str
    yes_no: bool
    critical: bool
    anchors: dict[Any, str]


@dataclass(frozen=True)
class DisputeDetail:
    turn_id: int
    rubric_version_id: int
    criteria: list[CriterionView]
    context: list[tuple[str, str]]  # (role, text) before the reply
    reply: str
    scenario_title: str | None
    ratings: list[RaterView]
    latest: Adjudication | None
    example_id: int | None
    lock_version: int | None  # of the curated example, None when there is none yet
    # Where every rater gave the same value: criterion key (or UNSAFE) → that value. The form
    # starts from these only; where raters differ it starts empty (see agreed_value).
    agreed: dict[str, Any] = field(default_factory=dict)
    self_scored: bool = False  # the viewer (a lead) rated this reply themselves


@dataclass
class Decision:
    """What the lead decides. Exactly one of ideal_reply_rating_id / ideal_reply_text, or
    neither with settle_scores_only (the scores are settled, the ideal reply is left as it
    is). unsafe_flag None means the lead has not said yet, which is refused."""

    values: dict[str, Any]
    reason: str
    ideal_reply_rating_id: int | None = None
    ideal_reply_text: str | None = None
    unsafe_flag: bool | None = False
    settle_scores_only: bool = False


def _expert_rubric_ids(session: Any, rubric_version_id: int | None) -> list[int]:
    if rubric_version_id is not None:
        return [rubric_version_id]
    return [rv.id or 0 for rv in repo_curation.rubric_versions(session=session)
            if rv.audience == Audience.expert]


def disagreement_queue(
    *, engine: sa.Engine, training_day_id: int | None = None,
    rubric_version_id: int | None = None, include_adjudicated: bool = False,
) -> list[QueueItem]:
    """Disputed replies, most urgent first (see the module docstring). Replies everyone agreed
    on are not in the queue; adjudicated ones only with include_adjudicated."""
    with session_scope(engine) as s:
        rv_ids = _expert_rubric_ids(s, rubric_version_id)
        ratings = repo_curation.counted_ratings(session=s, training_day_id=training_day_id,
                                                rubric_version_ids=rv_ids)
        decided = repo_curation.latest_adjudications(session=s)
        critical = {rv: set(rubric_of(session=s, rubric_version_id=rv).critical_keys) | {UNSAFE}
                    for rv in {r.rubric_version_id for r in ratings}}
        items: dict[tuple[int, int], dict[str, list[Any]]] = defaultdict(
            lambda: defaultdict(list))
        for r in ratings:
            by_criterion = items[(r.rubric_version_id, r.turn_id)]
            for key, value in r.values.items():
                by_criterion[key].append(value)
            by_criterion[UNSAFE].append(not r.unsafe)  # False = the worst answer, as "no"
        ranked = []
        for position, ((rv, turn_id), by_criterion) in enumerate(items.items()):
            adjudicated = turn_id in decided and decided[turn_id].rubric_version_id == rv
            if len(by_criterion[UNSAFE]) < 2 or (adjudicated and not include_adjudicated):
                continue
            d = disagreement_order({turn_id: by_criterion}, critical[rv])[0]
            if d.spread > 0 or d.critical_disagreement:
                ranked.append(((not d.critical_disagreement, -d.spread, position),
                               rv, d, len(by_criterion[UNSAFE]), adjudicated))
        ranked.sort(key=lambda x: x[0])
        wanted = {int(d.item_id) for _, _, d, _, _ in ranked}
        facts = repo_curation.reply_facts(session=s, turn_ids=wanted)
        numbers = repo_curation.reply_numbers(session=s, turn_ids=wanted)
        names = {rv: {c.key: c.name for c in rubric_of(session=s, rubric_version_id=rv).criteria}
                 for rv in {rv for _, rv, _, _, _ in ranked}}
    return [QueueItem(int(d.item_id), rv, d.critical_disagreement, d.spread,
                      d.criteria_in_dispute, n, adjudicated,
                      excerpt(facts[int(d.item_id)][0]), facts[int(d.item_id)][2],
                      numbers.get(int(d.item_id), 0), names[rv])
            for _, rv, d, n, adjudicated in ranked]


def dispute_detail(*, engine: sa.Engine, turn_id: int, rubric_version_id: int,
                   viewer_id: int | None = None) -> DisputeDetail:
    """Everything the adjudication form shows: context, reply, every rater's rating, the rubric,
    what all raters agreed on, and whether the viewer rated this reply themselves."""
    with session_scope(engine) as s:
        turn = s.get(Turn, turn_id)
        if turn is None or turn.withdrawn:
            raise CurationError("curation.errors.adjudication_not_found", turn=turn_id)
        rubric = rubric_of(session=s, rubric_version_id=rubric_version_id)
        ratings = repo_curation.counted_ratings(session=s, turn_ids=[turn_id],
                                                rubric_version_ids=[rubric_version_id])
        codes = repo_curation.participant_codes(session=s, ids={r.rater_id for r in ratings})
        turns = repo_curation.conversation_turns(session=s,
                                                 conversation_ids=[turn.conversation_id])
        facts = repo_curation.reply_facts(session=s, turn_ids=[turn_id])
        latest = repo_curation.latest_adjudications(session=s, turn_ids=[turn_id]).get(turn_id)
        ex = repo_curation.curated_by_turn(session=s, turn_ids=[turn_id]).get(turn_id)
        return DisputeDetail(
            turn_id=turn_id, rubric_version_id=rubric_version_id,
            criteria=[CriterionView(c.key, c.name, c.scale == ScaleKind.yes_no, c.critical,
                                    dict(c.anchors)) for c in rubric.criteria],
            context=[(str(t.role), t.content) for t in turns[turn.conversation_id]
                     if t.index < turn.index and not t.withdrawn],
            reply=turn.content, scenario_title=facts[turn_id][2],
            ratings=[RaterView(r.id or 0, codes.get(r.rater_id, "?"), r.rater_id, dict(r.values),
                               r.overall, r.unsafe, r.unsafe_span, r.comment, r.ideal_reply)
                     for r in ratings],
            latest=latest, example_id=None if ex is None else ex.id,
            lock_version=None if ex is None else ex.lock_version,
            agreed=_agreed(rubric.criteria, ratings),
            self_scored=viewer_id is not None and any(r.rater_id == viewer_id for r in ratings),
        )


def _agreed(criteria: Any, ratings: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in criteria:
        value = agreed_value([r.values.get(c.key) for r in ratings])
        if value is not None:
            out[c.key] = ("yes" if value else "no") if c.scale == ScaleKind.yes_no else value
    unsafe = agreed_value([r.unsafe for r in ratings])
    if unsafe is not None:
        out[UNSAFE] = unsafe
    return out


def adjudicate(
    *, engine: sa.Engine, turn_id: int, rubric_version_id: int, adjudicator_id: int,
    decision: Decision, lock_version: int | None,
) -> Adjudication:
    """Record a lead's decision and make the reply's curated example gold.

    lock_version is the curated example's version the lead saw (None if there was none); if it
    changed meanwhile, ConflictError and nothing is written.
    """
    reason = decision.reason.replace("\x00", "").strip()  # PostgreSQL refuses NUL in text
    # Every problem at once (CurationError.more), each naming its field, so the lead fixes them
    # all in one go; the lead check and a malformed score still stop at once.
    problems: list[CurationError] = []
    if not reason:
        problems.append(CurationError("curation.errors.adjudication_reason_required",
                                      fields=["reason"]))
    if decision.unsafe_flag is None:
        problems.append(CurationError("curation.errors.adjudication_unsafe_required",
                                      fields=[UNSAFE]))
    with session_scope(engine) as s:
        lead = require_lead(s, adjudicator_id)
        turn = s.get(Turn, turn_id)
        if turn is None or turn.withdrawn:
            raise CurationError("curation.errors.adjudication_not_found", turn=turn_id)
        rubric = rubric_of(session=s, rubric_version_id=rubric_version_id)
        try:
            verdict = score(rubric, decision.values, flagged_unsafe=bool(decision.unsafe_flag))
            values = {k: v for k in decision.values
                      if (v := normalise_value(rubric, k, decision.values[k])) is not None}
        except ScoreError as exc:
            raise CurationError("curation.errors.adjudication_invalid_score",
                                detail=str(exc)) from exc
        if verdict.missing:
            problems.insert(0, CurationError(
                "curation.errors.adjudication_missing_scores", fields=verdict.missing,
                criteria=", ".join(rubric.criterion(k).name for k in verdict.missing)))
        try:
            ideal, author, chosen = _ideal_reply(s, turn_id, rubric_version_id, decision,
                                                 lead.id)
        except CurationError as exc:
            problems.append(exc)
        if problems:
            first = problems[0]
            raise CurationError(first.key, fields=first.fields, more=problems[1:], **first.fmt)
        adj = Adjudication(
            turn_id=turn_id, rubric_version_id=rubric_version_id, adjudicator_id=lead.id or 0,
            final_values=values, final_overall=verdict.overall, unsafe=verdict.unsafe,
            final_ideal_reply=ideal, chosen_from_rating_id=chosen, reason=reason,
        )
        s.add(adj)
        gold: dict[str, Any] = {"state": str(CurationState.gold), "score": verdict.overall,
                                "rubric_version_id": rubric_version_id, "updated_by": lead.id,
                                "updated_at": utcnow()}
        if not decision.settle_scores_only:  # settling only leaves the ideal reply as it is
            gold |= {"ideal_reply": ideal, "ideal_reply_author_id": author}
        ex = repo_curation.curated_by_turn(session=s, turn_ids=[turn_id]).get(turn_id)
        if ex is None and lock_version is None:
            try:
                with s.begin_nested():  # a second lead creating it at the same time loses
                    s.add(CuratedExample(turn_id=turn_id, **gold))  # type: ignore[arg-type]
            except IntegrityError as exc:
                raise ConflictError(0, None, None) from exc
        elif ex is None or ex.withdrawn or ex.lock_version != lock_version or not (
                repo_curation.compare_and_set(session=s, example_id=ex.id or 0,
                                              lock_version=lock_version, values=gold)):
            raise ConflictError(0 if ex is None else ex.id or 0, lock_version,
                                None if ex is None else ex.lock_version)
        s.flush()
        repo.audit(session=s, action="adjudication.create", actor=lead.code, entity="turn",
                   entity_id=turn_id,
                   details={"adjudication_id": adj.id, "rubric_version_id": rubric_version_id,
                            "chosen_from_rating_id": chosen,
                            "wrote_new_reply": chosen is None and ideal is not None,
                            "settled_scores_only": decision.settle_scores_only,
                            "self_scored": any(r.rater_id == lead.id for r in
                                               repo_curation.counted_ratings(
                                                   session=s, turn_ids=[turn_id],
                                                   rubric_version_ids=[rubric_version_id])),
                            "final_overall": verdict.overall, "unsafe": verdict.unsafe})
        return adj


def _ideal_reply(session: Any, turn_id: int, rubric_version_id: int, decision: Decision,
                 lead_id: int | None) -> tuple[str | None, int | None, int | None]:
    """(text, author participant id, chosen rating id) of the final ideal reply; all None when
    the lead settles the scores only."""
    text = (decision.ideal_reply_text or "").replace("\x00", "").strip()
    if decision.settle_scores_only:
        if text or decision.ideal_reply_rating_id is not None:
            raise CurationError("curation.errors.adjudication_settle_or_reply",
                                fields=["ideal_reply"])
        return None, None, None
    if (decision.ideal_reply_rating_id is None) == (not text):
        raise CurationError("curation.errors.adjudication_ideal_reply_required",
                            fields=["ideal_reply"])
    if text:
        return text, lead_id, None
    ratings = repo_curation.counted_ratings(session=session, turn_ids=[turn_id],
                                            rubric_version_ids=[rubric_version_id])
    chosen = next((r for r in ratings if r.id == decision.ideal_reply_rating_id), None)
    if chosen is None or not (chosen.ideal_reply or "").strip():
        raise CurationError("curation.errors.adjudication_bad_rewrite", fields=["ideal_reply"])
    return chosen.ideal_reply or "", chosen.rater_id, chosen.id
