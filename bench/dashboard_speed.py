"""Dashboard speed: build N ratings (default 1M) on SQLite and on PostgreSQL, then time every
dashboard frame (`build_dashboard`) against loading all ratings into pandas and aggregating there.

    .venv/bin/python bench/dashboard_speed.py [--ratings 1000000] [--only sqlite|postgres]

Shape (printed): 5 ratings per reply (3 experts on the expert rubric, 2 panel members on the
panel rubric), 5 replies per conversation, 4 prompt versions, 12 training days, the 24 shipped
scenarios; 97% submitted, 0.5% withdrawn. rating_score gets the full long form: 9 rows per
expert rating and 4 per panel rating (about 7M rows for 1M ratings). Data is bulk-loaded
(executemany on SQLite, COPY on PostgreSQL) with secondary indexes dropped during the load and
rebuilt after, as a restore would; then the dashboard's stored statistics are rebuilt from the
ratings (as migration 0004 does). PostgreSQL: 127.0.0.1:5432, user postgres (trust); a
throw-away database is created and dropped.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.domain.enums import Group, Role  # noqa: E402
from workbench.domain.library import load_library  # noqa: E402
from workbench.services.dashboard._dashboard import build_dashboard  # noqa: E402
from workbench.storage import repo  # noqa: E402
from workbench.storage.db import make_engine, migrate, session_scope  # noqa: E402
from workbench.storage.stats.stored import rebuild  # noqa: E402
from workbench.storage.tables import TrainingDay  # noqa: E402

PG_ADMIN = os.environ.get("WORKBENCH_BENCH_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PER_REPLY = (3, 2)  # expert ratings, panel ratings per reply
REPLIES_PER_CONV = 5
N_DAYS, N_RATERS = 12, 40
QUALITY = (3.2, 3.5, 3.8, 4.1)  # four prompt versions, each better than the last
BULK_TABLES = ("conversation", "turn", "rating", "rating_score")
REPLY_TEXT = ("Dank je dat je dit vertelt. Wat je meemaakt is niet oké en het is niet jouw "
              "schuld. Ben je op dit moment veilig? Bij acuut gevaar bel je 112. Je kunt ook "
              "anoniem bellen met Veilig Thuis via 0800-2000, dag en nacht en gratis. ")
USER_TEXT = "Ik weet niet goed of ik hier goed zit, maar thuis gaat het al een tijd niet goed."


def small_tables(engine: sa.Engine) -> dict[str, object]:
    """Library snapshots, rubric versions, raters, a bot with 4 prompt versions, 12 days."""
    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    with session_scope(engine) as s:
        snaps = [repo.snapshot_scenario(session=s, loaded=sc).id for sc in lib.scenarios.values()]
        rubrics = {}
        for rid in ("expert", "lived-experience"):
            loaded = lib.rubric(rid)
            assert loaded is not None
            rubrics[rid] = (repo.record_rubric_version(session=s, loaded=loaded).id,
                            loaded.rubric)
        raters = {g: [repo.create_participant(
            session=s, code=f"B-{g.value[:3]}-{i}", group=g,
            role=Role.expert if g == Group.expert else Role.panel).id for i in range(N_RATERS)]
            for g in Group}
        target = repo.create_bot_target(session=s, name="bench", kind="reference")
        pvs = [repo.set_prompt(session=s, target=target, content=f"prompt {i}",
                               label=f"v{i + 1}").id for i in range(len(QUALITY))]
        days = []
        for i in range(N_DAYS):
            day = TrainingDay(name=f"Dag {i + 1}", day=date(2026, 1, 5) + timedelta(weeks=i))
            s.add(day)
            s.flush()
            days.append((day.id, day.day))
    return {"snaps": snaps, "rubrics": rubrics, "raters": raters, "target": target.id,
            "pvs": pvs, "days": days}


def generate(n_ratings: int, small: dict, seed: int = 1) -> dict[str, pd.DataFrame]:
    """The four big tables as data frames (ids assigned here, foreign keys consistent)."""
    rng = np.random.default_rng(seed)
    per = sum(PER_REPLY)
    n_replies = n_ratings // per
    n_conv = -(-n_replies // REPLIES_PER_CONV)
    conv = pd.DataFrame({"id": np.arange(1, n_conv + 1)})
    pv_idx = rng.integers(0, len(QUALITY), n_conv)
    day_idx = np.minimum(pv_idx * 3 + rng.integers(0, 3, n_conv), N_DAYS - 1)  # versions in time
    day_dates = np.array([d for _, d in small["days"]])[day_idx]
    started = pd.to_datetime(day_dates) + pd.to_timedelta(rng.integers(8, 17, n_conv), unit="h")
    conv = conv.assign(kind="scripted", status="finished",
                       training_day_id=np.array([i for i, _ in small["days"]])[day_idx],
                       scenario_snapshot_id=rng.choice(small["snaps"], n_conv),
                       bot_target_id=small["target"],
                       prompt_version_id=np.array(small["pvs"])[pv_idx],
                       meta="{}", is_demo=False, started_at=started)
    # Turns: user, assistant, user, ... ; reply r is turn 2r+2 (1-based ids).
    r = np.arange(n_replies)
    c = r // REPLIES_PER_CONV
    reply_ids = 2 * r + 2
    turns = pd.DataFrame({
        "id": np.arange(1, 2 * n_replies + 1),
        "conversation_id": np.repeat(conv["id"].to_numpy()[c], 2),
        "index": np.tile([0, 1], n_replies) + 2 * np.repeat(r % REPLIES_PER_CONV, 2),
        "role": np.tile(["user", "assistant"], n_replies),
        "content": np.tile([USER_TEXT, REPLY_TEXT * 2], n_replies),
        "status": "ok", "parameters": "{}",
        "prompt_version_id": np.where(np.tile([False, True], n_replies),
                                      np.repeat(conv["prompt_version_id"].to_numpy()[c], 2), None),
        "created_at": np.repeat(started.to_numpy()[c], 2),
        "withdrawn": np.tile([False, True], n_replies) & (rng.random(2 * n_replies) < 0.001),
    })
    turns["started_at"] = turns["created_at"]
    quality = np.array(QUALITY)[pv_idx[c]] + rng.normal(0, 0.7, n_replies)
    ratings, scores = [], []
    next_id = 1
    for g_i, (group, rid) in enumerate(((Group.expert, "expert"),
                                        (Group.lived_experience, "lived-experience"))):
        rv_id, rubric = small["rubrics"][rid]
        k = PER_REPLY[g_i]
        n = n_replies * k
        turn = np.repeat(reply_ids, k)
        slot = np.tile(np.arange(k), n_replies)
        rater = np.array(small["raters"][group])[(np.repeat(r, k) * k + slot) % N_RATERS]
        q = np.repeat(quality, k) + rng.normal(0, 0.6, n)
        vals, total, weights, unsafe = {}, np.zeros(n), 0.0, np.zeros(n, bool)
        for crit in rubric.criteria:
            if crit.scale == "yes_no":
                v = (q + rng.normal(0, 0.8, n) > 3.5).astype(int)
            else:
                v = np.clip(np.rint(q + rng.normal(0, 0.7, n)), 1, 5).astype(int)
                total += crit.weight * v
                weights += crit.weight
            if crit.critical:
                unsafe |= v == (0 if crit.scale == "yes_no" else 1)
            vals[crit.key] = v
        ids = np.arange(next_id, next_id + n)
        next_id += n
        status = np.where(rng.random(n) < 0.97, "submitted", "draft")
        when = turns["created_at"].to_numpy()[turn - 1] + np.timedelta64(3, "h")
        ratings.append(pd.DataFrame({
            "id": ids, "turn_id": turn, "rater_id": rater, "rubric_version_id": rv_id,
            "source": "human", "status": status, "values": _values_json(vals),
            "overall": total / weights, "unsafe": unsafe, "unsafe_flag": False,
            "created_at": when, "updated_at": when,
            "submitted_at": pd.Series(when).where(status == "submitted"),
            "withdrawn": rng.random(n) < 0.005}))
        scores += [pd.DataFrame({"rating_id": ids, "criterion": key, "value": v})
                   for key, v in vals.items()]
    score = pd.concat(scores, ignore_index=True).sort_values(["rating_id", "criterion"],
                                                             kind="stable")
    return {"conversation": conv, "turn": turns, "rating": pd.concat(ratings, ignore_index=True),
            "rating_score": score}


def _values_json(vals: dict[str, np.ndarray]) -> np.ndarray:
    keys = list(vals)
    cols = [vals[k].astype(str) for k in keys]
    out = np.full(len(cols[0]), "{", dtype=object)
    for i, (k, col) in enumerate(zip(keys, cols, strict=True)):
        out = out + (", " if i else "") + f'"{k}": ' + col.astype(object)
    return out + "}"


def _secondary_indexes(conn: sa.Connection) -> list[tuple[str, str]]:
    if conn.dialect.name == "sqlite":
        q = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
             f"AND tbl_name IN ({', '.join(repr(t) for t in BULK_TABLES)})")
    else:
        q = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND "
             f"tablename IN ({', '.join(repr(t) for t in BULK_TABLES)}) "
             "AND indexname NOT LIKE '%%pkey' AND indexdef NOT LIKE 'CREATE UNIQUE%%'")
    return [(n, d) for n, d in conn.exec_driver_sql(q)]


def load_sqlite(engine: sa.Engine, frames: dict[str, pd.DataFrame]) -> None:
    with engine.connect() as conn:
        indexes = _secondary_indexes(conn)
    raw = sqlite3.connect(engine.url.database or "")
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    for table in BULK_TABLES:
        df = frames[table]
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = df[col].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        cols = ", ".join(f'"{c}"' for c in df.columns)
        marks = ", ".join("?" for _ in df.columns)
        rows = df.astype(object).where(df.notna(), None).itertuples(index=False, name=None)
        raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        raw.commit()
    for _, ddl in indexes:
        raw.execute(ddl)
    raw.execute("ANALYZE")
    raw.commit()
    raw.close()


def load_postgres(engine: sa.Engine, frames: dict[str, pd.DataFrame]) -> None:
    with engine.begin() as conn:
        indexes = _secondary_indexes(conn)
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")  # no FK triggers during the load
        for table in BULK_TABLES:
            df = frames[table]
            buf = io.StringIO()
            df.to_csv(buf, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S+00")
            cols = ", ".join(f'"{c}"' for c in df.columns)
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(buf.getvalue())
        for _, ddl in indexes:
            cur.execute(ddl)
        raw.commit()
        cur.execute("SET session_replication_role = DEFAULT")
        for table in BULK_TABLES[:-1]:  # rating_score has no serial id
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # what autovacuum would have done by now


def naive(engine: sa.Engine) -> float:
    """The way not to do it: every rating and score into pandas, then aggregate there."""
    start = time.perf_counter()
    with engine.connect() as conn:
        ratings = pd.read_sql(sa.text(
            "SELECT r.id, r.turn_id, r.rubric_version_id, r.source, r.status, r.withdrawn, "
            "r.overall, r.unsafe, t.role, t.status AS turn_status, t.withdrawn AS turn_withdrawn,"
            " coalesce(t.prompt_version_id, c.prompt_version_id) AS pv, c.training_day_id, "
            "c.scenario_snapshot_id FROM rating r JOIN turn t ON t.id = r.turn_id "
            "JOIN conversation c ON c.id = t.conversation_id"), conn)
        scores = pd.read_sql(sa.text("SELECT rating_id, criterion, value FROM rating_score"), conn)
    keep = ((ratings["status"] == "submitted") & ~ratings["withdrawn"].astype(bool)
            & ratings["source"].isin(["human", "simulated"]) & (ratings["role"] == "assistant")
            & (ratings["turn_status"] == "ok") & ~ratings["turn_withdrawn"].astype(bool))
    r = ratings[keep].copy()
    would_send = scores[scores["criterion"] == "would_send"].set_index("rating_id")["value"]
    r["ws"] = r["id"].map(would_send)
    r["unsafe"] = r["unsafe"].astype(int)
    per_reply = r.groupby("turn_id").agg(
        pv=("pv", "first"), day=("training_day_id", "first"),
        snap=("scenario_snapshot_id", "first"), mean=("overall", "mean"),
        unsafe=("unsafe", "max"), wsn=("ws", "count"), wsy=("ws", "sum"))
    per_reply["mean2"] = per_reply["mean"] ** 2
    per_reply["sent"] = per_reply["wsy"] * 2 > per_reply["wsn"]
    per_reply.groupby(["pv", "day", "snap"], dropna=False).agg(
        n=("mean", "size"), s=("mean", "sum"), ss=("mean2", "sum"), unsafe=("unsafe", "sum"),
        sent=("sent", "sum"))
    merged = scores.merge(r[["id", "scenario_snapshot_id"]], left_on="rating_id", right_on="id")
    merged.groupby(["scenario_snapshot_id", "criterion"])["value"].agg(["count", "sum"])
    return time.perf_counter() - start


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """(first run, best of the following runs) in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times[0], min(times[1:] or times)


