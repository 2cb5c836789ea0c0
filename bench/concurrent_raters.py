"""50 raters submitting at once: is any rating lost or written twice?

Each of 50 threads is one expert who submits all 200 replies of a training day through the
scoring service, in their own random order, and submits every tenth reply a second time straight
away (a double click). Run against SQLite (a temp file) and PostgreSQL (a throwaway database on
127.0.0.1:5432, user postgres, created and dropped here).

    .venv/bin/python bench/concurrent_raters.py [--threads 50] [--items 200] [--skip-postgres]

Prints, per database: submits, lost (a submit that returned but has no row), duplicated (rows
beyond one per rater, reply and rubric version, or extra per-criterion rows), double clicks that
wrote again, errors, p50/p95 submit latency, and how far the dashboard's stored sums (kept by
every submit, folded in by the next dashboard view) are from aggregating the ratings. No
asserts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.domain.enums import ConversationKind, Group, Role, TurnRole  # noqa: E402
from workbench.domain.library import load_library  # noqa: E402
from workbench.services import training  # noqa: E402
from workbench.storage import repo  # noqa: E402
from workbench.storage.db import make_engine, migrate, session_scope  # noqa: E402
from workbench.storage.tables import TrainingDay  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def setup(engine: sa.Engine, raters: int, items: int) -> tuple[list[int], list[int], int, dict]:
    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    loaded = lib.rubric("expert")
    with session_scope(engine) as s:
        rv = repo.record_rubric_version(session=s, loaded=loaded)
        target = repo.create_bot_target(session=s, name="bench", kind="reference")
        pv = repo.set_prompt(session=s, target=target, content="bench", label="v1")
        snap = repo.snapshot_scenario(session=s, loaded=lib.scenarios[sorted(lib.scenarios)[0]])
        day = TrainingDay(name="bench", day=date.today(), overlap=raters,
                          expert_rubric_version_id=rv.id)
        s.add(day)
        s.flush()
        replies = []
        for i in range(items):
            conv = repo.create_conversation(session=s, kind=ConversationKind.scripted,
                                            training_day_id=day.id, bot_target_id=target.id,
                                            prompt_version_id=pv.id,
                                            scenario_snapshot_id=snap.id)
            repo.append_turn(session=s, conversation_id=conv.id, role=TurnRole.user,
                             content=f"vraag {i}")
            replies.append(repo.append_turn(session=s, conversation_id=conv.id,
                                            role=TurnRole.assistant,
                                            content=f"antwoord {i}").id)
        people = [repo.create_participant(session=s, code=f"rater-{k}", role=Role.expert,
                                          group=Group.expert).id for k in range(raters)]
    full = {c.key: 4 if c.scale == "likert_5" else "yes" for c in loaded.rubric.criteria}
    return people, replies, rv.id, full


def run(engine: sa.Engine, threads: int, items: int) -> dict:
    people, replies, rv, full = setup(engine, threads, items)
    latencies: list[float] = []
    ok: set[tuple[int, int]] = set()
    rewrites = errors = 0
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def rater(rater_id: int) -> None:
        nonlocal rewrites, errors
        order = replies[:]
        random.Random(rater_id).shuffle(order)
        start.wait()
        for n, turn_id in enumerate(order):
            for attempt in range(2 if n % 10 == 0 else 1):
                t0 = time.perf_counter()
                try:
                    result = training.submit_rating(engine=engine, rater_id=rater_id,
                                                    turn_id=turn_id,
                                            rubric_version_id=rv,
                                            form=training.RatingInput(values=full))
                except Exception as exc:  # counted and shown, never hidden
                    with lock:
                        errors += 1
                        if errors <= 3:
                            print(f"    error: {type(exc).__name__}: {exc}"[:200])
                    continue
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(ms)
                    ok.add((rater_id, turn_id))
                    if attempt == 1 and not result.already_submitted:
                        rewrites += 1

    workers = [threading.Thread(target=rater, args=(p,)) for p in people]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT rater_id, turn_id, rubric_version_id FROM rating")).all()
        scores = conn.execute(sa.text("SELECT count(*) FROM rating_score")).scalar_one()
    keys = {(r[0], r[1]) for r in rows}
    lost = len(ok - keys)
    duplicated = (len(rows) - len({tuple(r) for r in rows})) + max(0, scores - len(rows) *
                                                                     len(full))
    latencies.sort()
    return dict(submits=len(latencies), expected_rows=threads * items, rows=len(rows),
                lost=lost, duplicated=duplicated, double_click_rewrites=rewrites,
                errors=errors, p50=statistics.median(latencies),
                p95=latencies[int(0.95 * (len(latencies) - 1))], wall=wall,
                stats=stored_versus_ratings(engine))


def stored_versus_ratings(engine: sa.Engine) -> str:
    """The dashboard's stored sums (every submit above marked its reply; the next view folds
    the marks in) against aggregating the ratings now: the largest difference of any column."""
    from workbench.services.dashboard import apply_pending_statistics
    from workbench.storage.stats.reads import reply_cube
    from workbench.storage.stats.sql import (
        PROMPT_VERSION,
        SUM_COLUMNS,
        DashboardFilter,
        load_rubric_meta,
        reply_sums,
    )

    t0 = time.perf_counter()
    folded = apply_pending_statistics(engine)  # what the next dashboard view does first
    fold_ms = (time.perf_counter() - t0) * 1000
    with engine.connect() as conn:
        stored = reply_cube(conn, DashboardFilter())[list(SUM_COLUMNS)].sum()
        live = conn.execute(reply_sums(DashboardFilter(), load_rubric_meta(conn), by=[
            PROMPT_VERSION.label("prompt_version_id")])).mappings().all()
    totals = {c: sum(float(r[c] or 0) for r in live) for c in SUM_COLUMNS}
    worst = max(abs(stored[c] - totals[c]) for c in SUM_COLUMNS)
    return (f"the next dashboard view folded {folded} marked replies in {fold_ms:.0f} ms; "
            f"stored sums vs the ratings: largest difference {worst:.2g} "
            f"({int(stored['ratings']):,} ratings on {int(stored['replies']):,} replies)")


def show(name: str, r: dict) -> None:
    print(f"\n{name}: {r['submits']:,} submits in {r['wall']:.1f} s "
          f"({r['submits'] / r['wall']:.0f}/s)")
    print(f"  rows {r['rows']:,} (expected {r['expected_rows']:,})   lost {r['lost']}   "
          f"duplicated {r['duplicated']}   double clicks that wrote again "
          f"{r['double_click_rewrites']}   errors {r['errors']}")
    print(f"  submit latency p50 {r['p50']:.1f} ms   p95 {r['p95']:.1f} ms")
    print(f"  {r['stats']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-raters-")
    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    migrate(engine)
    show("SQLite (WAL, BEGIN IMMEDIATE)", run(engine, args.threads, args.items))
    engine.dispose()

    if args.skip_postgres:
        return
    name = f"workbench_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT",
                                 connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"\nPostgreSQL skipped: no server at {PG_ADMIN} ({type(exc).__name__})")
        return
    try:
        engine = make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
        migrate(engine)
        show("PostgreSQL (read committed)", run(engine, args.threads, args.items))
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
