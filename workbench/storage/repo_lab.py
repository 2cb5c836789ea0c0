"""Keyword-only queries of the prompt lab: candidate prompt versions and their comparisons.
Same rules as `repo`: flush, never commit.

Promoting is one conditional UPDATE (candidate → promoted), so two people who promote the same
candidate at once cannot both win; a comparison's `active_for` is UNIQUE, so a candidate has at
most one comparison that may still run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from workbench.domain.enums import CandidateStatus
from workbench.domain.scenarios import content_hash
from workbench.storage.errors import NotFound
from workbench.storage.tables import LabComparison, PromptCandidate, PromptVersion

_CANDIDATE = PromptCandidate.__table__  # type: ignore[attr-defined]


def prompt_version_for(*, session: Session, bot_target_id: int, content: str, label: str
                       ) -> PromptVersion:
    """The target's version of this exact text, made now when it has none. Unlike
    `repo.set_prompt` this leaves the target's current version alone."""
    sha = content_hash(content)
    pv = session.exec(select(PromptVersion).where(
        PromptVersion.bot_target_id == bot_target_id, PromptVersion.sha256 == sha)).first()
    if pv is None:
        pv = PromptVersion(bot_target_id=bot_target_id, sha256=sha, label=label,
                           content=content)
        session.add(pv)
        session.flush()
    return pv


def candidate_of_version(*, session: Session, prompt_version_id: int) -> PromptCandidate | None:
    return session.exec(select(PromptCandidate).where(
        PromptCandidate.prompt_version_id == prompt_version_id)).first()


def create_candidate(*, session: Session, bot_target_id: int, prompt_version_id: int,
                     base_prompt_version_id: int, diff: str, fewshot_example_ids: list[int],
                     fewshot_filters: dict[str, Any], created_by: str | None
                     ) -> PromptCandidate:
    cand = PromptCandidate(
        bot_target_id=bot_target_id, prompt_version_id=prompt_version_id,
        base_prompt_version_id=base_prompt_version_id, diff=diff,
        fewshot_example_ids=fewshot_example_ids, fewshot_filters=fewshot_filters,
        created_by=created_by)
    session.add(cand)
    session.flush()
    return cand


def get_candidate(*, session: Session, candidate_id: int) -> PromptCandidate:
    cand = session.get(PromptCandidate, candidate_id)
    if cand is None:
        raise NotFound(f"no prompt candidate with id {candidate_id}")
    return cand


def list_candidates(*, session: Session, bot_target_id: int
                    ) -> list[tuple[PromptCandidate, PromptVersion]]:
    """The target's candidates with their prompt versions, newest first."""
    rows = session.exec(
        select(PromptCandidate, PromptVersion)
        .join(PromptVersion, col(PromptVersion.id) == col(PromptCandidate.prompt_version_id))
        .where(PromptCandidate.bot_target_id == bot_target_id)
        .order_by(col(PromptCandidate.id).desc()))
    return [(c, v) for c, v in rows]


def mark_promoted(*, session: Session, candidate_id: int, by: str | None, at: datetime,
                  reason: str) -> bool:
    """candidate → promoted, in one conditional UPDATE; False when it was promoted already."""
    session.flush()
    done = session.execute(
        sa.update(_CANDIDATE)
        .where(_CANDIDATE.c.id == candidate_id,
               _CANDIDATE.c.status == str(CandidateStatus.candidate))
        .values(status=str(CandidateStatus.promoted), promoted_by=by, promoted_at=at,
                promote_reason=reason)
        .execution_options(synchronize_session=False))
    session.expire_all()
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def create_comparison(*, session: Session, candidate_id: int, run_a: str, run_b: str,
                      judge: str | None, created_by: str | None) -> LabComparison:
    """A comparison that holds its candidate's `active_for` slot (IntegrityError when another
    comparison of the candidate holds it)."""
    cmp = LabComparison(candidate_id=candidate_id, run_a=run_a, run_b=run_b, judge=judge,
                        created_by=created_by, active_for=candidate_id)
    session.add(cmp)
    session.flush()
    return cmp


def get_comparison(*, session: Session, comparison_id: int) -> LabComparison:
    cmp = session.get(LabComparison, comparison_id)
    if cmp is None:
        raise NotFound(f"no lab comparison with id {comparison_id}")
    return cmp


def active_comparison(*, session: Session, candidate_id: int) -> LabComparison | None:
    return session.exec(select(LabComparison).where(
        LabComparison.active_for == candidate_id)).first()


def list_comparisons(*, session: Session, candidate_ids: list[int]) -> list[LabComparison]:
    """The comparisons of these candidates, newest first."""
    if not candidate_ids:
        return []
    return list(session.exec(select(LabComparison)
                             .where(col(LabComparison.candidate_id).in_(candidate_ids))
                             .order_by(col(LabComparison.id).desc())))


def release_comparison(*, session: Session, comparison_id: int) -> None:
    """The comparison's job can no longer run: its candidate may start another."""
    cmp = get_comparison(session=session, comparison_id=comparison_id)
    cmp.active_for = None
    session.add(cmp)
    session.flush()
