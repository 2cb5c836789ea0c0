"""Records of what was done: exports and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from workbench.storage.tables._base import _json, utcnow


class ExportRecord(SQLModel, table=True):
    __tablename__ = "export_record"
    id: int | None = Field(default=None, primary_key=True)
    format: str = Field(max_length=32)
    filters: dict[str, Any] = _json(dict)
    out_dir: str
    manifest: dict[str, Any] = _json(dict)
    created_by: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64, index=True)
    entity: str | None = Field(default=None, max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = _json(dict)
