"""Stored dashboard statistics, kept current for every write that changes what the dashboard
counts: a submitted rating, a withdrawal, an adjudication, a reply or conversation edited.

What each counted reply adds to the two cubes (``tables.dashboard_cube``, sums per prompt
version × training day × scenario snapshot × bot × reply day, and
``tables.dashboard_criterion_cube``, rating-level sums per criterion) is recorded in
``reply_stat``. A refresh computes a reply's contribution again from its ratings with the
dashboard's own SQL (``stats.sql.reply_sums``), takes the recorded one out of the cubes and
puts the new one in. So the stored sums are, by construction, what aggregating the ratings
would give (tests compare the two after every kind of write), and refreshing an unchanged
reply changes nothing.

Such a write only marks its replies: database triggers (``stats.triggers``) insert the reply
into ``reply_stat_pending``, whoever made the write; whoever reads the cubes next applies the
marks (``apply_pending``), so raters never queue on the shared cube rows. A pass deletes
exactly the marks it read, so a rating committed during a pass leaves a mark for the next one
and no change is lost.

Concurrency: on PostgreSQL two passes may run side by side, so a refresh first locks the
replies' turn rows (FOR NO KEY UPDATE, in id order; a plain FOR UPDATE would wait on every
rating insert's foreign-key lock); the second pass then reads the first one's contribution and
finds nothing left to move. SQLite runs one writer at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.storage.stats.sql import (
    PROMPT_VERSION,
    SUM_COLUMNS,
    C,
    DashboardFilter,
    R,
    RubricMeta,
    T,
    criterion_sums,
    load_rubric_meta,
    rating_conditions,
    reply_sums,
)
from workbench.storage.tables import (
    CUBE_COUNT_COLUMNS,
    dashboard_criterion_cube,
    dashboard_cube,
    reply_stat,
    reply_stat_pending,
)

DIMENSIONS = ("prompt_version_id", "training_day_id", "scenario_snapshot_id", "bot_target_id",
              "reply_day")
BATCH = 500  # replies per refresh query (bounded IN lists)
EVERY_VERSION = 0  # the rubric_version_id of sums over all of a reply's ratings


class Contribution(NamedTuple):
    cube_key: str
    sums: dict[int, list[float]]  # rubric version (or EVERY_VERSION) → SUM_COLUMNS order
    criteria: list[list[Any]]  # [rubric_version_id, criterion, n, s]


def _typed(values: list[Any]) -> list[Any]:
    """Counts as ints, the sums of means as floats: what the cube's columns hold."""
    return [int(round(v)) if c in CUBE_COUNT_COLUMNS else float(v)
            for c, v in zip(SUM_COLUMNS, values, strict=True)]


def cube_key(dims: dict[str, Any]) -> str:
    return "|".join("" if dims[d] is None else str(dims[d]) for d in DIMENSIONS)


def dimensions_of(key: str) -> dict[str, Any]:
    parts = key.split("|")
    out: dict[str, Any] = {d: (int(v) if v else None)
                           for d, v in zip(DIMENSIONS[:-1], parts[:-1], strict=True)}
    out["reply_day"] = date.fromisoformat(parts[-1]) if parts[-1] else None
    return out


def _utc_day(value: datetime | None) -> date | None:
    if value is None:
        return None
    # SQLite hands back the stored UTC time without a zone; PostgreSQL may add one.
    return (value.astimezone(UTC) if value.tzinfo else value).date()


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), BATCH):
        yield ids[i:i + BATCH]


_IDS: sa.BindParameter[Any] = sa.bindparam("turn_ids", expanding=True)
_BY = [T.c.id.label("turn_id"), PROMPT_VERSION.label("prompt_version_id"),
       C.c.training_day_id, C.c.scenario_snapshot_id, C.c.bot_target_id,
       T.c.created_at.label("created_at")]
_STATEMENTS: dict[tuple[Any, ...], sa.Select] = {}


