"""The task queue in one process: the rows decide who runs a job (on SQLite and PostgreSQL), a
worker runs, reports, cancels and survives bad jobs, and the same request twice is one job."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.jobs_support import thread_worker, wait_until
from workbench.domain.enums import JobKind, JobStatus
from workbench.jobs import JobFailed, Progress, Queue, queue_for, register, unregister
from workbench.services import jobs
from workbench.services.errors import NotFound
from workbench.storage import repo_jobs
from workbench.storage.db import session_scope
from workbench.storage.tables import Job, utcnow


def insert(engine: sa.Engine, *, kind: str = "noop", params: dict | None = None) -> int:  # type: ignore[type-arg]
    with session_scope(engine) as s:
        job = repo_jobs.insert_job(session=s, kind=kind, params=params or {}, created_by=None,
                                   active_key=None, now=utcnow())
        return job.id or 0


def claim(engine: sa.Engine, job_id: int, worker: str, *, stale_s: float = 30) -> bool:
    now = utcnow()
    with session_scope(engine) as s:
        return repo_jobs.claim_job(session=s, job_id=job_id, worker_id=worker, now=now,
                                   stale_before=now - timedelta(seconds=stale_s))


# --- the rows (SQLite and PostgreSQL) ----------------------------------------------------------


def test_only_one_of_many_workers_claims_a_job(engine: sa.Engine) -> None:
    job_id = insert(engine)
    barrier = threading.Barrier(8)

    def race(n: int) -> bool:
        barrier.wait()
        return claim(engine, job_id, f"w{n}")

    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(race, range(8)))
    assert sum(won) == 1
    with session_scope(engine) as s:
        job = repo_jobs.get_job(session=s, job_id=job_id)
        assert job.status == JobStatus.running and job.attempts == 1
        assert job.claimed_by == f"w{won.index(True)}"


def test_a_stale_job_goes_back_to_the_queue_once_and_its_old_worker_cannot_finish_it(
        engine: sa.Engine) -> None:
    job_id = insert(engine)
    assert claim(engine, job_id, "dead")
    assert not claim(engine, job_id, "other")  # its heartbeat is fresh
    later = utcnow() + timedelta(seconds=60)
    with session_scope(engine) as s:
        assert repo_jobs.requeue_stale(session=s, stale_before=later, now=later) == [job_id]
        assert repo_jobs.requeue_stale(session=s, stale_before=later, now=later) == []
    assert claim(engine, job_id, "next")
    with session_scope(engine) as s:
        # The worker that was thought dead wakes up: nothing it writes lands.
        assert not repo_jobs.set_progress(session=s, job_id=job_id, worker_id="dead", done=5,
                                          total=9, message="x", now=utcnow())
        assert not repo_jobs.finish_job(session=s, job_id=job_id, worker_id="dead",
                                        status=JobStatus.done, now=utcnow(), done=9, total=9,
                                        message=None)
        assert repo_jobs.ownership(session=s, job_id=job_id, worker_id="dead") == (False, False)
        job = repo_jobs.get_job(session=s, job_id=job_id)
        assert (job.status, job.claimed_by, job.attempts, job.done) == ("running", "next", 2, 0)


def test_a_running_job_asked_to_cancel_whose_worker_died_ends_cancelled(engine) -> None:
    job_id = insert(engine)
    assert claim(engine, job_id, "dead")
    with session_scope(engine) as s:
        assert repo_jobs.request_cancel(session=s, job_id=job_id)
        later = utcnow() + timedelta(seconds=60)
        assert repo_jobs.requeue_stale(session=s, stale_before=later, now=later) == []
        assert repo_jobs.get_job(session=s, job_id=job_id).status == JobStatus.cancelled


def test_the_same_request_at_once_makes_one_job(engine: sa.Engine) -> None:
    queue = Queue("memory://")
    barrier = threading.Barrier(6)

    def click(_: int) -> jobs.JobView:
        barrier.wait()
        return jobs.enqueue(engine=engine, kind=JobKind.noop, params={"steps": 1},
                            created_by="dev", queue=queue)

    with ThreadPoolExecutor(6) as pool:
        made = list(pool.map(click, range(6)))
    assert len({j.id for j in made}) == 1 and sum(not j.reused for j in made) == 1
    assert queue.size() == 1  # one message: the reused requests send none
    other = jobs.enqueue(engine=engine, kind=JobKind.noop, params={"steps": 1},
                         created_by="someone else", queue=queue)
    assert other.id != made[0].id


# --- what enqueue refuses ----------------------------------------------------------------------


@pytest.mark.parametrize("kind, params, problem", [
    ("nope", {}, "no job kind 'nope'"),
    ("noop", ["not", "an", "object"], "must be a JSON object"),
    ("noop", {"text": "x" * 70_000}, "over 64000 bytes"),
    ("noop", {"text": "a\x00b"}, "NUL"),
    ("noop", {"when": object()}, "must be JSON"),
    ("noop", {"x": float("nan")}, "must be JSON"),
])
def test_enqueue_refuses_what_no_worker_should_get(eng, kind, params, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=problem):
        jobs.enqueue(engine=eng, kind=kind, params=params, created_by=None,
                     queue=Queue("memory://"))
    assert jobs.list_jobs(engine=eng) == []


def test_a_queue_that_does_not_answer_fails_the_job_at_once(eng) -> None:  # type: ignore[no-untyped-def]
    away = Queue("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(jobs.QueueUnavailable):
        jobs.enqueue(engine=eng, kind="noop", params={}, created_by=None, queue=away)
    (job,) = jobs.list_jobs(engine=eng)
    assert job.status == JobStatus.failed and "could not be reached" in (job.error or "")


def test_unknown_queue_url_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with"):
        Queue("ftp://example.org/q")


# --- a worker in this process -------------------------------------------------------------------


@pytest.fixture
def queue_url(settings) -> str:  # type: ignore[no-untyped-def]
    return str(settings.resolved_queue_url())


def test_worker_runs_a_job_and_writes_its_progress_and_result(eng, queue_url) -> None:  # type: ignore[no-untyped-def]
    job = jobs.enqueue(engine=eng, kind="noop", params={"steps": 4, "sleep_s": 0.3},
                       created_by="dev")
    seen: list[tuple[int, int | None]] = []
    with thread_worker(eng, queue_url):
        def finished() -> bool:
            now = jobs.get_job(engine=eng, job_id=job.id)
            seen.append((now.done, now.total))
            return now.final
        wait_until(finished, timeout=60, every=0.2, what="the noop job")
    done = jobs.get_job(engine=eng, job_id=job.id)
    assert done.status == JobStatus.done and done.result == {"steps": 4}
    assert (done.done, done.total, done.attempts) == (4, 4, 1)
    assert any(0 < d < 4 for d, _ in seen), seen  # progress was visible while it ran
    assert jobs.live_workers(engine=eng) == []  # it said it stopped


def test_bad_jobs_fail_clearly_and_the_worker_lives_on(eng, queue_url) -> None:  # type: ignore[no-untyped-def]
    def explodes(engine, params, progress):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom at step 3")

    def refuses(engine, params, progress):  # type: ignore[no-untyped-def]
        raise JobFailed("the folder is full", details={"where": "runs/"})

    def not_json(engine, params, progress):  # type: ignore[no-untyped-def]
        return {"when": object()}

    def huge(engine, params, progress):  # type: ignore[no-untyped-def]
        return {"all": "x" * 300_000}

    for name, fn in (("t-explodes", explodes), ("t-refuses", refuses), ("t-notjson", not_json),
                     ("t-huge", huge)):
        register(name, fn, replace=True)
    try:
        bad = {
            "garbage": jobs.enqueue(engine=eng, kind="run", params={"run_id": 7, "x": [1]},
                                    created_by=None),
            "missing": jobs.enqueue(engine=eng, kind="judge", params={}, created_by=None),
            "no run": jobs.enqueue(engine=eng, kind="run", params={"run_id": "nope"},
                                   created_by=None),
            "explodes": jobs.enqueue(engine=eng, kind="t-explodes", params={}, created_by=None),
            "refuses": jobs.enqueue(engine=eng, kind="t-refuses", params={}, created_by=None),
            "not json": jobs.enqueue(engine=eng, kind="t-notjson", params={}, created_by=None),
            "huge": jobs.enqueue(engine=eng, kind="t-huge", params={}, created_by=None),
        }
        fine = jobs.enqueue(engine=eng, kind="noop", params={"steps": 1}, created_by=None)
        queue = queue_for(queue_url)
        queue.huey.storage.enqueue(b"\x80\x04not json at all", 0)  # raw garbage (a pickle)
        queue.huey.storage.enqueue(json.dumps(["id", "workbench.jobs._queue.job", None, 0, 0,
                                               None, ["1; drop table job"], {}]).encode(), 0)
        queue_for(queue_url).send(10**9)  # a job nobody made
        with thread_worker(eng, queue_url):
            wait_until(lambda: jobs.get_job(engine=eng, job_id=fine.id).final, timeout=60,
                       what="the good job after the bad ones")
            wait_until(lambda: all(jobs.get_job(engine=eng, job_id=j.id).final
                                   for j in bad.values()), timeout=30, what="the bad jobs")
    finally:
        for name in ("t-explodes", "t-refuses", "t-notjson", "t-huge"):
            unregister(name)
    assert jobs.get_job(engine=eng, job_id=fine.id).status == JobStatus.done
    errors = {k: jobs.get_job(engine=eng, job_id=j.id) for k, j in bad.items()}
    assert all(j.status == JobStatus.failed for j in errors.values())
    assert "parameters are not valid: run_id: Input should be a valid string" in (
        errors["garbage"].error or "")
    assert "x: Extra inputs are not permitted" in (errors["garbage"].error or "")
    assert "run_id: Field required" in (errors["missing"].error or "")
    assert errors["no run"].error == "no run with id 'nope'"
    assert errors["explodes"].error == "RuntimeError: boom at step 3"
    assert errors["refuses"].error == "the folder is full"
    assert errors["refuses"].result == {"where": "runs/"}
    assert "result is not JSON" in (errors["not json"].error or "")
    assert "over 256000 bytes" in (errors["huge"].error or "")
    with session_scope(eng) as s:
        assert s.get(Job, bad["huge"].id) is not None  # the table is still there


def test_cancel_stops_a_running_job_between_steps_and_a_queued_one_at_once(eng, queue_url
                                                                           ) -> None:  # type: ignore[no-untyped-def]
    long = jobs.enqueue(engine=eng, kind="noop", params={"steps": 200, "sleep_s": 0.05},
                        created_by=None)
    waiting = jobs.enqueue(engine=eng, kind="noop", params={"steps": 2}, created_by=None)
    assert jobs.cancel_job(engine=eng, job_id=waiting.id).status == JobStatus.cancelled
    with thread_worker(eng, queue_url, stale_after_s=3):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=long.id).done >= 3, timeout=60,
                   what="the long job to make progress")
        asked = jobs.cancel_job(engine=eng, job_id=long.id)
        assert asked.cancel_requested and asked.status == JobStatus.running
        wait_until(lambda: jobs.get_job(engine=eng, job_id=long.id).final, timeout=30,
                   what="the cancel")
        time.sleep(0.5)  # the cancelled queued job's message is taken and dropped
    ended = jobs.get_job(engine=eng, job_id=long.id)
    assert ended.status == JobStatus.cancelled and 3 <= ended.done < 200
    again = jobs.get_job(engine=eng, job_id=waiting.id)
    assert again.status == JobStatus.cancelled and again.attempts == 0  # never ran
    assert jobs.cancel_job(engine=eng, job_id=long.id).status == JobStatus.cancelled  # twice
    with pytest.raises(NotFound):
        jobs.cancel_job(engine=eng, job_id=12345)


def test_a_stopping_worker_puts_its_job_back_and_the_next_one_resumes_it(eng, queue_url
                                                                         ) -> None:  # type: ignore[no-untyped-def]
    job = jobs.enqueue(engine=eng, kind="noop", params={"steps": 40, "sleep_s": 0.1},
                       created_by=None)
    with thread_worker(eng, queue_url, stale_after_s=3):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).done >= 2, timeout=60,
                   what="progress")
    back = jobs.get_job(engine=eng, job_id=job.id)
    assert back.status == JobStatus.queued and back.claimed_by is None
    with thread_worker(eng, queue_url, stale_after_s=3):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).final, timeout=60,
                   what="the resumed job")
    done = jobs.get_job(engine=eng, job_id=job.id)
    assert done.status == JobStatus.done and done.attempts == 2


def test_a_stale_job_is_resumed_by_a_live_worker(eng, queue_url) -> None:  # type: ignore[no-untyped-def]
    """A worker that died holding a job (no release, no more beats): the watchman of another
    worker finds it stale and puts it back; that worker runs it."""
    job = jobs.enqueue(engine=eng, kind="noop", params={"steps": 1}, created_by=None)
    queue_for(queue_url).flush()  # the dead worker had taken the message
    assert claim(eng, job.id, "dead-worker")
    with thread_worker(eng, queue_url, stale_after_s=1.5):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).final, timeout=30,
                   what="the stale job")
    done = jobs.get_job(engine=eng, job_id=job.id)
    assert done.status == JobStatus.done and done.attempts == 2


def test_progress_raises_only_between_units() -> None:
    stopping = threading.Event()
    p = Progress(stopping=stopping)
    p(1, 10, "one")
    assert p.snapshot().done == 1 and p.snapshot().message == "one"
    p.mark_cancel()
    with pytest.raises(Exception, match="cancelled"):
        p(2, 10)
    with pytest.raises(Exception, match="cancelled"):
        p.check()


def test_job_rows_keep_no_nul_and_stay_bounded(engine) -> None:
    from workbench.jobs import WorkerContext, execute_job

    def noisy(engine, params, progress):  # type: ignore[no-untyped-def]
        progress(1, 2, "bot said \x00" + "x" * 2000)
        raise ValueError("reply held \x00 and " + "y" * 10_000)

    register("t-noisy", noisy, replace=True)
    try:
        job_id = insert(engine, kind="t-noisy")
        ctx = WorkerContext(engine=engine, worker_id="w", stale_after_s=3,
                            stopping=threading.Event(), resend=lambda _id: None)
        assert execute_job(ctx, job_id) == JobStatus.failed
        assert execute_job(ctx, job_id) is None  # twice: the second finds it finished
    finally:
        unregister("t-noisy")
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        assert job is not None and "\x00" not in (job.error or "") + (job.message or "")
        assert len(job.error or "") <= 4000 and len(job.message or "") <= 500


def test_on_the_embedded_queue_a_job_of_a_vanished_process_resumes_at_once(eng, queue_url
                                                                          ) -> None:  # type: ignore[no-untyped-def]
    import socket

    gone = jobs.enqueue(engine=eng, kind="noop", params={"steps": 1}, created_by="a")
    elsewhere = jobs.enqueue(engine=eng, kind="noop", params={"steps": 1}, created_by="b")
    queue_for(queue_url).flush()
    assert claim(eng, gone.id, f"{socket.gethostname()}:999999999:abc")  # no such process
    assert claim(eng, elsewhere.id, "another-machine:1:abc")  # its pid means nothing here
    with thread_worker(eng, queue_url, stale_after_s=60):  # far from stale
        wait_until(lambda: jobs.get_job(engine=eng, job_id=gone.id).final, timeout=20,
                   what="the job of the vanished process")
    assert jobs.get_job(engine=eng, job_id=gone.id).attempts == 2
    assert jobs.get_job(engine=eng, job_id=elsewhere.id).status == JobStatus.running


def test_a_worker_on_each_database(engine: sa.Engine) -> None:
    """The same worker on SQLite and on PostgreSQL (the rows are what differs)."""
    from workbench.jobs import Worker

    queue = Queue("memory://")
    made = [jobs.enqueue(engine=engine, kind="noop", params={"steps": 2, "sleep_s": 0.05},
                         created_by=f"u{i}", queue=queue) for i in range(6)]
    bad = jobs.enqueue(engine=engine, kind="noop", params={"steps": -1}, created_by=None,
                       queue=queue)
    worker = Worker(engine=engine, queue=queue, threads=3, stale_after_s=3)
    worker.start()
    try:
        wait_until(lambda: all(jobs.get_job(engine=engine, job_id=j.id).final
                               for j in [*made, bad]), timeout=60, what="seven jobs")
    finally:
        worker.stop()
    assert {jobs.get_job(engine=engine, job_id=j.id).status for j in made} == {JobStatus.done}
    failed = jobs.get_job(engine=engine, job_id=bad.id)
    assert failed.status == JobStatus.failed
    assert "steps: Input should be greater than or equal to 0" in (failed.error or "")
