"""How fast is the rater's next item plus one submit, with 10k and with 1M ratings stored?

Data layout (the same for both sizes, so only the table sizes differ): training days of 2,000
bot replies, each reply rated by 3 of 30 experts. The last day is open: 1,334 of its replies are
fully rated and 1,000 still need raters, so the queue must skip past the rated ones. A fresh
expert then takes 200 items: next item (draft check + queue query) and one submit through the
scoring service. Rows are bulk-inserted with SQLAlchemy Core executemany, not the ORM.
Also times the queue counter beside the form ("3 van 12 in je rij", counted over the whole day
each time the page is drawn), the scoring page's script run under AppTest, and shows the queue's
query plan.

    .venv/bin/python bench/scoring_latency.py [--sizes 10000 1000000] [--items 200]
        [--url postgresql://postgres@127.0.0.1:5432/DB]  # default: a SQLite file in a tmp dir

Prints figures only; no asserts. Target: p95 of next item + submit <= 50 ms at 1M ratings and
p95 growth 10k -> 1M <= 1.5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.domain.enums import ConversationKind, Group, Role  # noqa: E402
from workbench.domain.library import load_library  # noqa: E402
from workbench.services import training  # noqa: E402
from workbench.storage import repo  # noqa: E402
from workbench.storage.db import (  # noqa: E402
    make_engine,
    migrate,
    refresh_planner_statistics,
    session_scope,
)
from workbench.storage.stats.stored import rebuild  # noqa: E402
from workbench.storage.tables import (  # noqa: E402
    Conversation,
    Rating,
    TrainingDay,
    Turn,
    utcnow,
)

REPLIES_PER_DAY = 2000
RATERS = 30
PER_REPLY = 3
OPEN_UNRATED = 1000
REPLIES_PER_CONVERSATION = 5
CHUNK = 50_000


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def setup_base(engine: sa.Engine) -> dict:
    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    with session_scope(engine) as s:
        rv = repo.record_rubric_version(session=s, loaded=lib.rubric("expert"))
        target = repo.create_bot_target(session=s, name="bench", kind="reference")
        pv = repo.set_prompt(session=s, target=target, content="bench", label="v1")
        snap = repo.snapshot_scenario(session=s, loaded=lib.scenarios[sorted(lib.scenarios)[0]])
        raters = [repo.create_participant(session=s, code=f"bench-{i}", role=Role.expert,
                                          group=Group.expert).id for i in range(RATERS)]
        me = repo.create_participant(session=s, code="bench-me", role=Role.expert,
                                     group=Group.expert).id
        rubric = lib.rubric("expert").rubric
        return dict(rv=rv.id, target=target.id, pv=pv.id, snap=snap.id, raters=raters, me=me,
                    rubric=rubric)


def fill(engine: sa.Engine, base: dict, n_ratings: int) -> int:
    """Bulk-insert days, conversations, turns and ratings; returns the open day's id."""
    rated_replies = -(-n_ratings // PER_REPLY)
    # Full closed days of rated replies; the last (open) day gets the rated remainder plus the
    # replies that still need raters, so the queue has to look past rated ones.
    n_days = max(1, -(-rated_replies // REPLIES_PER_DAY))
    now = utcnow()
    values = {c.key: 4 if c.scale == "likert_5" else 1 for c in base["rubric"].criteria}
    with engine.begin() as conn:
        days = [dict(name=f"dag {i}", day=date(2025, 1, 1) + timedelta(days=i),
                     status="closed" if i < n_days - 1 else "open", overlap=PER_REPLY,
                     exposure_cap=3, scenario_ids=[], bot_target_ids=[base["target"]],
                     prompt_version_ids=[base["pv"]], expert_rubric_version_id=base["rv"],
                     is_demo=False, created_at=now) for i in range(n_days)]
        conn.execute(sa.insert(TrainingDay), days)
        day_ids = [r[0] for r in conn.execute(sa.select(TrainingDay.id).order_by(TrainingDay.id))]
    reply_days = [day_ids[min(i // REPLIES_PER_DAY, n_days - 1)] for i in range(rated_replies)]
    open_day = day_ids[-1]
    reply_days += [open_day] * OPEN_UNRATED
    conv_rows, turn_rows, rating_rows = [], [], []
    conv_id = turn_id = 0
    rated_left = n_ratings

    def flush(conn: sa.Connection) -> None:
        for table, rows in ((Conversation, conv_rows), (Turn, turn_rows), (Rating, rating_rows)):
            if rows:
                conn.execute(sa.insert(table), rows)
                rows.clear()

    with engine.begin() as conn:
        for i, day_id in enumerate(reply_days):
            if i % REPLIES_PER_CONVERSATION == 0 or reply_days[i - 1] != day_id:
                conv_id += 1
                conv_rows.append(dict(id=conv_id, kind=ConversationKind.roleplay,
                                      status="finished", training_day_id=day_id,
                                      scenario_snapshot_id=base["snap"],
                                      bot_target_id=base["target"],
                                      prompt_version_id=base["pv"], meta={}, is_demo=False,
                                      started_at=now))
                index = 0
            for role in ("user", "assistant"):
                turn_id += 1
                turn_rows.append(dict(id=turn_id, conversation_id=conv_id, index=index,
                                      role=role, content=f"{role} {i}", status="ok",
                                      parameters={}, started_at=now, created_at=now,
                                      withdrawn=False, prompt_version_id=base["pv"]))
                index += 1
            if i < rated_replies:
                for k in range(PER_REPLY):
                    if rated_left <= 0:
                        break
                    rated_left -= 1
                    rating_rows.append(dict(
                        turn_id=turn_id, rater_id=base["raters"][(i + k) % RATERS],
                        rubric_version_id=base["rv"], source="human", status="submitted",
                        values=values, overall=4.0, unsafe=False, unsafe_flag=False,
                        created_at=now, updated_at=now, submitted_at=now, withdrawn=False))
            if len(rating_rows) >= CHUNK or len(turn_rows) >= CHUNK:
                flush(conn)
        flush(conn)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ("conversation", "turn", "rating"):
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))"))
            conn.execute(sa.text("ANALYZE"))
    return open_day


def query_plan(engine: sa.Engine, base: dict, day_id: int) -> str:
    from workbench.storage.repo_training import next_queue_turn_id  # noqa: F401

    if engine.dialect.name != "sqlite":
        return "(plan shown for SQLite only)"
    from sqlmodel import Session

    captured: list = []

    def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "day_replies" in statement and not captured:
            captured.append(statement)
            captured.append(tuple(str(p) if hasattr(p, "value") else p for p in params))

    sa.event.listen(engine, "before_cursor_execute", grab)
    with Session(engine) as s:
        from workbench.storage import repo_training

        repo_training.next_queue_turn_id(session=s, rater_id=base["me"], training_day_id=day_id,
                                         rubric_version_id=base["rv"], overlap=PER_REPLY)
    sa.event.remove(engine, "before_cursor_execute", grab)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN QUERY PLAN " + captured[0], captured[1])
        return "\n".join(f"    {row[-1]}" for row in cur.fetchall())
    finally:
        raw.close()


def measure(engine: sa.Engine, base: dict, day_id: int, items: int) -> dict[str, list[float]]:
    nxt, sub, both, counter = [], [], [], []
    full = {c.key: 4 if c.scale == "likert_5" else "yes" for c in base["rubric"].criteria}
    for _ in range(items):
        t0 = time.perf_counter()
        found = training.next_turn_id(engine=engine, rater_id=base["me"], training_day_id=day_id)
        t1 = time.perf_counter()
        assert found is not None
        training.submit_rating(engine=engine, rater_id=base["me"], turn_id=found[0],
                       rubric_version_id=found[1], form=training.RatingInput(values=full))
        t2 = time.perf_counter()
        training.queue_progress(engine=engine, rater_id=base["me"], training_day_id=day_id)
        counter.append((time.perf_counter() - t2) * 1000)
        nxt.append((t1 - t0) * 1000)
        sub.append((t2 - t1) * 1000)
        both.append((t2 - t0) * 1000)
    return {"next": nxt, "submit": sub, "both": both, "counter": counter}


def page_runs(db_url: str, base: dict, runs: int = 10) -> tuple[float, float]:
    """The scoring page under AppTest, signed in as the bench rater."""
    from streamlit.testing.v1 import AppTest

    from workbench.config import get_settings

    os.environ["WORKBENCH_DATABASE_URL"] = db_url
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "workbench" / "ui" / "streamlit_app.py"),
                           default_timeout=120)
    at.session_state["auth_participant_id"] = base["me"]
    at.run()
    at.switch_page("app_pages/scoring.py").run()
    assert not at.exception, at.exception
    at.run()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), pct(times, 0.95)


def build(n: int, url: str | None, cache_mb: int | None) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench-scoring-")
    db_url = url or f"sqlite:///{tmp}/bench.db"
    engine = make_engine(db_url)
    if cache_mb and engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _cache(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
    if url:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine)
    base = setup_base(engine)
    t0 = time.perf_counter()
    day_id = fill(engine, base, n)
    fill_s = time.perf_counter() - t0
    with engine.begin() as conn:  # the bulk insert bypassed them, as a restore would
        rebuild(conn)
    refresh_planner_statistics(engine)  # what the app's next start does (migrate)
    rebuild_s = time.perf_counter() - t0 - fill_s
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM rating")).scalar_one()
    print(f"\n{count:,} ratings ({engine.dialect.name}); bulk insert took {fill_s:.1f} s, "
          f"rebuilding the dashboard's stored statistics {rebuild_s:.1f} s")
    print("  queue query plan:")
    print(query_plan(engine, base, day_id))
    for _ in range(5):  # warm the caches the way a working app has them
        training.next_turn_id(engine=engine, rater_id=base["me"], training_day_id=day_id)
    return dict(n=n, url=db_url, engine=engine, base=base, day=day_id, tmp=tmp,
                raw={"next": [], "submit": [], "both": [], "counter": []})


def report(sizes: list[dict], items: int) -> None:
    for run in sizes:
        print(f"\n{run['n']:,} ratings:")
        for name, values in run["raw"].items():
            label = {"next": "next item", "submit": "submit", "both": "next item + submit",
                     "counter": "queue counter"}[name]
            print(f"  {label:<20} p50 {statistics.median(values):6.2f} ms   "
                  f"p95 {pct(values, 0.95):6.2f} ms   ({len(values)} items)")
        page = page_runs(run["url"], run["base"])
        print(f"  scoring page (AppTest run)  p50 {page[0]:6.1f} ms   p95 {page[1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4,
                        help="sizes are measured in turns, so machine load hits all alike")
    parser.add_argument("--url", default=None, help="PostgreSQL database to use (emptied!)")
    parser.add_argument("--sqlite-cache-mb", type=int, default=None,
                        help="PRAGMA cache_size for this bench (the app uses SQLite's 2 MB)")
    args = parser.parse_args()
    if args.url and len(args.sizes) > 1:
        parser.error("with --url give one size per run (the database is emptied each time)")
    runs = [build(n, args.url, args.sqlite_cache_mb) for n in args.sizes]
    per_round = max(1, args.items // args.rounds)
    for _ in range(args.rounds):
        for run in runs:
            figures = measure(run["engine"], run["base"], run["day"], per_round)
            for name in run["raw"]:
                run["raw"][name] += figures[name]
    report(runs, args.items)
    if len(runs) >= 2:
        small, large = runs[0]["raw"], runs[-1]["raw"]
        print("\ngrowth of p95 from the smallest to the largest size:")
        for name in ("next", "submit", "both", "counter"):
            print(f"  {name:<8} {pct(large[name], 0.95) / pct(small[name], 0.95):.2f}x")
        p95 = pct(large["both"], 0.95)
        verdict = "meets" if p95 <= 50 else "misses"
        print(f"p95 next item + submit at {args.sizes[-1]:,}: {p95:.1f} ms "
              f"({verdict} the 50 ms target)")
    for run in runs:
        run["engine"].dispose()
        shutil.rmtree(run["tmp"], ignore_errors=True)  # a 1M SQLite file is over 1 GB


if __name__ == "__main__":
    main()
