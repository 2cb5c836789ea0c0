"""`workbench import transcripts` as people use it: scrubbed by default, `--already-deidentified`
audited, a second import adds nothing, a killed import is completed by running it again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from typer.testing import CliRunner

from workbench.cli import app
from workbench.storage.tables import AuditEvent, Conversation, Turn

ROOT = Path(__file__).resolve().parent.parent


def log(path: Path, n: int, *, pii: bool = False) -> Path:
    who = "Ik ben Jan de Vries, bel me op 06-12345678." if pii else "Hoi"
    rows = [{"id": f"c-{i}", "messages": [{"role": "user", "content": f"{who} ({i})"},
                                          {"role": "assistant", "content": "Hallo!"}]}
            for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["import", "transcripts", *args])


def test_import_scrubs_reports_and_a_second_import_adds_nothing(eng, tmp_path) -> None:
    path = log(tmp_path / "prod.jsonl", 2, pii=True)
    with path.open("a") as fh:
        fh.write("{not json\n")
    first = invoke(str(path))
    assert first.exit_code == 0, first.output
    assert f"{path}:3: not valid JSON" in first.stdout
    assert "imported 2 conversation(s), 4 turn(s), scrubbed (" in first.stderr
    assert "PERSOON" in first.stderr and "1 problem(s)" in first.stderr
    again = invoke(str(path))
    assert again.exit_code == 0, again.output
    assert "imported 0 conversation(s)" in again.stderr and "2 already imported" in again.stderr
    with Session(eng) as s:
        texts = [t.content for t in s.exec(select(Turn).where(Turn.role == "user"))]
        actor = s.exec(select(AuditEvent.actor).where(
            AuditEvent.action == "import.transcripts.start")).first()
    assert len(texts) == 2 and all("Vries" not in t and "[PERSOON-1]" in t for t in texts)
    assert actor and actor.startswith("cli:")


def test_already_deidentified_stores_the_text_as_is_and_says_so(eng, tmp_path) -> None:
    path = log(tmp_path / "clean.jsonl", 1, pii=True)
    done = invoke(str(path), "--already-deidentified", "--actor", "lotte")
    assert done.exit_code == 0, done.output
    assert "NOT scrubbed (--already-deidentified; audited)" in done.stderr
    with Session(eng) as s:
        text = s.exec(select(Turn.content).where(Turn.role == "user")).one()
        start = s.exec(select(AuditEvent).where(
            AuditEvent.action == "import.transcripts.start")).one()
    assert "Jan de Vries" in text
    assert start.actor == "lotte" and start.details["scrubbed"] is False


def test_a_file_with_nothing_importable_fails_and_a_wrong_target_is_a_usage_error(
        eng, tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "alleen ik"}]}\n')
    done = invoke(str(bad), "--already-deidentified")
    assert done.exit_code == 1 and f"{bad}:1: no assistant message" in done.stdout
    from workbench.domain.enums import BotKind
    from workbench.services.targets import add_target

    add_target(engine=eng, name="remote", kind=BotKind.openai, base_url="http://127.0.0.1:9/v1",
               model="m", prompt="p", label="v1")
    wrong = invoke(str(log(tmp_path / "ok.jsonl", 1)), "--target", "remote")
    assert wrong.exit_code == 2 and "not a replay target" in wrong.stderr


@pytest.mark.slow
def test_a_killed_import_process_is_completed_by_running_it_again(engine, tmp_path) -> None:
    """SIGKILL in the middle of a real `workbench import transcripts`; the finished batches
    stay, and the same command again imports exactly the rest."""
    n = 6000
    path = log(tmp_path / "big.jsonl", n)
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
           "WORKBENCH_RUNS_DIR": str(tmp_path / "runs"), "RAGAS_DO_NOT_TRACK": "true",
           "WORKBENCH_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-m", "workbench", "import", "transcripts", str(path),
               "--already-deidentified"]

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(
                Conversation.__table__)).scalar() or 0)  # type: ignore[attr-defined]

    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 180
    # Kill at the first batches: on a quiet machine the whole file imports in about a second.
    while time.time() < deadline and stored() < 100 and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = stored()
    assert 0 < kept < n and kept % 100 == 0  # whole batches only
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"imported {n - kept} conversation(s)" in done.stderr
    assert f"{kept} already imported" in done.stderr
    with Session(engine) as s:
        ids = s.exec(select(Conversation.external_id)).all()
    assert len(ids) == len(set(ids)) == n
