"""The task queue's tables (workbench/jobs): jobs and the workers that report themselves.

The Alembic migration 0010_jobs mirrors this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from workbench.domain.enums import JobStatus


def _now() -> datetime:
    return datetime.now(UTC)


class Job(SQLModel, table=True):
    """Long work on the task queue (workbench/jobs): what to do, who asked and how far it is.
    Pages and `workbench jobs` read progress here, never from a worker's memory; a worker owns
    a running job while `claimed_by` is its id and its heartbeat is fresh."""

    __table_args__ = (sa.UniqueConstraint("active_key", name="uq_job_active_key"),
                      sa.Index("ix_job_status_heartbeat", "status", "heartbeat_at"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    status: JobStatus = Field(default=JobStatus.queued, sa_type=sa.String(32))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=_now, index=True)
    enqueued_at: datetime = Field(default_factory=_now)  # the last message sent for it
    started_at: datetime | None = None
    finished_at: datetime | None = None
    heartbeat_at: datetime | None = None
    done: int = 0
    total: int | None = None
    message: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str | None = None
    cancel_requested: bool = False
    claimed_by: str | None = Field(default=None, max_length=128)
    attempts: int = 0  # claims so far: more than 1 means a worker resumed it
    # Set while queued or running, cleared at the end: the same request made again (a double
    # click) while the first is active is that job. NULLs never collide in a UNIQUE.
    active_key: str | None = Field(default=None, max_length=128)


class JobWorker(SQLModel, table=True):
    """A worker process as it last reported itself, so a page can say that nobody is working."""

    __tablename__ = "job_worker"
    id: str = Field(primary_key=True, max_length=128)
    host: str = Field(max_length=255)
    pid: int
    threads: int = 1
    queue: str = Field(max_length=255)  # the queue URL without its password
    started_at: datetime = Field(default_factory=_now)
    seen_at: datetime = Field(default_factory=_now, index=True)
    stopped_at: datetime | None = None
