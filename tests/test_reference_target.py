"""The built-in reference target exists for every command from the first call (issue 14, item
10: `workbench run --bot reference` on a fresh database said "no bot target named
'reference'" until some other command had happened to create it)."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from tests.test_runs_cli import wb
from workbench.services.targets import REFERENCE_TARGET, ensure_reference_target
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget, PromptVersion

SCENARIO = "acuut-verwurging-partner"


def _targets(tmp_path: Path) -> list[tuple[str, int]]:
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'workbench.db'}")
    with eng.connect() as c:
        rows = c.execute(sa.text("select name, (select count(*) from prompt_version p where "
                                 "p.bot_target_id = t.id) from bot_target t")).all()
    eng.dispose()
    return [(str(n), int(k)) for n, k in rows]


def test_run_on_a_fresh_database_finds_the_reference_target(tmp_path: Path) -> None:
    done = wb(tmp_path, "run", "--bot", "reference", "--scenario", SCENARIO, check=False)
    assert done.returncode == 0, done.stderr
    assert "no bot target" not in done.stderr
    assert _targets(tmp_path) == [("reference", 1)]


def test_set_prompt_on_a_fresh_database_finds_the_reference_target(tmp_path: Path) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("Je bent een korte, warme chatbot.", encoding="utf-8")
    done = wb(tmp_path, "bot", "set-prompt", "reference", "--prompt-file", str(prompt),
              "--label", "kort", check=False)
    assert done.returncode == 0, done.stderr
    assert _targets(tmp_path) == [("reference", 2)]  # the shipped prompt, then this one


def test_the_app_engine_has_the_reference_target(eng: sa.Engine) -> None:
    with Session(eng) as s:
        names = [t.name for t in s.exec(select(BotTarget))]
    assert names == [REFERENCE_TARGET]


def test_ensuring_it_at_once_from_many_threads_makes_one(engine: sa.Engine) -> None:
    """Ten processes starting at the same moment on an empty PostgreSQL database: one insert
    wins, the others find it (no IntegrityError reaches a command)."""
    barrier = threading.Barrier(10)
    errors: list[BaseException] = []
    ids: list[int] = []

    def go() -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                ids.append(ensure_reference_target(session=s).id or 0)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    with Session(engine) as s:
        targets = list(s.exec(select(BotTarget)))
        versions = list(s.exec(select(PromptVersion)))
    assert len(targets) == 1 and len(versions) == 1
    assert set(ids) == {targets[0].id}


def test_ensuring_it_twice_changes_nothing(engine: sa.Engine) -> None:
    with session_scope(engine) as s:
        first = ensure_reference_target(session=s).id
    with session_scope(engine) as s:
        assert ensure_reference_target(session=s).id == first
        assert len(list(s.exec(select(PromptVersion)))) == 1
