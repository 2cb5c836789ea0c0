"""Engines and migrations. SQLite gets WAL and a busy timeout; PostgreSQL works by URL (psycopg 3).

The app and the CLI call `migrate()` on start, so a database is always at the newest schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them (psycopg2 is not installed)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        db_path = sa.engine.make_url(url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _sqlite_pragmas(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=40)


def _sqlite_pragmas(engine: sa.Engine, busy_timeout_ms: int) -> None:
    # WAL lets raters read while one writes; the busy timeout makes writers queue, not fail.
    # BEGIN IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below control transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the database to the newest schema (idempotent), then refresh SQLite's planner
    statistics."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        # "heads": areas may add migrations on parallel branches off the same parent.
        command.upgrade(cfg, "heads")
    refresh_planner_statistics(engine)


ANALYZE_GROWTH = 2.0  # re-analyze once the bot replies have doubled since the last time
ANALYZE_MIN_TURNS = 1_000  # below this every plan is fast


def refresh_planner_statistics(engine: sa.Engine, *, force: bool = False) -> bool:
    """SQLite only (PostgreSQL's autovacuum does this): ANALYZE when the database has never
    been analysed, or has doubled since; returns whether it ran (about 3 s at 1M ratings).

    Without statistics SQLite guesses that three equal columns of the dashboard's turn index
    select few rows, and walked every bot reply ever made to find one training day's (the
    scorer's next item took 75 ms instead of 10 at 1M ratings). The proportions it learns stay
    right as the tables grow, so doubling is a safe trigger. Sampled ANALYZE (analysis_limit)
    is not enough: it caps the rows per key it reports, and then the dashboard's newest-replies
    queries chose a slow plan."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.begin() as conn:
        turns = conn.exec_driver_sql("SELECT max(id) FROM turn").scalar() or 0
        known = None
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
                                ).first():
            stat = conn.exec_driver_sql("SELECT stat FROM sqlite_stat1 WHERE tbl = 'turn' "
                                        "AND idx IS NOT NULL LIMIT 1").scalar()
            known = int(stat.split()[0]) if stat else None
        if not force and (turns < ANALYZE_MIN_TURNS or (
                known is not None and turns <= known * ANALYZE_GROWTH)):
            return False
        conn.exec_driver_sql("ANALYZE")
        return True


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
