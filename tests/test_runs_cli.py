"""The runner as people use it: real processes, SIGKILL and --resume, serve-bot end to end."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer

ROOT = Path(__file__).resolve().parent.parent
WORKBENCH = [sys.executable, "-m", "workbench"]


def env_for(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
            "WORKBENCH_RUNS_DIR": str(tmp_path / "runs"), "RAGAS_DO_NOT_TRACK": "true",
            "WORKBENCH_DATABASE_URL": "",
            # A killed runner's lease keeps its run from a resume until it expires (see
            # test_run_lease.py); short here, so a test waits seconds, not half a minute.
            "WORKBENCH_RUN_LEASE_S": "4"}


def wb(tmp_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*WORKBENCH, *args], env=env_for(tmp_path), cwd=ROOT, text=True,
                          capture_output=True, timeout=240)
    if check:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(tmp_path: Path, run_id: str) -> tuple[int, int, int]:
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'workbench.db'}")
    with eng.connect() as c:
        convs = c.execute(sa.text("select count(*) from conversation where run_id=:r"),
                          {"r": run_id}).scalar()
        fin = c.execute(sa.text("select count(*) from conversation where run_id=:r and "
                                "status='finished'"), {"r": run_id}).scalar()
        dup = c.execute(sa.text(
            "select count(*) from (select conversation_id, content, count(*) n from turn "
            "join conversation on conversation.id = turn.conversation_id where run_id=:r and "
            "role='user' group by conversation_id, content having count(*) > 1) d"),
            {"r": run_id}).scalar()
    eng.dispose()
    return convs or 0, fin or 0, dup or 0


def wait_for_lease_expiry(tmp_path: Path, run_id: str) -> None:
    from datetime import UTC, datetime

    eng = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'workbench.db'}")
    with eng.connect() as c:
        expires = c.execute(sa.text("select lease_expires_at from run where id=:r"),
                            {"r": run_id}).scalar()
    eng.dispose()
    if expires is not None:  # SQLite keeps it as text, in UTC
        at = datetime.fromisoformat(str(expires)).replace(tzinfo=UTC)
        time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.2)


@pytest.mark.slow
def test_sigkill_then_resume_finishes_without_duplicates(tmp_path: Path) -> None:
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=150))
    with RunningServer(app) as server:
        prompt = tmp_path / "p.txt"
        prompt.write_text("Je bent behulpzaam.")
        wb(tmp_path, "bot", "add", "slow", "--kind", "openai", "--base-url", server.base_url,
           "--model", "reference-v1", "--prompt-file", str(prompt))
        proc = subprocess.Popen([*WORKBENCH, "run", "--bot", "slow", "--concurrency", "2",
                                 "--repeat", "2"], env=env_for(tmp_path), cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        db = tmp_path / "data" / "workbench.db"
        run_id = None
        deadline = time.time() + 120
        while time.time() < deadline:  # wait until some, not all, conversations are done
            time.sleep(0.3)
            if not db.exists():
                continue
            eng = sa.create_engine(f"sqlite:///{db}")
            with eng.connect() as c:
                run_id = c.execute(sa.text("select id from run")).scalar()
            eng.dispose()
            if run_id and counts(tmp_path, run_id)[1] >= 4:
                break
        assert run_id, "the run never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        total, finished, _ = counts(tmp_path, run_id)
        assert 4 <= finished < total == 48
        wait_for_lease_expiry(tmp_path, run_id)
        done = wb(tmp_path, "run", "--resume", run_id)
        assert done.stdout.strip().splitlines()[-1] == run_id  # the run id is printed last
    total, finished, duplicated = counts(tmp_path, run_id)
    assert (total, finished, duplicated) == (48, 48, 0)
    manifest = json.loads((tmp_path / "runs" / run_id / "manifest.json").read_text())
    assert manifest["counts"]["finished"] == 48 and len(manifest["sessions"]) == 1
    lines = (tmp_path / "runs" / run_id / "transcripts.jsonl").read_text().splitlines()
    assert len(lines) == 48


@pytest.mark.slow
def test_serve_bot_add_and_run_end_to_end(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen([*WORKBENCH, "serve-bot", "--port", str(port)],
                              env=env_for(tmp_path), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        prompt = ROOT / "workbench" / "prompts" / "basis.txt"
        wb(tmp_path, "bot", "add", "local", "--kind", "openai", "--base-url",
           f"http://127.0.0.1:{port}/v1", "--model", "reference-v1", "--prompt-file", str(prompt),
           "--label", "basis")
        listed = wb(tmp_path, "bot", "list").stdout
        assert "local" in listed and "reference" in listed
        done = wb(tmp_path, "run", "--bot", "local", "--scenario", "acuut-verwurging-partner",
                  "--scenario", "info-wat-doet-veilig-thuis-blijft-dit-anoniem")
        run_id = done.stdout.strip().splitlines()[-1]
        manifest = json.loads((tmp_path / "runs" / run_id / "manifest.json").read_text())
        assert manifest["counts"]["finished"] == 2 and manifest["errors"] == {}
        assert manifest["bot_target"]["name"] == "local"
        transcript = [json.loads(x) for x in
                      (tmp_path / "runs" / run_id / "transcripts.jsonl").read_text().splitlines()]
        acute = next(t for t in transcript if t["scenario_id"] == "acuut-verwurging-partner")
        assert any("112" in m["content"] for m in acute["messages"] if m["role"] == "assistant")
    finally:
        server.terminate()
        server.wait(timeout=10)