def _statement(meta: dict[int, RubricMeta], some: bool, kind: int | str) -> sa.Select:
    """One query of a contribution: the reply sums over every rubric version (``kind``
    EVERY_VERSION) or over one version (its id), the criterion sums ("criteria"), or the
    versions the replies were rated under ("versions"). Building them costs more than running
    them for one reply (about 10 ms of SQLAlchemy work per submit), so they are built once per
    set of rubric versions, with the reply ids as an expanding parameter."""
    key = (some, kind, *sorted((m.id, m.audience, m.likert, m.yes_no, m.critical_likert,
                                m.critical_yes_no) for m in meta.values()))
    if key not in _STATEMENTS:
        ids = _IDS if some else None
        if kind == "criteria":
            q = criterion_sums(DashboardFilter(), by=[R.c.turn_id, R.c.rubric_version_id],
                               turn_ids=ids)
        elif kind == "versions":
            q = (sa.select(R.c.rubric_version_id).distinct()
                 .where(*rating_conditions(DashboardFilter())))
            q = q if ids is None else q.where(R.c.turn_id.in_(ids))
        else:
            q = reply_sums(DashboardFilter(rubric_version_id=int(kind) or None), meta, by=_BY,
                           turn_ids=ids)
        _STATEMENTS[key] = q
    return _STATEMENTS[key]


def _sums(row: Any) -> tuple[int, dict[str, Any], list[float]]:
    m = row._mapping
    dims = {d: m[d] for d in DIMENSIONS[:-1]}
    dims["reply_day"] = _utc_day(m["created_at"])
    return m["turn_id"], dims, _typed([m[c] or 0 for c in SUM_COLUMNS])


def contributions(conn: sa.Connection, turn_ids: list[int] | None) -> dict[int, Contribution]:
    """What each counted reply (of ``turn_ids``, or all) adds to the cubes, from its ratings."""
    meta = load_rubric_meta(conn)
    some = turn_ids is not None
    params = {"turn_ids": turn_ids} if some else {}
    out: dict[int, Contribution] = {}
    for row in conn.execute(_statement(meta, some, EVERY_VERSION), params):
        turn_id, dims, sums = _sums(row)
        out[turn_id] = Contribution(cube_key(dims), {EVERY_VERSION: sums}, [])
    for version in sorted(conn.execute(_statement(meta, some, "versions"), params).scalars()):
        if version not in meta:
            continue
        for row in conn.execute(_statement(meta, some, version), params):
            turn_id, _, sums = _sums(row)
            if turn_id in out:
                out[turn_id].sums[version] = sums
    for turn_id, rv_id, criterion, n, s in conn.execute(_statement(meta, some, "criteria"),
                                                        params):
        if turn_id in out:
            out[turn_id].criteria.append([rv_id, criterion, int(n), int(s or 0)])
    return out


def mark_changed(*, session: Session, turn_ids: Iterable[int]) -> None:
    """Mark replies by hand. The triggers mark every write already; this is for a load that
    ran with them disabled (a bulk restore), before `apply_pending`."""
    rows = [{"turn_id": int(t)} for t in sorted(set(turn_ids))]
    if rows:
        session.connection().execute(sa.insert(reply_stat_pending), rows)


PENDING_BATCH = 5_000


def apply_pending(conn: sa.Connection) -> int:
    """Bring the cubes up to date with every marked reply; returns how many replies."""
    done: set[int] = set()
    while True:
        marks = conn.execute(sa.select(reply_stat_pending.c.id, reply_stat_pending.c.turn_id)
                             .order_by(reply_stat_pending.c.id).limit(PENDING_BATCH)).all()
        if not marks:
            return len(done)
        # Not skipping replies refreshed by an earlier batch of this pass: a later mark may
        # stand for a rating committed since.
        ids = sorted({t for _, t in marks})
        for batch in _batches(ids):
            _refresh(conn, batch)
        done.update(ids)
        # Exactly the marks read: one added meanwhile stays for the next pass.
        for i in range(0, len(marks), BATCH):
            conn.execute(sa.delete(reply_stat_pending).where(
                reply_stat_pending.c.id.in_([m for m, _ in marks[i:i + BATCH]])))


