"""Shared fixtures: isolated settings, a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ["RAGAS_DO_NOT_TRACK"] = "true"

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "WORKBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings pointing at a fresh SQLite file and runs folder; the shipped library as is."""
    from workbench.config import Settings, get_settings

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    s: Settings = get_settings()
    yield s
    get_settings.cache_clear()


def _pg_available() -> str | None:
    """None when the PostgreSQL server answers, else the reason it does not."""
    try:
        eng = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.execute(sa.text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:  # any failure means: no usable server here
        return f"no PostgreSQL server answers at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, dropped at the end."""
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    name = f"workbench_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _reset_pg(url: str) -> None:
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated, empty database: every storage test runs on SQLite and on PostgreSQL."""
    from workbench.storage.db import make_engine, migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        _reset_pg(url)
    eng = make_engine(url)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def library():
    from workbench.domain.library import load_library

    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    assert lib.ok, lib.problems
    return lib


@pytest.fixture
def fault_server():
    """A fault-injecting OpenAI-protocol server on 127.0.0.1 serving the reference bot."""
    from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
    from workbench.bots.server import RunningServer

    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=5))
    with RunningServer(app) as server:
        yield server


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with test-sized cost (the default takes ~0.4 s a hash on CI machines)."""
    from argon2 import PasswordHasher

    from workbench.services.accounts import _auth  # the hasher is module state, on purpose

    monkeypatch.setattr(_auth, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024,
                                                        parallelism=1))


@pytest.fixture
def eng(settings) -> sa.Engine:  # type: ignore[no-untyped-def]
    """The app's migrated engine for the isolated settings (what pages and services use)."""
    from workbench.services.context import get_engine

    return get_engine(settings)