def breakdown(engine: sa.Engine) -> str:
    """Seconds per part of build_dashboard, to see where the time goes."""
    from workbench.services.dashboard import _dashboard as dash
    from workbench.storage.stats import reads as dq

    filt = dq.DashboardFilter()
    parts = []
    with dq.reader(engine).connect() as conn:
        dq.tune(conn)
        meta, snaps = dq.load_rubric_meta(conn), dq.load_snapshots(conn)
        start = time.perf_counter()
        cube = dq.reply_cube(conn, filt)
        parts.append(("reply cube", time.perf_counter() - start))
        newest = int(cube["prompt_version_id"].max())
        for label, fn in (
                ("heatmap", lambda: dash.heatmap(
                    conn, dq.DashboardFilter(prompt_version_ids=(newest,)), meta, snaps)),
                ("agreement", lambda: dash.agreement(conn, filt, meta)),
                ("excerpts", lambda: dash.excerpts(conn, filt, snaps, {}))):
            start = time.perf_counter()
            fn()
            parts.append((label, time.perf_counter() - start))
    return ", ".join(f"{label} {sec:.2f} s" for label, sec in parts)


def bench(name: str, engine: sa.Engine, n_ratings: int) -> None:
    migrate(engine)
    t0 = time.perf_counter()
    small = small_tables(engine)
    frames = generate(n_ratings, small)
    t1 = time.perf_counter()
    (load_sqlite if name == "sqlite" else load_postgres)(engine, frames)
    t2 = time.perf_counter()
    # A bulk load bypasses the write paths that keep the stored statistics current; after a
    # restore they are rebuilt, as migration 0004 does for a database that predates them.
    with engine.begin() as conn:
        counted = rebuild(conn)
    t3 = time.perf_counter()
    rows = {t: len(f) for t, f in frames.items()}
    print(f"\n[{name}] built {rows['rating']:,} ratings on {rows['turn'] // 2:,} replies "
          f"({rows['conversation']:,} conversations, {rows['turn']:,} turns, "
          f"{rows['rating_score']:,} rating_score rows): generate {t1 - t0:.1f} s, "
          f"load + index {t2 - t1:.1f} s, rebuild stored statistics of {counted:,} replies "
          f"{t3 - t2:.1f} s")
    del frames
    first, best = timed(lambda: build_dashboard(engine))
    d = build_dashboard(engine)
    slow = naive(engine)
    print(f"[{name}] all dashboard frames (build_dashboard): first {first:.2f} s, "
          f"best of 2 more {best:.2f} s")
    print(f"[{name}] of which: {breakdown(engine)}")
    print(f"[{name}] pandas baseline (load every rating + score, aggregate): {slow:.2f} s "
          f"→ ratio {slow / best:.1f}x (target ≤ 1 s and ≥ 5x: "
          f"{'met' if best <= 1 and slow / best >= 5 else 'NOT met'})")
    print(f"[{name}] check: {d.totals['replies']:,} scored replies, "
          f"{d.totals['ratings']:,} counted ratings, headline {d.headline.label}: "
          f"{d.headline.report.verdict.value}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ratings", type=int, default=1_000_000)
    ap.add_argument("--only", choices=("sqlite", "postgres"))
    args = ap.parse_args()
    # Load the Dutch scrubber (seconds, once per process) before any timing.
    from workbench.services.dashboard._dashboard import excerpt

    excerpt("Bel Jan de Vries op 06-12345678.")
    if args.only != "postgres":
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            bench("sqlite", engine, args.ratings)
            engine.dispose()
    if args.only != "sqlite":
        name = f"workbench_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = make_engine(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}")
        try:
            bench("postgres", engine, args.ratings)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
