"""Prompt lab candidates: start from a target's current prompt, add a few-shot block of gold
examples (scrubbed by the export's scrubber), save the text as a candidate prompt version, and
promote it to current with an audited reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain import lab as rules
from workbench.domain.enums import BotKind, CandidateStatus, CurationState
from workbench.services.errors import UserError
from workbench.services.export import ExportFilters, FewShotBlock, fewshot_block
from workbench.services.targets import ensure_reference_target
from workbench.storage import repo, repo_lab
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget, PromptCandidate, PromptVersion, utcnow

GOLD = (str(CurationState.gold),)


class LabError(UserError):
    """A lab request that cannot be done as asked (the key says why, in the catalogue)."""


@dataclass(frozen=True)
class LabTarget:
    name: str
    kind: str
    current_prompt_version_id: int | None
    current_label: str | None
    current_text: str


@dataclass(frozen=True)
class CandidateView:
    id: int
    target_name: str
    label: str
    status: CandidateStatus
    prompt_version_id: int
    base_prompt_version_id: int
    text: str
    diff: str
    fewshot_example_ids: tuple[int, ...]
    fewshot_filters: dict[str, Any]
    created_by: str | None
    created_at: datetime
    promoted_by: str | None
    promoted_at: datetime | None
    promote_reason: str | None
    is_current: bool
    reused: bool = False  # save found this very text already saved as a candidate


def _check(text: str, limit: int) -> None:
    problem = rules.text_problem(text, limit=limit)
    if problem is not None:
        raise LabError(problem, limit=limit)


def _current(session: Session, target: BotTarget) -> PromptVersion:
    pv = (session.get(PromptVersion, target.current_prompt_version_id)
          if target.current_prompt_version_id is not None else None)
    if pv is None:
        raise LabError("lab.error.no_prompt", target=target.name)
    return pv


def lab_targets(*, engine: sa.Engine) -> list[LabTarget]:
    """The targets a candidate can be made for (replay targets cannot reply), current text
    included."""
    with session_scope(engine) as s:
        ensure_reference_target(session=s)
        out = []
        for t in repo.list_bot_targets(session=s):
            if t.kind == BotKind.replay:
                continue
            pv = (s.get(PromptVersion, t.current_prompt_version_id)
                  if t.current_prompt_version_id is not None else None)
            out.append(LabTarget(t.name, str(t.kind), pv.id if pv else None,
                                 pv.label if pv else None, pv.content if pv else ""))
        return out


def gold_fewshot(*, engine: sa.Engine, scenario_ids: Sequence[str] = (),
                 forms: Sequence[str] = (), risk_levels: Sequence[str] = (), per_tag: int = 2,
                 token_budget: int = 1500) -> FewShotBlock:
    """The few-shot block of the gold examples chosen by scenario, form of violence and risk
    level (each: any of; empty: all), scrubbed as the export scrubs (consented text only)."""
    if per_tag < 1 or token_budget < 1:
        raise LabError("lab.error.fewshot_size")
    filters = ExportFilters(states=GOLD, scenario_ids=tuple(scenario_ids), tags=tuple(forms),
                            risk_levels=tuple(risk_levels))
    return fewshot_block(engine=engine, filters=filters, per_tag=per_tag,
                         token_budget=token_budget)


def fewshot_filters(*, scenario_ids: Sequence[str] = (), forms: Sequence[str] = (),
                    risk_levels: Sequence[str] = ()) -> dict[str, list[str]]:
    """The filters of a few-shot block as recorded on its candidate."""
    return {"scenario_ids": sorted(scenario_ids), "forms": sorted(forms),
            "risk_levels": sorted(risk_levels), "states": list(GOLD)}


def save_candidate(*, engine: sa.Engine, target_name: str, text: str, label: str,
                   fewshot: FewShotBlock | None = None,
                   filters: dict[str, Any] | None = None,
                   created_by: str | None) -> CandidateView:
    """Save `text` (with `fewshot` put between the few-shot markers) as a candidate of the
    target, with its diff against the current version and the few-shot example ids.

    The target's current version stays as it is. The same text saved again is the same
    candidate (`reused`); a text equal to the current one is refused."""
    final = rules.with_fewshot(text, fewshot.text) if fewshot and fewshot.text else text
    _check(final, rules.MAX_PROMPT_CHARS)
    label = label.strip()
    _check(label, rules.MAX_LABEL_CHARS)
    ids = list(fewshot.example_ids) if fewshot and fewshot.text else []
    with session_scope(engine) as s:
        target = repo.get_bot_target(session=s, name=target_name)
        if target.kind == BotKind.replay:
            raise LabError("lab.error.replay", target=target_name)
        current = _current(s, target)
        pv = repo_lab.prompt_version_for(session=s, bot_target_id=target.id or 0,
                                         content=final, label=label)
        if pv.id == current.id:
            raise LabError("lab.error.unchanged")
        found = repo_lab.candidate_of_version(session=s, prompt_version_id=pv.id or 0)
        if found is not None:
            return _view(s, found, pv, target, reused=True)
        cand = repo_lab.create_candidate(
            session=s, bot_target_id=target.id or 0, prompt_version_id=pv.id or 0,
            base_prompt_version_id=current.id or 0,
            diff=rules.prompt_diff(current.content, final, current_name=current.label,
                                   candidate_name=pv.label),
            fewshot_example_ids=ids, fewshot_filters=dict(filters or {}), created_by=created_by)
        repo.audit(session=s, action="lab.candidate", actor=created_by,
                   entity="prompt_candidate", entity_id=cand.id,
                   details={"bot_target": target.name, "prompt_version_id": pv.id,
                            "base_prompt_version_id": current.id, "sha256": pv.sha256,
                            "fewshot_example_ids": ids})
        return _view(s, cand, pv, target)


def list_candidates(*, engine: sa.Engine, target_name: str) -> list[CandidateView]:
    """The target's candidates, newest first."""
    with session_scope(engine) as s:
        target = repo.get_bot_target(session=s, name=target_name)
        return [_view(s, c, pv, target)
                for c, pv in repo_lab.list_candidates(session=s, bot_target_id=target.id or 0)]


