"""Issue 13 item 5: one run, one runner. A lease in the database, taken atomically, renewed
while the run plays, released on exit and expiring when its holder died; on SQLite and
PostgreSQL, in process and with real `workbench run --resume` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.domain.enums import BotKind
from workbench.services.errors import NotFound
from workbench.services.evaluation import LeaseLost, RunBusy, create_run, execute_run
from workbench.services.evaluation._lease import take_lease
from workbench.services.targets import add_target
from workbench.storage import repo_runs
from workbench.storage.db import session_scope
from workbench.storage.tables import Conversation, ScenarioSnapshot, Turn

ROOT = Path(__file__).resolve().parent.parent
WORKBENCH = [sys.executable, "-m", "workbench"]
SCENARIOS = ["acuut-verwurging-partner", "info-wat-doet-veilig-thuis-blijft-dit-anoniem",
             "vechtscheiding-ex-gebruikt-kinderen"]


def a_run(engine, library, server, *, repeat: int = 1, concurrency: int = 1) -> str:  # type: ignore[no-untyped-def]
    add_target(engine=engine, name="slow", kind=BotKind.openai, base_url=server.base_url,
               model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
               parameters={"max_retries": 0, "timeout_s": 10})
    return create_run(engine=engine, library=library, bot_name="slow", scenario_ids=SCENARIOS,
                      repeat=repeat, concurrency=concurrency)


def lease_of(engine, run_id: str) -> repo_runs.LeaseView:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        view = repo_runs.run_lease(session=s, run_id=run_id)
    assert view is not None
    return view


def turn_count(engine, run_id: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return len(s.exec(select(Turn.id).join(Conversation)
                          .where(Conversation.run_id == run_id)).all())


def assert_whole(engine, library, run_id: str) -> None:  # type: ignore[no-untyped-def]
    """Every conversation finished, each scripted turn once, each answered once."""
    with Session(engine) as s:
        rows = s.exec(select(Conversation, ScenarioSnapshot).join(ScenarioSnapshot)
                      .where(Conversation.run_id == run_id)).all()
        assert rows
        for conv, snap in rows:
            scripted = [t.text for t in library.scenarios[snap.scenario_id].scenario
                        .scripted_turns]
            turns = s.exec(select(Turn).where(Turn.conversation_id == conv.id)
                           .order_by(Turn.index)).all()
            assert conv.status == "finished", (snap.scenario_id, conv.status)
            assert [t.content for t in turns if t.role == "user"] == scripted
            assert [(t.role, t.status) for t in turns] == \
                [("user", "ok"), ("assistant", "ok")] * len(scripted)


# --- in process -------------------------------------------------------------------------------


def test_a_held_run_refuses_a_second_holder_until_released_or_expired(engine, library) -> None:
    with RunningServer(FaultyChatApp()) as server:
        run_id = a_run(engine, library, server)
    first = take_lease(engine=engine, run_id=run_id, lease_s=30)
    with pytest.raises(RunBusy) as busy:
        take_lease(engine=engine, run_id=run_id, lease_s=30)
    message = str(busy.value)
    assert message.startswith(f"run {run_id} is being played by ")
    assert f"pid {os.getpid()} since " in message and "#" not in message
    assert "; if that process died, its lease expires at " in message and "UTC" in message
    first.release()
    assert lease_of(engine, run_id).holder is None
    short = take_lease(engine=engine, run_id=run_id, lease_s=0.3)
    time.sleep(0.5)
    taker = take_lease(engine=engine, run_id=run_id, lease_s=30)  # the holder seems dead
    assert not short.renew() and short.lost
    with pytest.raises(LeaseLost), session_scope(engine) as s:
        short.fence(s)
    short.release()  # releasing a lease one no longer holds leaves the new holder's alone
    assert lease_of(engine, run_id).holder == taker.holder
    with pytest.raises(NotFound):
        take_lease(engine=engine, run_id="no-such-run")


def test_of_eight_runners_at_once_exactly_one_takes_the_run(engine, library) -> None:
    with RunningServer(FaultyChatApp()) as server:
        run_id = a_run(engine, library, server)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            take_lease(engine=engine, run_id=run_id)
            outcomes.append("took")
        except RunBusy:
            outcomes.append("busy")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["busy"] * 7 + ["took"]


def test_execute_run_refuses_a_run_another_runner_holds(engine, library, tmp_path) -> None:
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=150))
    with RunningServer(app) as server:
        run_id = a_run(engine, library, server)
        other = take_lease(engine=engine, run_id=run_id)
        with pytest.raises(RunBusy):
            asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                    runs_dir=tmp_path))
        assert app.recorded() == [] and turn_count(engine, run_id) == 0
        other.release()
        summary = asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                          runs_dir=tmp_path, lease_s=0.9))
    # The run outlived its 0.9 s lease several times over: the heartbeat renewed it.
    assert summary.finished == 3 and summary.duration_s > 2 * 0.9
    assert lease_of(engine, run_id) == repo_runs.LeaseView(None, None, None)  # released
    assert_whole(engine, library, run_id)


def test_a_runner_that_lost_its_run_stops_writing(engine, library, tmp_path) -> None:
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=60))
    stolen: dict[str, int] = {}
    with RunningServer(app) as server:
        run_id = a_run(engine, library, server)

        def steal() -> None:  # as a runner would once this one's lease had expired
            while turn_count(engine, run_id) < 4:
                time.sleep(0.05)
            now, holder = datetime.now(UTC), str(lease_of(engine, run_id).holder)
            with session_scope(engine) as s:
                repo_runs.release_run_lease(session=s, run_id=run_id, holder=holder)
                assert repo_runs.take_run_lease(session=s, run_id=run_id, holder="other #1",
                                                now=now, expires_at=now.replace(year=now.year + 1))
            stolen["turns"] = turn_count(engine, run_id)

        thief = threading.Thread(target=steal)
        thief.start()
        with pytest.raises(LeaseLost):
            asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                    runs_dir=tmp_path, lease_s=0.6))
        thief.join(timeout=30)
    assert turn_count(engine, run_id) == stolen["turns"]  # not one write after the takeover
    assert lease_of(engine, run_id).holder == "other #1"  # and its lease left alone


# --- real processes -----------------------------------------------------------------------------


def env_for(engine, tmp_path: Path, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**os.environ, "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
            "WORKBENCH_RUNS_DIR": str(tmp_path / "runs"), "RAGAS_DO_NOT_TRACK": "true",
            "WORKBENCH_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            **extra}


def resume(engine, tmp_path: Path, run_id: str, **extra: str) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([*WORKBENCH, "run", "--resume", run_id], cwd=ROOT, text=True,
                            env=env_for(engine, tmp_path, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_two_resumes_at_once_one_plays_and_the_other_refuses(engine, library,
                                                             tmp_path) -> None:
    """The reproduction of the issue: on main both played every conversation."""
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=300))
    with RunningServer(app) as server:
        run_id = a_run(engine, library, server, repeat=2)
        procs = [resume(engine, tmp_path, run_id) for _ in range(2)]
        done = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in done)
    assert codes == [0, 1], [err[-2000:] for _, _, err in done]
    refused = " ".join(next(err for code, _, err in done if code == 1).split())  # unwrapped
    assert f"run {run_id} is being played by " in refused
    assert "if that process died, its lease expires at" in refused
    played = next(out for code, out, _ in done if code == 0)
    assert played.strip().splitlines()[-1] == run_id
    assert_whole(engine, library, run_id)
    assert len(app.recorded()) == turn_count(engine, run_id) // 2  # each reply asked for once


@pytest.mark.slow
def test_a_killed_holder_blocks_the_run_until_its_lease_expires(engine, library,
                                                                tmp_path) -> None:
    # Long enough for the second process to start (seconds on a loaded machine) before the
    # killed holder's lease runs out; short enough to wait for.
    lease_s = 15.0
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=400))
    short = {"WORKBENCH_RUN_LEASE_S": str(lease_s)}
    with RunningServer(app) as server:
        run_id = a_run(engine, library, server, repeat=2)
        holder = resume(engine, tmp_path, run_id, **short)
        deadline = time.time() + 120
        while time.time() < deadline:  # until the holder renewed its lease once
            view = lease_of(engine, run_id)
            if view.taken_at and view.expires_at and \
                    (view.expires_at - view.taken_at).total_seconds() > lease_s + 1:
                break
            time.sleep(0.2)
        view = lease_of(engine, run_id)
        assert view.holder and f"pid {holder.pid} " in view.holder
        assert view.expires_at and view.taken_at
        assert (view.expires_at - view.taken_at).total_seconds() > lease_s + 1  # renewed
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        kept = turn_count(engine, run_id)
        assert 0 < kept
        blocked = resume(engine, tmp_path, run_id, **short)
        _, err = blocked.communicate(timeout=120)
        assert blocked.returncode == 1, err
        err = " ".join(err.split())  # as one line: rich wraps it
        assert f"is being played by {view.holder.split(' #')[0]} since" in err
        assert "if that process died, its lease expires at" in err
        assert turn_count(engine, run_id) == kept
        expires = lease_of(engine, run_id).expires_at
        assert expires is not None
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
        again = resume(engine, tmp_path, run_id, **short)
        out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-2000:]
    assert out.strip().splitlines()[-1] == run_id
    assert_whole(engine, library, run_id)
    assert lease_of(engine, run_id).holder is None


def test_the_lease_columns_exist_on_both_databases(engine) -> None:
    columns = {c["name"] for c in sa.inspect(engine).get_columns("run")}
    assert {"lease_holder", "lease_taken_at", "lease_expires_at"} <= columns


@pytest.mark.slow
def test_sigterm_stops_a_runner_and_releases_its_run_at_once(engine, library, tmp_path) -> None:
    """kill, systemd or docker stop: the lease is released, so a resume need not wait."""
    app = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=300))
    with RunningServer(app) as server:
        run_id = a_run(engine, library, server, repeat=2)
        holder = resume(engine, tmp_path, run_id)
        deadline = time.time() + 120
        while time.time() < deadline and turn_count(engine, run_id) < 2:
            time.sleep(0.1)
        holder.send_signal(signal.SIGTERM)
        _, err = holder.communicate(timeout=60)
        err = " ".join(err.split())  # as one line: rich wraps it
        assert holder.returncode == 1 and f"--resume {run_id}` continues the run" in err
        assert lease_of(engine, run_id) == repo_runs.LeaseView(None, None, None)
        again = resume(engine, tmp_path, run_id)
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-2000:]
    assert_whole(engine, library, run_id)
