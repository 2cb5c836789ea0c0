"""Curation: every scored reply becomes a curated example with a state and tags, which lead
experts review one by one or in bulk.

States: gold = decided (adjudicated, or every rater gave the same values), accepted = usable,
rejected = not to be used, needs_review = nobody has looked yet. Every write names the
`lock_version` it read; a stale one raises `ConflictError` and writes nothing, so two leads
never overwrite each other silently. Who may curate: a facilitator, or an expert marked lead.

Adjudication lives in `_adjudication`, withdrawal in `_withdrawal`; what curation hands to
export is read by the export context (`services.export.curated_examples_for_export`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from workbench.domain.disputes import unanimous
from workbench.domain.enums import Audience, CurationState, Role
from workbench.services.curation._agreement import excerpt
from workbench.services.curation._facts import example_facts
from workbench.services.errors import UserError
from workbench.storage import repo, repo_curation
from workbench.storage.db import session_scope
from workbench.storage.tables import CuratedExample, Participant, Rating, utcnow

CONFLICT_MESSAGE = "someone else changed this example since you opened it"


class CurationError(UserError):
    """A curation request that cannot be done; `key` is an i18n key."""


class ConflictError(CurationError):
    """The example changed after it was read: reload, look again, then decide."""

    def __init__(self, example_id: int, read: int | None, now: int | None) -> None:
        super().__init__("curation.errors.conflict", example=example_id)
        self.example_id, self.read_version, self.current_version = example_id, read, now

    def __str__(self) -> str:
        return (f"{CONFLICT_MESSAGE} (example {self.example_id}: you opened version "
                f"{self.read_version}, it is now at version {self.current_version})")


def require_lead(session: Session, participant_id: int) -> Participant:
    """The participant, if they may adjudicate and curate; else CurationError."""
    p = session.get(Participant, participant_id)
    if p is None or not p.active or p.withdrawn_at is not None or not (
            p.role == Role.facilitator or (p.role == Role.expert and p.is_lead)):
        raise CurationError("curation.errors.not_lead")
    return p


def can_curate(*, engine: sa.Engine, participant_id: int) -> bool:
    """May this person adjudicate and curate (a facilitator or a lead expert)?"""
    with session_scope(engine) as s:
        try:
            require_lead(s, participant_id)
        except CurationError:
            return False
    return True


@dataclass(frozen=True)
class CuratedView:
    id: int
    turn_id: int
    lock_version: int
    state: CurationState
    tags: tuple[str, ...]
    ideal_reply: str | None
    score: float | None
    scores: dict[str, float]
    unsafe: bool
    adjudicated: bool
    n_ratings: int
    reply_excerpt: str
    scenario_id: str | None
    scenario_title: str | None
    risk_level: str | None
    violence_forms: tuple[str, ...]
    training_day_id: int | None
    updated_at: datetime


@dataclass(frozen=True)
class CurationFilter:
    """Empty collections and None mean: do not filter on this."""

    training_day_id: int | None = None
    scenario_ids: frozenset[str] = frozenset()
    violence_forms: frozenset[str] = frozenset()
    risk_levels: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()  # curators' tags, any of
    criterion: str | None = None
    below: float | None = None  # the criterion's score is below this
    unsafe: bool | None = None

    def matches(self, v: CuratedView) -> bool:
        if self.scenario_ids and v.scenario_id not in self.scenario_ids:
            return False
        if self.violence_forms and not self.violence_forms & set(v.violence_forms):
            return False
        if self.risk_levels and v.risk_level not in self.risk_levels:
            return False
        if self.states and str(v.state) not in self.states:
            return False
        if self.tags and not self.tags & set(v.tags):
            return False
        if self.unsafe is not None and v.unsafe != self.unsafe:
            return False
        if self.criterion and self.below is not None:
            value = v.scores.get(self.criterion)
            return value is not None and value < self.below
        return True


@dataclass(frozen=True)
class SyncResult:
    created: int
    refreshed: int


@dataclass(frozen=True)
class BulkResult:
    updated: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)  # changed by someone else: untouched
    refused: list[int] = field(default_factory=list)  # gold asked for an undecided example


def sync_curated_examples(*, engine: sa.Engine, training_day_id: int | None = None
                          ) -> SyncResult:
    """Give every reply with counted expert ratings a curated example (idempotent).

    New examples start as gold when adjudicated or unanimous, else needs_review. Examples no
    person has touched yet follow new ratings; touched ones are left alone.
    """
    try:
        return _sync(engine, training_day_id)
    except IntegrityError:
        # Two leads opened the page at once and both inserted an example for the same reply
        # (turn_id is unique): the other one's rows are there now, so a second pass is clean.
        return _sync(engine, training_day_id)


def _sync(engine: sa.Engine, training_day_id: int | None) -> SyncResult:
    created = refreshed = 0
    with session_scope(engine) as s:
        expert_rvs = [rv.id or 0 for rv in repo_curation.rubric_versions(session=s)
                      if rv.audience == Audience.expert]
        by_turn: dict[int, list[Rating]] = {}
        for r in repo_curation.counted_ratings(session=s, training_day_id=training_day_id,
                                               rubric_version_ids=expert_rvs):
            by_turn.setdefault(r.turn_id, []).append(r)
        decided = repo_curation.latest_adjudications(session=s)
        existing = {row[0].turn_id: row[0] for row in repo_curation.curated_rows(
            session=s, training_day_id=training_day_id, include_withdrawn=True)}
        for turn_id, ratings in by_turn.items():
            rv_id = max(r.rubric_version_id for r in ratings)  # the newest rubric decides
            mine = [r for r in ratings if r.rubric_version_id == rv_id]
            adj = decided.get(turn_id)
            adjudicated = adj is not None and adj.rubric_version_id == rv_id
            state = (CurationState.gold if adjudicated or unanimous([r.values for r in mine])
                     else CurationState.needs_review)
            overall = [r.overall for r in mine if r.overall is not None]
            score = (adj.final_overall if adj is not None and adjudicated
                     else sum(overall) / len(overall) if overall else None)
            ex = existing.get(turn_id)
            if ex is None:
                s.add(CuratedExample(turn_id=turn_id, state=state, score=score,
                                     rubric_version_id=rv_id))
                created += 1
            elif ex.updated_by is None and not ex.withdrawn and (
                    (ex.state, ex.score, ex.rubric_version_id) != (state, score, rv_id)):
                # Under the lock like any edit: if a lead saved it meanwhile, theirs stands.
                refreshed += repo_curation.compare_and_set(
                    session=s, example_id=ex.id or 0, lock_version=ex.lock_version,
                    values={"state": str(state), "score": score, "rubric_version_id": rv_id,
                            "updated_at": utcnow()})
        if created or refreshed:
            repo.audit(session=s, action="curation.sync", entity="training_day",
                       entity_id=training_day_id,
                       details={"created": created, "refreshed": refreshed})
    return SyncResult(created, refreshed)


def list_examples(*, engine: sa.Engine, filters: CurationFilter = CurationFilter()
                  ) -> list[CuratedView]:
    """Curated examples (not withdrawn) that pass the filters, in id order."""
    with session_scope(engine) as s:
        views = _views(s, filters.training_day_id)
    return [v for v in views if filters.matches(v)]


def get_example(*, engine: sa.Engine, example_id: int) -> CuratedView:
    with session_scope(engine) as s:
        rows = repo_curation.curated_rows(session=s, example_ids=[example_id])
        found = _views(s, rows[0][2].training_day_id, [example_id]) if rows else []
    if not found:
        raise CurationError("curation.errors.not_found", example=example_id)
    return found[0]


def _views(session: Session, training_day_id: int | None,
           example_ids: Collection[int] | None = None) -> list[CuratedView]:
    rows = repo_curation.curated_rows(session=session, training_day_id=training_day_id,
                                      example_ids=example_ids)
    facts = example_facts(session=session, training_day_id=training_day_id,
                          example_ids=example_ids)
    views = []
    for ex, turn, conv, snap, _ in rows:
        f = facts[ex.id or 0]
        views.append(CuratedView(
            id=ex.id or 0, turn_id=ex.turn_id, lock_version=ex.lock_version,
            state=CurationState(ex.state), tags=tuple(ex.tags), ideal_reply=ex.ideal_reply,
            score=f.overall if f.overall is not None else ex.score, scores=f.scores,
            unsafe=f.unsafe, adjudicated=f.adjudicated, n_ratings=f.n_ratings,
            reply_excerpt=excerpt(turn.content),
            scenario_id=snap.scenario_id if snap else None,
            scenario_title=snap.title if snap else None,
            risk_level=str(snap.risk_level) if snap else None,
            violence_forms=tuple(snap.tags) if snap else (),
            training_day_id=conv.training_day_id, updated_at=ex.updated_at,
        ))
    return views


def _decided(session: Session, ex: CuratedExample) -> bool:
    """May this example be gold: adjudicated under its rubric, or unanimous?"""
    adj = repo_curation.latest_adjudications(session=session, turn_ids=[ex.turn_id])
    if ex.turn_id in adj and adj[ex.turn_id].rubric_version_id == ex.rubric_version_id:
        return True
    ratings = repo_curation.counted_ratings(
        session=session, turn_ids=[ex.turn_id],
        rubric_version_ids=None if ex.rubric_version_id is None else [ex.rubric_version_id])
    return unanimous([r.values for r in ratings])


class _Unchanged:
    """The ideal reply is left as it is (None would clear it)."""


UNCHANGED = _Unchanged()


def update_example(
    *, engine: sa.Engine, example_id: int, lock_version: int, actor_id: int,
    state: CurationState | str | None = None, tags: Collection[str] | None = None,
    ideal_reply: str | None | _Unchanged = UNCHANGED,
) -> CuratedView:
    """Change one example's state, tags and/or ideal reply, if it is still at `lock_version`."""
    with session_scope(engine) as s:
        actor = require_lead(s, actor_id)
        ex = s.get(CuratedExample, example_id)
        if ex is None:
            raise CurationError("curation.errors.not_found", example=example_id)
        if ex.withdrawn:
            raise CurationError("curation.errors.withdrawn", example=example_id)
        if ex.lock_version != lock_version:
            raise ConflictError(example_id, lock_version, ex.lock_version)
        values: dict[str, object] = {"updated_by": actor.id, "updated_at": utcnow()}
        if state is not None:
            if CurationState(state) == CurationState.gold and not _decided(s, ex):
                raise CurationError("curation.errors.gold_needs_decision", example=example_id)
            values["state"] = str(CurationState(state))
        if tags is not None:
            values["tags"] = sorted({t.strip() for t in tags if t.strip()})
        if not isinstance(ideal_reply, _Unchanged):
            text = (ideal_reply or "").strip()
            values["ideal_reply"] = text or None
            values["ideal_reply_author_id"] = actor.id if text else None
        if not repo_curation.compare_and_set(session=s, example_id=example_id,
                                             lock_version=lock_version, values=values):
            s.refresh(ex)
            raise ConflictError(example_id, lock_version, ex.lock_version)
        changed = sorted(k for k in values if k not in ("updated_by", "updated_at"))
        repo.audit(session=s, action="curation.update", actor=actor.code,
                   entity="curated_example", entity_id=example_id,
                   details={"fields": changed, "state": values.get("state"),
                            "tags": values.get("tags"), "lock_version": lock_version + 1})
    return get_example(engine=engine, example_id=example_id)


