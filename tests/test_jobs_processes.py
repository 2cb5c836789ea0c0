"""The task queue across real processes: the CLI enqueues and a `workbench worker` process does
the work; a worker SIGKILLed mid-run is replaced and the run completes without a duplicate
exchange; two workers on one Redis run each job exactly once; `workbench start` runs a worker
and leaves no process behind however it is stopped."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.jobs_support import ROOT, start_worker_process, stop_process, wait_until, worker_env
from workbench.bots.faults import FaultPlan, FaultyChatApp, Latency
from workbench.bots.server import RunningServer
from workbench.cli import app
from workbench.domain.enums import BotKind, JobStatus, TurnRole
from workbench.jobs import Queue
from workbench.services import jobs
from workbench.services.targets import add_target, list_targets
from workbench.storage import repo, repo_eval
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of

pytestmark = pytest.mark.slow
REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, flushed around each test


def job_of(eng: sa.Engine, job_id: int) -> jobs.JobView:
    return jobs.get_job(engine=eng, job_id=job_id)


def test_cli_background_run_is_done_by_a_worker_process(eng, library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    list_targets(engine=eng)  # the reference target exists from the first call
    scenario = sorted(library.scenarios)[0]
    out = runner.invoke(app, ["run", "--bot", "reference", "--scenario", scenario,
                              "--background"])
    assert out.exit_code == 0, out.output
    job_id = int(out.stdout.strip().splitlines()[-1])
    assert job_of(eng, job_id).status == JobStatus.queued
    again = runner.invoke(app, ["jobs", "--active"])
    assert again.exit_code == 0 and "queued" in again.stdout and "0 worker(s)" in again.stderr
    worker = start_worker_process(tmp_path / "worker.log")
    try:
        wait_until(lambda: job_of(eng, job_id).final, timeout=180, what="the background run")
    finally:
        assert stop_process(worker) == 0  # SIGTERM: a clean stop
    job = job_of(eng, job_id)
    assert job.status == JobStatus.done, (job.error, (tmp_path / "worker.log").read_text())
    assert job.result and job.result["finished"] == job.result["conversations"] == 1
    assert Path(job.result["out_dir"], "transcripts.jsonl").is_file()
    listed = runner.invoke(app, ["jobs"])
    assert listed.exit_code == 0 and re.search(rf"{job_id} +│ run +│ done", listed.stdout)
    assert runner.invoke(app, ["jobs", "cancel", "999999"]).exit_code == 2
    done = runner.invoke(app, ["jobs", "cancel", str(job_id)])
    assert done.exit_code == 0 and "done" in done.stderr
    assert runner.invoke(app, ["judge", "no-such-run", "--judge", "x",
                               "--background"]).exit_code == 2


def conversation_turns(eng: sa.Engine, run_id: str) -> dict[int, tuple[list[str], list[str], int]]:
    """conversation id → (scripted user turns, stored user turns, ok replies)."""
    out = {}
    with session_scope(eng) as s:
        for conv in repo_eval.run_conversations(session=s, run_id=run_id):
            scripted = [t.text for t in scenario_of(
                session=s, snapshot_id=conv.scenario_snapshot_id or 0).scripted_turns]
            turns = repo.list_turns(session=s, conversation_id=conv.id or 0)
            assert [t.index for t in turns] == list(range(len(turns)))
            users = [t.content for t in turns if t.role == TurnRole.user]
            ok = sum(t.role == TurnRole.assistant and t.status == "ok" for t in turns)
            out[conv.id or 0] = (scripted, users, ok)
    return out


def test_sigkill_mid_run_then_a_new_worker_completes_it_without_duplicates(
        eng, library, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The new worker takes the killed one's job at its start (same machine, dead pid), not by
    # the stale time; a stale time of 2 s let a heartbeat delayed by SQLite's write lock look
    # like a dead worker, and the job was taken over a second time (attempts 3, seen once).
    monkeypatch.setenv("WORKBENCH_JOB_STALE_AFTER_S", "8")
    monkeypatch.setenv("WORKBENCH_RUN_LEASE_S", "3")  # the killed worker's lease expires soon
    served = FaultyChatApp(plan=FaultPlan(), latency=Latency(first_chunk_ms=250))
    with RunningServer(served) as server:
        add_target(engine=eng, name="slow", kind=BotKind.openai, base_url=server.base_url,
                   model="reference-v1", prompt="Je bent behulpzaam.", label="v1",
                   parameters={"max_retries": 1, "backoff_base_s": 0.01, "timeout_s": 5})
        job = jobs.enqueue_run(engine=eng, library=library, bot_name="slow", created_by="t",
                               scenario_ids=sorted(library.scenarios)[:4], repeat=2,
                               concurrency=2)
        run_id = job.params["run_id"]
        first = start_worker_process(tmp_path / "first.log")

        def replies() -> int:
            return sum(ok for _, _, ok in conversation_turns(eng, run_id).values())

        try:
            wait_until(lambda: replies() >= 4, timeout=120, what="the first exchanges")
        finally:
            os.killpg(first.pid, signal.SIGKILL)  # mid-run, no goodbye
            first.wait(timeout=30)
        total = sum(len(scripted) for scripted, _, _ in conversation_turns(eng, run_id).values())
        assert job_of(eng, job.id).status == JobStatus.running  # its row still says so
        assert replies() < total, "the run finished before the kill; make the bot slower"
        second = start_worker_process(tmp_path / "second.log")
        try:
            wait_until(lambda: job_of(eng, job.id).final, timeout=240, what="the resumed run")
        finally:
            stop_process(second)
    done = job_of(eng, job.id)
    assert done.status == JobStatus.done, (done.error, (tmp_path / "second.log").read_text())
    assert done.attempts == 2 and done.result and done.result["failed"] == 0
    turns = conversation_turns(eng, run_id)
    assert len(turns) == 8
    for scripted, users, ok in turns.values():
        assert users == scripted  # every scripted turn once: nothing replayed twice
        assert ok == len(scripted)


def redis_reason() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"no Redis answers at {REDIS_URL}: {type(exc).__name__}"


@pytest.fixture
def redis_queue(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    reason = redis_reason()
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("WORKBENCH_QUEUE_URL", REDIS_URL)
    queue = Queue(REDIS_URL)
    queue.huey.storage.conn.flushdb()
    yield queue
    queue.huey.storage.conn.flushdb()


def test_two_workers_on_redis_run_each_job_exactly_once(eng, tmp_path, redis_queue) -> None:  # type: ignore[no-untyped-def]
    made = [jobs.enqueue(engine=eng, kind="noop", params={"steps": 3, "sleep_s": 0.05},
                         created_by=f"t{i}", queue=redis_queue) for i in range(20)]
    for job in made:  # every message twice: the row, not the queue, makes it run once
        redis_queue.send(job.id)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [start_worker_process(log) for log in logs]
    try:
        wait_until(lambda: all(job_of(eng, j.id).final for j in made), timeout=180,
                   what="20 jobs on two workers")
        wait_until(lambda: redis_queue.size() == 0, timeout=30, what="the duplicates")
    finally:
        for w in workers:
            stop_process(w)
    started = [Counter(re.findall(r"job (\d+) \(noop\) started by", log.read_text()))
               for log in logs]
    runs = started[0] + started[1]
    assert runs == Counter({str(j.id): 1 for j in made})  # each job started exactly once
    assert all(started), "both workers took jobs from the one queue"
    assert all(job_of(eng, j.id).status == JobStatus.done and job_of(eng, j.id).attempts == 1
               for j in made)


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_start_runs_one_worker_and_leaves_no_process_behind(how, eng, tmp_path) -> None:  # type: ignore[no-untyped-def]
    log = (tmp_path / "start.log").open("ab")
    start = subprocess.Popen([sys.executable, "-m", "workbench", "start", "--no-demo",
                              "--port", str(free_port())], env=worker_env(), cwd=ROOT,
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        kids = wait_until(lambda: len(children(start.pid)) == 2 and children(start.pid),
                          timeout=120, what="the app and its worker")
        wait_until(lambda: jobs.live_workers(engine=eng), timeout=120, what="the worker")
        job = jobs.enqueue(engine=eng, kind="noop", params={"steps": 1}, created_by="t")
        wait_until(lambda: job_of(eng, job.id).status == JobStatus.done, timeout=60,
                   what="a job done by the embedded worker")
        start.send_signal(how)
        start.wait(timeout=60)
        wait_until(lambda: not any(alive(k) for k in kids), timeout=60,
                   what=f"no child left after {signal.Signals(how).name}")
    finally:
        for pid in [start.pid, *children(start.pid)]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
