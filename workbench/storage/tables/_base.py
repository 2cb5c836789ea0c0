"""What every table module shares: the UTC clock and the column shapes of stored enums and JSON.

Enums are stored as short strings, not database enum types, so adding a status is a code change
and not a PostgreSQL type migration.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def _enum(default: Any = None, **kw: Any) -> Any:
    return Field(default=default, sa_type=sa.String(32), **kw)


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))