def get_candidate(*, engine: sa.Engine, candidate_id: int) -> CandidateView:
    with session_scope(engine) as s:
        cand = repo_lab.get_candidate(session=s, candidate_id=candidate_id)
        pv = s.get(PromptVersion, cand.prompt_version_id)
        assert pv is not None
        return _view(s, cand, pv, repo.get_bot_target_by_id(session=s,
                                                           bot_target_id=cand.bot_target_id))


def promote_candidate(*, engine: sa.Engine, candidate_id: int, reason: str,
                      actor: str | None) -> CandidateView:
    """Make the candidate the target's current prompt version, audited with who, when, why
    and from which version. A candidate is promoted once: a second promote (a double click,
    two people at once) is refused by the conditional update, whoever comes second."""
    reason = reason.strip()
    _check(reason, rules.MAX_REASON_CHARS)
    with session_scope(engine) as s:
        cand = repo_lab.get_candidate(session=s, candidate_id=candidate_id)
        target = repo.get_bot_target_by_id(session=s, bot_target_id=cand.bot_target_id)
        previous = target.current_prompt_version_id
        now = utcnow()
        if not repo_lab.mark_promoted(session=s, candidate_id=candidate_id, by=actor, at=now,
                                      reason=reason):
            raise LabError("lab.error.promoted_already")
        target = repo.get_bot_target_by_id(session=s, bot_target_id=cand.bot_target_id)
        target.current_prompt_version_id = cand.prompt_version_id
        s.add(target)
        comparisons = repo_lab.list_comparisons(session=s, candidate_ids=[candidate_id])
        repo.audit(session=s, action="lab.promote", actor=actor, entity="prompt_candidate",
                   entity_id=candidate_id,
                   details={"bot_target": target.name, "from_prompt_version_id": previous,
                            "to_prompt_version_id": cand.prompt_version_id, "reason": reason,
                            "at": now.isoformat(),
                            "comparison_id": comparisons[0].id if comparisons else None})
        cand = repo_lab.get_candidate(session=s, candidate_id=candidate_id)
        pv = s.get(PromptVersion, cand.prompt_version_id)
        assert pv is not None
        return _view(s, cand, pv, target)


def _view(session: Session, cand: PromptCandidate, pv: PromptVersion, target: BotTarget, *,
          reused: bool = False) -> CandidateView:
    return CandidateView(
        id=cand.id or 0, target_name=target.name, label=pv.label,
        status=CandidateStatus(cand.status), prompt_version_id=pv.id or 0,
        base_prompt_version_id=cand.base_prompt_version_id, text=pv.content, diff=cand.diff,
        fewshot_example_ids=tuple(cand.fewshot_example_ids),
        fewshot_filters=dict(cand.fewshot_filters), created_by=cand.created_by,
        created_at=cand.created_at, promoted_by=cand.promoted_by,
        promoted_at=cand.promoted_at, promote_reason=cand.promote_reason,
        is_current=target.current_prompt_version_id == pv.id, reused=reused)
