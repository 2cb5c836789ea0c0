"""Task-queue throughput: 200 no-op jobs through the SQLite queue and through Redis, with 1 and
2 `workbench worker` processes (one thread each).

Prints per setup: jobs/s from the first enqueue to the last job done, what enqueueing costs
(the row and the message), the queue's overhead per job on one worker (worker-seconds per job:
claim, heartbeat thread, progress, the end, the message) next to calling the no-op function
itself, and the time from enqueue to done per job (median, 95th percentile). Workers are started
and reporting before the clock starts, so their start-up is not counted. The job rows live in a
fresh SQLite database per setup (`--pg` uses the PostgreSQL server instead).

    .venv/bin/python bench/queue_throughput.py [--jobs 200] [--pg]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS_URL = "redis://127.0.0.1:6379/14"
PG_ADMIN = os.environ.get("WORKBENCH_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return True
    except Exception:
        return False


def fresh_pg() -> tuple[str, str]:
    name = f"queue_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def drop_pg(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def one_setup(queue_kind: str, workers: int, n_jobs: int, use_pg: bool) -> dict[str, float]:
    from workbench.config import get_settings
    from workbench.services import jobs
    from workbench.services.context import get_engine

    tmp = Path(tempfile.mkdtemp(prefix="queue-bench-"))
    env = {**os.environ, "WORKBENCH_DATA_DIR": str(tmp / "data"),
           "WORKBENCH_RUNS_DIR": str(tmp / "runs"), "RAGAS_DO_NOT_TRACK": "true"}
    pg_name = None
    if use_pg:
        url, pg_name = fresh_pg()
        env["WORKBENCH_DATABASE_URL"] = url
    else:
        env.pop("WORKBENCH_DATABASE_URL", None)
    if queue_kind == "redis":
        env["WORKBENCH_QUEUE_URL"] = REDIS_URL
    else:
        env.pop("WORKBENCH_QUEUE_URL", None)
    os.environ.clear()
    os.environ.update(env)
    get_settings.cache_clear()
    settings = get_settings()
    engine = get_engine(settings)
    queue = jobs.default_queue()
    queue.flush()
    procs = [subprocess.Popen([sys.executable, "-m", "workbench", "worker"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 120
        while len(jobs.live_workers(engine=engine)) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not report within 120 s")
            time.sleep(0.1)
        started = time.perf_counter()
        ids = [jobs.enqueue(engine=engine, kind="noop", params={}, created_by=f"bench-{i}",
                            queue=queue).id for i in range(n_jobs)]
        enqueued = time.perf_counter()
        done_count = sa.text("SELECT count(*) FROM job WHERE status = 'done'")
        while True:
            with engine.connect() as conn:
                if conn.execute(done_count).scalar() == n_jobs:
                    break
            time.sleep(0.02)
        finished = time.perf_counter()
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT created_at, finished_at FROM job")).all()
        lat = sorted(_seconds(f) - _seconds(c) for c, f in rows)
        assert len(ids) == n_jobs
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        queue.flush()
        engine.dispose()
        if pg_name:
            drop_pg(pg_name)
    wall = finished - started
    return {"jobs_per_s": n_jobs / wall, "enqueue_ms": 1000 * (enqueued - started) / n_jobs,
            "overhead_ms": 1000 * wall * workers / n_jobs,
            "p50_s": statistics.median(lat), "p95_s": lat[int(0.95 * (len(lat) - 1))]}


def _seconds(value: object) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def noop_call_us() -> float:
    """The no-op job function called directly: what the work itself costs."""
    from workbench.jobs import Progress, lookup

    fn, progress = lookup("noop"), Progress(stopping=threading.Event())
    n = 20_000
    return 1e6 * timeit.timeit(lambda: fn(None, {}, progress), number=n) / n  # type: ignore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--pg", action="store_true", help="job rows on PostgreSQL")
    args = parser.parse_args()
    setups = [("sqlite", 1), ("sqlite", 2)]
    if redis_available():
        setups += [("redis", 1), ("redis", 2)]
    else:
        print(f"no Redis at {REDIS_URL}: Redis setups skipped")
    base = noop_call_us()
    db = "PostgreSQL" if args.pg else "SQLite"
    print(f"{args.jobs} no-op jobs; job rows on {db}; cpus {os.cpu_count()}, load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"the no-op job function called directly: {base:.1f} µs")
    print(f"{'queue':<8}{'workers':>8}{'jobs/s':>9}{'enqueue ms':>12}{'overhead ms/job':>17}"
          f"{'p50 s':>8}{'p95 s':>8}")
    for kind, workers in setups:
        r = one_setup(kind, workers, args.jobs, args.pg)
        print(f"{kind:<8}{workers:>8}{r['jobs_per_s']:>9.1f}{r['enqueue_ms']:>12.2f}"
              f"{r['overhead_ms']:>17.1f}{r['p50_s']:>8.2f}{r['p95_s']:>8.2f}", flush=True)
    print("overhead = worker-seconds per job (claim, reporter thread, end, message), against "
          f"{base / 1000:.4f} ms for the function itself")


if __name__ == "__main__":
    main()
