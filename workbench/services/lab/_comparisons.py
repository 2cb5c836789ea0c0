"""Prompt lab comparisons: two runs on the same scenarios and repeats, A on the target's
current version and B on the candidate, played by one background job; the result is THE
`compare_runs` of `workbench compare` (same defaults), with the replies side by side and the
expectation checks that flipped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from workbench.domain import lab as rules
from workbench.domain.enums import CandidateStatus, JobStatus, RunStatus
from workbench.domain.library import Library
from workbench.services.evaluation import (
    Comparison,
    RunConversation,
    TrustThresholds,
    TurnExpectation,
    compare_runs,
    record_run,
    run_replies,
)
from workbench.services.lab._candidates import LabError, _current
from workbench.storage import repo, repo_jobs, repo_lab
from workbench.storage.db import session_scope
from workbench.storage.errors import NotFound
from workbench.storage.tables import LabComparison, Run, utcnow

# What `workbench compare` uses unless told otherwise (cli/evaluation.py), so the page shows
# the numbers the command prints for the same two runs.
COMPARE_SEED = 0
COMPARE_MIN_KAPPA = 0.6
MAX_REPEAT = 10
# A comparison whose job was never attached (the process stopped between recording it and
# enqueueing) stops holding its candidate after this long.
UNATTACHED_STALE = timedelta(minutes=2)
FINAL_JOB = (JobStatus.done, JobStatus.failed, JobStatus.cancelled)


@dataclass(frozen=True)
class ComparisonView:
    id: int
    candidate_id: int
    run_a: str  # the current version's run
    run_b: str  # the candidate's run
    judge: str | None
    job_id: int | None
    created_by: str | None
    created_at: datetime
    finished: bool  # both runs have ended


@dataclass(frozen=True)
class ReplyPair:
    ordinal: int
    user_text: str | None
    current: str | None  # None when that run has no ok reply at this position
    candidate: str | None


@dataclass(frozen=True)
class ScenarioSide:
    scenario_id: str
    title: str | None
    repeat_index: int
    replies: tuple[ReplyPair, ...]


@dataclass(frozen=True)
class FlippedCheck:
    scenario_id: str
    repeat_index: int
    ordinal: int | None  # None: a whole-conversation check
    kind: str
    check: str
    text: str
    direction: str  # pass_to_fail | fail_to_pass


@dataclass(frozen=True)
class LabReport:
    comparison: ComparisonView
    result: Comparison | None  # None until both runs have ended
    sides: list[ScenarioSide]
    flipped: list[FlippedCheck]

    @property
    def gate_passed(self) -> bool | None:
        """The exit rule of `workbench compare --fail-on-regression`: it exits 1 exactly when
        this is False."""
        return None if self.result is None else not self.result.regressed


def _view(s: Session, cmp: LabComparison) -> ComparisonView:
    runs = [s.get(Run, r) for r in (cmp.run_a, cmp.run_b)]
    finished = all(r is not None and r.finished_at is not None
                   and r.status != RunStatus.running for r in runs)
    return ComparisonView(cmp.id or 0, cmp.candidate_id, cmp.run_a, cmp.run_b, cmp.judge,
                          cmp.job_id, cmp.created_by, cmp.created_at, finished)


def _free_stale_slot(s: Session, candidate_id: int) -> None:
    """Release the candidate's active comparison when its job can no longer run."""
    held = repo_lab.active_comparison(session=s, candidate_id=candidate_id)
    if held is None:
        return
    if held.job_id is not None:
        try:
            stale = repo_jobs.get_job(session=s, job_id=held.job_id).status in FINAL_JOB
        except NotFound:
            stale = True
    else:
        stale = utcnow() - _aware(held.created_at) > UNATTACHED_STALE
    if not stale:
        raise LabError("lab.error.comparison_running")
    repo_lab.release_comparison(session=s, comparison_id=held.id or 0)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def record_comparison(*, engine: sa.Engine, candidate_id: int, library: Library,
                      scenario_ids: Sequence[str] | None = None, repeat: int = 1,
                      judge: str | None = None, concurrency: int = 8,
                      created_by: str | None) -> ComparisonView:
    """Record the two runs (the same scenarios and repeats) and the comparison, in one unit of
    work. A candidate has one comparison that may still run: a second is refused."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise LabError("lab.error.repeat", limit=MAX_REPEAT)
    ids = list(scenario_ids or sorted(library.scenarios))
    with session_scope(engine) as s:
        cand = repo_lab.get_candidate(session=s, candidate_id=candidate_id)
        if cand.status != CandidateStatus.candidate:
            raise LabError("lab.error.promoted_already")
        target = repo.get_bot_target_by_id(session=s, bot_target_id=cand.bot_target_id)
        current = _current(s, target)
        if judge is not None:
            repo.get_bot_target(session=s, name=judge)  # NotFound for an unknown judge
        _free_stale_slot(s, candidate_id)
        common: dict[str, Any] = {"session": s, "library": library, "target": target,
                                  "scenario_ids": ids, "repeat": repeat,
                                  "concurrency": concurrency}
        run_a = record_run(prompt_version_id=current.id or 0, **common)
        run_b = record_run(prompt_version_id=cand.prompt_version_id, **common)
        try:
            with s.begin_nested():
                cmp = repo_lab.create_comparison(session=s, candidate_id=candidate_id,
                                                 run_a=run_a, run_b=run_b, judge=judge,
                                                 created_by=created_by)
        except IntegrityError:  # another request took the slot at the same moment
            raise LabError("lab.error.comparison_running") from None
        repo.audit(session=s, action="lab.compare", actor=created_by, entity="lab_comparison",
                   entity_id=cmp.id, details={"candidate_id": candidate_id, "run_a": run_a,
                                              "run_b": run_b, "judge": judge,
                                              "scenarios": len(ids), "repeat": repeat})
        return _view(s, cmp)


def attach_job(*, engine: sa.Engine, comparison_id: int, job_id: int) -> None:
    with session_scope(engine) as s:
        cmp = repo_lab.get_comparison(session=s, comparison_id=comparison_id)
        cmp.job_id = job_id
        s.add(cmp)


def release_comparison(*, engine: sa.Engine, comparison_id: int) -> None:
    """The comparison's job has ended (or never started): its candidate may be compared
    again."""
    with session_scope(engine) as s:
        repo_lab.release_comparison(session=s, comparison_id=comparison_id)


def get_comparison(*, engine: sa.Engine, comparison_id: int) -> ComparisonView:
    with session_scope(engine) as s:
        return _view(s, repo_lab.get_comparison(session=s, comparison_id=comparison_id))


def list_comparisons(*, engine: sa.Engine, candidate_ids: Sequence[int]
                     ) -> list[ComparisonView]:
    """The comparisons of these candidates, newest first."""
    with session_scope(engine) as s:
        return [_view(s, c) for c in repo_lab.list_comparisons(
            session=s, candidate_ids=list(candidate_ids))]


def compare_comparison(*, engine: sa.Engine, comparison_id: int) -> Comparison:
    """`workbench compare RUN_A RUN_B` of this comparison, with its judge when it has one."""
    cmp = get_comparison(engine=engine, comparison_id=comparison_id)
    return compare_runs(engine=engine, run_a=cmp.run_a, run_b=cmp.run_b, judge=cmp.judge,
                        seed=COMPARE_SEED,
                        thresholds=TrustThresholds(min_kappa=COMPARE_MIN_KAPPA))


def lab_report(*, engine: sa.Engine, comparison_id: int) -> LabReport:
    """The comparison as the page shows it; the numbers only once both runs have ended."""
    cmp = get_comparison(engine=engine, comparison_id=comparison_id)
    a = run_replies(engine=engine, run_id=cmp.run_a)
    b = run_replies(engine=engine, run_id=cmp.run_b)
    result = compare_comparison(engine=engine, comparison_id=comparison_id) \
        if cmp.finished else None
    return LabReport(cmp, result, _sides(a, b), _flipped(a, b))


def _by_key(convs: list[RunConversation]) -> dict[tuple[str, int], RunConversation]:
    return {(c.scenario_id or "", c.repeat_index or 0): c for c in convs}


def _sides(a: list[RunConversation], b: list[RunConversation]) -> list[ScenarioSide]:
    ka, kb = _by_key(a), _by_key(b)
    out = []
    for key in sorted(set(ka) | set(kb)):
        ca, cb = ka.get(key), kb.get(key)
        ra = {r.ordinal: r for r in (ca.replies if ca else ())}
        rb = {r.ordinal: r for r in (cb.replies if cb else ())}
        pairs = tuple(ReplyPair(
            n, (ra.get(n) or rb[n]).user_text, ra[n].text if n in ra else None,
            rb[n].text if n in rb else None) for n in sorted(set(ra) | set(rb)))
        either = ca or cb
        title = either.scenario_title if either is not None else None
        out.append(ScenarioSide(key[0], title, key[1], pairs))
    return out


def _outcomes(conv: RunConversation) -> dict[Any, bool | None]:
    """Each mechanically checked expectation of a conversation by where it sits; a second
    expectation with the same text at the same place counts apart."""
    out: dict[Any, bool | None] = {}
    seen: Counter[Any] = Counter()

    def put(ordinal: int | None, e: TurnExpectation) -> None:
        if e.check is None:
            return
        base = (ordinal, e.kind, e.check, e.text)
        out[(*base, seen[base])] = e.passed
        seen[base] += 1

    for r in conv.replies:
        for e in r.checks:
            put(r.ordinal, e)
    for e in conv.conversation_checks:
        put(None, e)
    return out


def _flipped(a: list[RunConversation], b: list[RunConversation]) -> list[FlippedCheck]:
    ka, kb = _by_key(a), _by_key(b)
    out = []
    for key in sorted(set(ka) & set(kb)):
        for f in rules.flips(_outcomes(ka[key]), _outcomes(kb[key])):
            where: tuple[Any, ...] = f.key  # type: ignore[assignment]
            out.append(FlippedCheck(key[0], key[1], where[0], str(where[1]), str(where[2]),
                                    str(where[3]), f.direction))
    return out