def refresh_replies(*, session: Session, turn_ids: Iterable[int]) -> None:
    """Bring the stored statistics of these replies up to date with their ratings now."""
    ids = sorted({int(i) for i in turn_ids})
    if not ids:
        return
    session.flush()
    conn = session.connection()
    for batch in _batches(ids):
        _refresh(conn, batch)


def _refresh(conn: sa.Connection, ids: list[int]) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(T.c.id).where(T.c.id.in_(ids)).order_by(T.c.id)
                     .with_for_update(key_share=True))
    old = {r.turn_id: Contribution(r.cube_key,
                                   {int(v): _typed(list(x)) for v, x in r.sums.items()},
                                   [[rv, c, int(n), int(sm)] for rv, c, n, sm in r.criteria])
           for r in conn.execute(sa.select(reply_stat).where(reply_stat.c.turn_id.in_(ids)))}
    new = contributions(conn, ids)
    delta = _Delta()
    for contrib in old.values():
        delta.add(contrib, -1)
    for contrib in new.values():
        delta.add(contrib, 1)
    _add(conn, delta)
    conn.execute(sa.delete(reply_stat).where(reply_stat.c.turn_id.in_(ids)))
    _insert_stats(conn, new)


class _Delta:
    """What to add to each cube row."""

    def __init__(self) -> None:
        self.cube: dict[tuple[str, int], list[Any]] = {}
        self.crit: dict[tuple[str, int, str], list[int]] = {}

    def add(self, contrib: Contribution, sign: int) -> None:
        for version, sums in contrib.sums.items():
            acc = self.cube.setdefault((contrib.cube_key, version), _typed([0] * len(SUM_COLUMNS)))
            for i, v in enumerate(sums):
                acc[i] += sign * v
        for rv_id, criterion, n, s in contrib.criteria:
            pair = self.crit.setdefault((contrib.cube_key, int(rv_id), criterion), [0, 0])
            pair[0] += sign * n
            pair[1] += sign * s


@functools.cache
def _upsert(dialect: str, table: sa.Table, keys: tuple[str, ...],
                      sums: tuple[str, ...]) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE SET col = col + excluded.col (both databases)."""
    from sqlalchemy.dialects import postgresql, sqlite

    stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={c: table.c[c] + stmt.excluded[c] for c in sums})


def _add(conn: sa.Connection, delta: _Delta) -> None:
    # Sorted keys: two writers touch shared cube rows in the same order (no deadlock).
    rows = [{"cube_key": k, **dimensions_of(k), "rubric_version_id": rv,
             **dict(zip(SUM_COLUMNS, v, strict=True))}
            for (k, rv), v in sorted(delta.cube.items()) if any(v)]
    if rows:
        conn.execute(_upsert(conn.dialect.name, dashboard_cube,
                             ("cube_key", "rubric_version_id"), SUM_COLUMNS), rows)
    rows = [{"cube_key": k, **dimensions_of(k), "rubric_version_id": rv, "criterion": c,
             "n": n, "s": s} for (k, rv, c), (n, s) in sorted(delta.crit.items()) if n or s]
    if rows:
        conn.execute(_upsert(conn.dialect.name, dashboard_criterion_cube,
                             ("cube_key", "rubric_version_id", "criterion"), ("n", "s")), rows)


def _insert_stats(conn: sa.Connection, stats: dict[int, Contribution]) -> None:
    rows = [{"turn_id": t, "cube_key": c.cube_key,
             "sums": {str(v): x for v, x in c.sums.items()}, "criteria": c.criteria}
            for t, c in stats.items()]
    if rows:
        conn.execute(sa.insert(reply_stat), rows)


def rebuild(conn: sa.Connection) -> int:
    """Recompute every stored statistic from the ratings (after a migration or a bulk
    restore); returns the number of counted replies."""
    for table in (reply_stat, dashboard_cube, dashboard_criterion_cube, reply_stat_pending):
        conn.execute(sa.delete(table))
    stats = contributions(conn, None)
    delta = _Delta()
    for contrib in stats.values():
        delta.add(contrib, 1)
    _add(conn, delta)
    items = list(stats.items())
    for i in range(0, len(items), 10_000):
        _insert_stats(conn, dict(items[i:i + 10_000]))
    return len(stats)