def bulk_update(
    *, engine: sa.Engine, versions: Mapping[int, int], actor_id: int,
    state: CurationState | str | None = None, add_tags: Collection[str] = (),
    remove_tags: Collection[str] = (),
) -> BulkResult:
    """Apply one action to the examples a lead saw (example id → lock_version as shown).

    Each example is updated only if it is unchanged since it was shown; the others are
    reported as conflicts and left alone. One transaction, one audit event.
    """
    result = BulkResult()
    add = {t.strip() for t in add_tags if t.strip()}
    drop = {t.strip() for t in remove_tags if t.strip()}
    with session_scope(engine) as s:
        actor = require_lead(s, actor_id)
        for example_id, version in sorted(versions.items()):
            ex = s.get(CuratedExample, example_id)
            if ex is None or ex.withdrawn or ex.lock_version != version:
                result.conflicts.append(example_id)
                continue
            values: dict[str, object] = {"updated_by": actor.id, "updated_at": utcnow()}
            if state is not None:
                if CurationState(state) == CurationState.gold and not _decided(s, ex):
                    result.refused.append(example_id)
                    continue
                values["state"] = str(CurationState(state))
            if add or drop:
                values["tags"] = sorted((set(ex.tags) | add) - drop)
            if repo_curation.compare_and_set(session=s, example_id=example_id,
                                             lock_version=version, values=values):
                result.updated.append(example_id)
            else:
                result.conflicts.append(example_id)
        repo.audit(session=s, action="curation.bulk", actor=actor.code,
                   entity="curated_example",
                   details={"state": None if state is None else str(state),
                            "add_tags": sorted(add), "remove_tags": sorted(drop),
                            "updated": result.updated, "conflicts": result.conflicts,
                            "refused": result.refused})
    return result
