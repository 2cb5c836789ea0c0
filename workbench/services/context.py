"""Where a use-case gets its engine and library from: built from Settings, never at import."""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy as sa

from workbench.config import Settings, get_settings
from workbench.domain.library import Library, load_library
from workbench.services.targets import ensure_reference_target
from workbench.storage.db import current_revision, make_engine, migrate, session_scope


@lru_cache(maxsize=8)
def _engine_for(url: str, busy_timeout_ms: int) -> sa.Engine:
    engine = make_engine(url, busy_timeout_ms=busy_timeout_ms)
    migrate(engine)  # the app and the CLI always run on the newest schema
    # The one place the built-in reference target is made: every command and page sees it
    # from the first call (`run --bot reference` on a fresh database used to fail).
    with session_scope(engine) as s:
        ensure_reference_target(session=s)
    return engine


def get_engine(settings: Settings | None = None) -> sa.Engine:
    """The migrated engine for these settings (one per URL per process)."""
    s = settings or get_settings()
    return _engine_for(s.resolved_database_url(), s.sqlite_busy_timeout_ms)


def load_shipped_library(settings: Settings | None = None) -> Library:
    s = settings or get_settings()
    return load_library([s.scenarios_dir, s.rubrics_dir])


def schema_revision(engine: sa.Engine) -> str | None:
    """The Alembic revision the database is at."""
    return current_revision(engine)
