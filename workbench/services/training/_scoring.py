"""Scoring replies with a rubric: the rater's queue, drafts and submits.

The queue respects the day's overlap, never offers a rater their own conversation and resumes
their drafts first. Scoring is blind: nothing here returns another rater's values. A submit is one
transaction; submitting twice changes nothing (the UNIQUE (rater, turn, rubric version)
constraint plus `repo.upsert_rating`, with one retry when two submits race on PostgreSQL).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import (
    ConversationKind,
    RatingSource,
    RatingStatus,
    RiskLevel,
    TurnRole,
    TurnStatus,
)
from workbench.domain.rubrics import Rubric
from workbench.domain.scoring import ScoreError, Verdict, score
from workbench.services.errors import UserError
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.snapshots import rubric_of, scenario_of
from workbench.storage.tables import Conversation, TrainingDay, Turn


class ScoringError(UserError):
    pass


@dataclass
class RatingInput:
    """What a rater filled in. `values` maps criterion key to 1–5, or "yes"/"no"/bool."""

    values: dict[str, Any] = field(default_factory=dict)
    comment: str | None = None
    ideal_reply: str | None = None
    unsafe_flag: bool = False
    unsafe_span: str | None = None


@dataclass(frozen=True)
class ScenarioInfo:
    scenario_id: str
    title: str
    risk_level: RiskLevel
    writer: str
    situation: str
    expectations: list[tuple[str, str]]  # (must | must_not, text)


@dataclass(frozen=True)
class ScoringItem:
    turn_id: int
    conversation_id: int
    rubric_version_id: int
    rubric: Rubric
    context: list[tuple[str, str]]  # (role, text) before the reply, oldest first
    reply: str
    scenario: ScenarioInfo | None
    draft: RatingInput | None
    submitted: bool


@dataclass(frozen=True)
class SubmitResult:
    rating_id: int
    overall: float | None
    unsafe: bool
    already_submitted: bool


def _scenario_info(session: Session, conv: Conversation, user_turns: int) -> ScenarioInfo | None:
    if conv.scenario_snapshot_id is None:
        return None
    sc = scenario_of(session=session, snapshot_id=conv.scenario_snapshot_id)
    expectations = [(str(e.kind), e.text) for e in sc.expectations]
    # A scripted reply answers scripted turn n: that turn's own expectations apply as well.
    if conv.kind in (ConversationKind.scripted, ConversationKind.batch) \
            and 0 < user_turns <= len(sc.scripted_turns):
        expectations = [(str(e.kind), e.text)
                        for e in sc.scripted_turns[user_turns - 1].expectations] + expectations
    return ScenarioInfo(scenario_id=sc.id, title=sc.title, risk_level=sc.risk_level,
                        writer=str(sc.writer), situation=sc.situation, expectations=expectations)


def _draft_of(rating: Any) -> RatingInput:
    return RatingInput(values=dict(rating.values), comment=rating.comment,
                       ideal_reply=rating.ideal_reply, unsafe_flag=rating.unsafe_flag,
                       unsafe_span=rating.unsafe_span)


def scoring_rubric(*, engine: sa.Engine, rubric_version_id: int) -> Rubric:
    """The rubric exactly as recorded under this version."""
    with session_scope(engine) as s:
        return rubric_of(session=s, rubric_version_id=rubric_version_id)


def load_item(*, engine: sa.Engine, rater_id: int, turn_id: int, rubric_version_id: int
              ) -> ScoringItem:
    """One reply with what the rater needs to judge it (and their own draft, if any)."""
    with session_scope(engine) as s:
        return _load(s, rater_id, turn_id, rubric_version_id)


def _load(s: Session, rater_id: int, turn_id: int, rubric_version_id: int) -> ScoringItem:
    turn = s.get(Turn, turn_id)
    if turn is None or turn.role != TurnRole.assistant:
        raise repo.NotFound(f"bot reply {turn_id}")
    conv = repo.get_conversation(session=s, conversation_id=turn.conversation_id)
    turns = repo_training.turns_up_to(session=s, turn=turn)
    context = [(str(t.role), t.content) for t in turns if t.id != turn.id
               and t.role in (TurnRole.user, TurnRole.assistant)]
    user_turns = sum(1 for role, _ in context if role == TurnRole.user)
    mine = repo.get_rating(session=s, rater_id=rater_id, turn_id=turn_id,
                           rubric_version_id=rubric_version_id)
    return ScoringItem(
        turn_id=turn_id, conversation_id=conv.id or 0, rubric_version_id=rubric_version_id,
        rubric=rubric_of(session=s, rubric_version_id=rubric_version_id), context=context,
        reply=turn.content, scenario=_scenario_info(s, conv, user_turns),
        draft=_draft_of(mine) if mine is not None else None,
        submitted=mine is not None and mine.status == RatingStatus.submitted,
    )


def next_turn_id(*, engine: sa.Engine, rater_id: int, training_day_id: int,
                 after_turn_id: int = 0) -> tuple[int, int] | None:
    """(turn id, rubric version id) of what this rater should score next on the day, or None."""
    with session_scope(engine) as s:
        return _next_turn_id(s, rater_id, training_day_id, after_turn_id)


def _next_turn_id(s: Session, rater_id: int, training_day_id: int,
                  after_turn_id: int) -> tuple[int, int] | None:
    day = s.get(TrainingDay, training_day_id)
    if day is None or day.expert_rubric_version_id is None:
        return None
    rv = day.expert_rubric_version_id
    if after_turn_id == 0:
        draft = repo_training.oldest_draft_turn_id(
            session=s, rater_id=rater_id, training_day_id=training_day_id,
            rubric_version_id=rv)
        if draft is not None:
            return draft, rv
    tid = repo_training.next_queue_turn_id(
        session=s, rater_id=rater_id, training_day_id=training_day_id,
        rubric_version_id=rv, overlap=day.overlap, after_turn_id=after_turn_id)
    return (tid, rv) if tid is not None else None


@dataclass(frozen=True)
class QueueProgress:
    """Where the rater is in their queue for the day: scoring item `position` of `total`."""

    done: int
    open: int

    @property
    def position(self) -> int:
        return self.done + (1 if self.open else 0)

    @property
    def total(self) -> int:
        return self.done + self.open


def queue_progress(*, engine: sa.Engine, rater_id: int, training_day_id: int
                   ) -> QueueProgress | None:
    """The counter beside the form ("3 van 12 in je rij"); None when the day has no rubric."""
    with session_scope(engine) as s:
        day = s.get(TrainingDay, training_day_id)
        if day is None or day.expert_rubric_version_id is None:
            return None
        done, open_ = repo_training.queue_counts(
            session=s, rater_id=rater_id, training_day_id=training_day_id,
            rubric_version_id=day.expert_rubric_version_id, overlap=day.overlap)
        return QueueProgress(done=done, open=open_)


def next_item(*, engine: sa.Engine, rater_id: int, training_day_id: int,
              after_turn_id: int = 0) -> ScoringItem | None:
    """The next reply to score, chosen and loaded in one read (one unit of work per rerun)."""
    with session_scope(engine) as s:
        found = _next_turn_id(s, rater_id, training_day_id, after_turn_id)
        if found is None:
            return None
        return _load(s, rater_id, found[0], found[1])


def _check(rubric: Rubric, reply: str, form: RatingInput, *, final: bool,
           require_complete: bool) -> Verdict:
    """The rubric's verdict on the form; every problem at once (`UserError.more`), each naming
    the fields it is about, so the form can show them all where they are."""
    try:
        verdict = score(rubric, form.values, flagged_unsafe=form.unsafe_flag)
    except ScoreError as exc:
        raise ScoringError("scoring.bad_value", detail=str(exc)) from exc
    problems: list[ScoringError] = []
    if final and require_complete and verdict.missing:
        names = ", ".join(rubric.criterion(k).name for k in verdict.missing)
        problems.append(ScoringError("scoring.incomplete", fields=verdict.missing,
                                     criteria=names))
    span = (form.unsafe_span or "").strip()
    if span and span not in reply:
        problems.append(ScoringError("scoring.span_not_in_reply", fields=["unsafe_span"]))
    if final and form.unsafe_flag and not span:
        problems.append(ScoringError("scoring.span_needed", fields=["unsafe_span"]))
    if problems:
        raise ScoringError(problems[0].key, fields=problems[0].fields, more=problems[1:],
                           **problems[0].fmt)
    return verdict


def _clean(text: str | None) -> str | None:
    return (text or "").replace("\x00", "").strip() or None


def _write(engine: sa.Engine, rater_id: int, turn_id: int, rubric_version_id: int,
           form: RatingInput, status: RatingStatus, require_complete: bool,
           time_spent_s: float | None) -> SubmitResult:
    final = status == RatingStatus.submitted
    # A pasted NUL byte carries no meaning and PostgreSQL refuses it in text: drop it first,
    # so the quote is checked against the reply as it will be stored.
    form = replace(form, comment=_clean(form.comment), ideal_reply=_clean(form.ideal_reply),
                   unsafe_span=_clean(form.unsafe_span))
    with session_scope(engine) as s:
        turn = s.get(Turn, turn_id)
        if turn is None or turn.role != TurnRole.assistant or turn.status != TurnStatus.ok:
            raise repo.NotFound(f"bot reply {turn_id}")
        rubric = rubric_of(session=s, rubric_version_id=rubric_version_id)
        verdict = _check(rubric, turn.content, form, final=final,
                         require_complete=require_complete)
        before = repo.get_rating(session=s, rater_id=rater_id, turn_id=turn_id,
                                 rubric_version_id=rubric_version_id)
        if before is not None and before.status == RatingStatus.submitted:
            return SubmitResult(rating_id=before.id or 0, overall=before.overall,
                                unsafe=before.unsafe, already_submitted=True)
        values = {k: v for k, v in form.values.items() if v is not None and v != ""}
        # Stored as ints so rating_score can mirror them: yes/no becomes 1/0.
        stored = {k: int(v) if isinstance(v, bool) else
                  (int(v in ("yes", "ja")) if isinstance(v, str) else v)
                  for k, v in values.items()}
        rating = repo.upsert_rating(
            session=s, rater_id=rater_id, turn_id=turn_id, rubric_version_id=rubric_version_id,
            values=stored, status=status, overall=verdict.overall, unsafe=verdict.unsafe,
            source=RatingSource.human, unsafe_flag=form.unsafe_flag,
            unsafe_span=(form.unsafe_span or "").strip() or None,
            comment=(form.comment or "").strip() or None,
            ideal_reply=(form.ideal_reply or "").strip() or None, time_spent_s=time_spent_s,
        )
        return SubmitResult(rating_id=rating.id or 0, overall=rating.overall,
                            unsafe=rating.unsafe, already_submitted=False)


_sqlite_writers: dict[str, threading.Lock] = {}


@contextmanager
def _one_writer(engine: sa.Engine) -> Iterator[None]:
    """On SQLite, let this process's raters write one at a time. SQLite's own busy wait polls
    with growing sleeps, so under a burst some writers starve past the busy timeout and hold
    pool connections meanwhile; a queue in the process is fairer. PostgreSQL needs none."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with _sqlite_writers.setdefault(str(engine.url), threading.Lock()):
        yield


