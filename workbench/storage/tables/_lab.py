"""The prompt lab: candidate prompt versions of a bot target and the comparisons run on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from workbench.domain.enums import CandidateStatus
from workbench.storage.tables._base import _enum, _json, utcnow


class PromptCandidate(SQLModel, table=True):
    """A prompt version made in the lab, not (yet) the target's current one.

    The text itself is a PromptVersion, so a comparison run records it like any other run
    and promoting only moves the target's current version. `base_prompt_version_id` is the
    version it was edited from; `fewshot_example_ids` the curated examples in its few-shot
    block. One candidate per prompt version (a second save of the same text finds it)."""

    __tablename__ = "prompt_candidate"
    id: int | None = Field(default=None, primary_key=True)
    bot_target_id: int = Field(foreign_key="bot_target.id", index=True)
    prompt_version_id: int = Field(foreign_key="prompt_version.id", unique=True)
    base_prompt_version_id: int = Field(foreign_key="prompt_version.id")
    diff: str
    fewshot_example_ids: list[int] = _json(list)
    fewshot_filters: dict[str, Any] = _json(dict)
    status: CandidateStatus = _enum(CandidateStatus.candidate)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    promoted_by: str | None = Field(default=None, max_length=64)
    promoted_at: datetime | None = None
    promote_reason: str | None = None


class LabComparison(SQLModel, table=True):
    """Two runs on the same scenarios and repeats: run A on the current version, run B on the
    candidate. `active_for` holds the candidate id while its job may still run: UNIQUE, so
    two comparisons of one candidate cannot run at once (NULLs never collide)."""

    __tablename__ = "lab_comparison"
    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="prompt_candidate.id", index=True)
    run_a: str = Field(foreign_key="run.id", max_length=40)
    run_b: str = Field(foreign_key="run.id", max_length=40)
    judge: str | None = Field(default=None, max_length=80)
    job_id: int | None = None
    active_for: int | None = Field(default=None, unique=True)
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
