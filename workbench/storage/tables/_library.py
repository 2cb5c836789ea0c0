"""The library as used and the bots: scenario snapshots, rubric versions, bot targets, prompt
versions and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from workbench.domain.enums import (
    BotKind,
    Group,
    RiskLevel,
    RunStatus,
)
from workbench.storage.tables._base import _enum, _json, utcnow


class ScenarioSnapshot(SQLModel, table=True):
    """The exact YAML text of a scenario as used, identified by its sha256."""

    __tablename__ = "scenario_snapshot"
    id: int | None = Field(default=None, primary_key=True)
    scenario_id: str = Field(index=True, max_length=120)
    sha256: str = Field(unique=True, max_length=64)
    content: str
    title: str
    risk_level: RiskLevel = _enum()
    writer: str = Field(max_length=32)
    tags: list[str] = _json(list)
    created_at: datetime = Field(default_factory=utcnow)


class RubricVersion(SQLModel, table=True):
    __tablename__ = "rubric_version"
    __table_args__ = (sa.UniqueConstraint("rubric_id", "version", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    rubric_id: str = Field(index=True, max_length=120)
    version: int
    audience: Group = _enum()
    sha256: str = Field(max_length=64)
    content: str
    created_at: datetime = Field(default_factory=utcnow)


class BotTarget(SQLModel, table=True):
    """A bot under test. The API key itself is never stored: only the env var that holds it."""

    __tablename__ = "bot_target"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=80)
    kind: BotKind = _enum()
    base_url: str | None = None
    model: str | None = None
    parameters: dict[str, Any] = _json(dict)
    api_key_env: str | None = None
    current_prompt_version_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class PromptVersion(SQLModel, table=True):
    """One distinct system-prompt text of a bot target (content hash + human label)."""

    __tablename__ = "prompt_version"
    __table_args__ = (sa.UniqueConstraint("bot_target_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    bot_target_id: int = Field(foreign_key="bot_target.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    label: str
    content: str
    created_at: datetime = Field(default_factory=utcnow)


class Run(SQLModel, table=True):
    """A batch run of scripted scenarios against one bot target and prompt version."""

    id: str = Field(primary_key=True, max_length=40)
    bot_target_id: int = Field(foreign_key="bot_target.id")
    prompt_version_id: int = Field(foreign_key="prompt_version.id")
    status: RunStatus = _enum(RunStatus.running)
    scenario_ids: list[str] = _json(list)
    repeat: int = 1
    concurrency: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    manifest: dict[str, Any] = _json(dict)
    is_demo: bool = False
    # The lease (migration 0011): who plays the run now, taken with one conditional UPDATE and
    # renewed while it plays, so a second runner refuses instead of duplicating exchanges.
    lease_holder: str | None = Field(default=None, max_length=160)
    lease_taken_at: datetime | None = None
    lease_expires_at: datetime | None = None