def _write_once(engine: sa.Engine, *args: Any) -> SubmitResult:
    for attempt in range(3):
        try:
            with _one_writer(engine):
                return _write(engine, *args)
        except sa.exc.IntegrityError:
            # Two submits of the same rating raced (PostgreSQL, read committed): the other
            # won. Running again finds its row and returns it: nothing duplicated or lost.
            if attempt == 2:
                raise
        except sa.exc.OperationalError as exc:
            # Another process held SQLite's write lock past the busy timeout: try again.
            if "locked" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def save_draft(*, engine: sa.Engine, rater_id: int, turn_id: int, rubric_version_id: int,
               form: RatingInput) -> SubmitResult:
    """Keep what the rater has so far; incomplete is fine. A submitted rating is not reopened."""
    return _write_once(engine, rater_id, turn_id, rubric_version_id, form,
                       RatingStatus.draft, False, None)


def submit_rating(*, engine: sa.Engine, rater_id: int, turn_id: int, rubric_version_id: int,
           form: RatingInput, require_complete: bool = True,
           time_spent_s: float | None = None) -> SubmitResult:
    """Final rating: overall and unsafe computed by the rubric; an unsafe flag needs the quoted
    span, which must occur in the reply."""
    return _write_once(engine, rater_id, turn_id, rubric_version_id, form,
                       RatingStatus.submitted, require_complete, time_spent_s)
