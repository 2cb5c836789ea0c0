"""One definition of what counts: the SQL form (storage/rules.py) and the Python form
(domain/rules.py) agree on ratings of every kind; the dashboard's triggers mark every write
that changes what it counts, count what the rules count, and `check-stats` finds a corrupted
sum. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from tests import builders
from workbench.domain import rules as py_rules
from workbench.domain.enums import Group, RatingSource, RatingStatus, Role
from workbench.domain.rules import COUNTED_SOURCES, Purpose
from workbench.storage import repo
from workbench.storage import rules as sql_rules
from workbench.storage.db import session_scope
from workbench.storage.stats.triggers import trigger_sources
from workbench.storage.tables import Conversation, Rating, RatingScore, Turn, reply_stat_pending

COMBOS = list(itertools.product(RatingStatus, RatingSource, (False, True), (False, True)))


@pytest.fixture
def every_kind(engine: sa.Engine, library: Any) -> sa.Engine:
    """One rating per (status, source, withdrawn, reply withdrawn), each on its own reply."""
    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library)
        target = builders.bot_target(s)
        for status, source, withdrawn, reply_withdrawn in COMBOS:
            _, reply = builders.conversation_with_reply(s, library, target=target)
            rater = builders.participant(s, role=Role.expert, group=Group.expert)
            r = builders.rating(s, rater=rater, turn=reply, rv=rv, status=status, source=source)
            r.withdrawn = withdrawn
            reply.withdrawn = reply_withdrawn
            s.add_all([r, reply])
    return engine


@pytest.mark.parametrize("purpose", list(Purpose))
def test_sql_and_python_count_the_same_ratings(every_kind: sa.Engine, purpose: Purpose) -> None:
    with session_scope(every_kind) as s:
        rows = s.exec(select(Rating, Turn).join(Turn, col(Turn.id) == col(Rating.turn_id))).all()
        in_python = {r.id for r, t in rows if py_rules.rating_counts(
            purpose=purpose, status=r.status, source=r.source, withdrawn=r.withdrawn,
            reply_withdrawn=t.withdrawn) and py_rules.reply_counts(
            role=t.role, status=t.status, withdrawn=t.withdrawn)}
        in_sql = set(s.exec(select(Rating.id).join(Turn, col(Turn.id) == col(Rating.turn_id))
                            .where(*sql_rules.rating_counts(purpose),
                                   *sql_rules.reply_counts())).all())
    assert in_python == in_sql
    # Submitted, not withdrawn, on a reply not withdrawn: one per counted source.
    assert len(in_sql) == len(COUNTED_SOURCES[purpose])


def test_progress_counts_people_only_and_the_judge_counts_nowhere() -> None:
    assert COUNTED_SOURCES[Purpose.progress] == {RatingSource.human}
    assert all(RatingSource.judge not in sources for sources in COUNTED_SOURCES.values())
    assert COUNTED_SOURCES[Purpose.figures] == {RatingSource.human, RatingSource.simulated}


@pytest.mark.parametrize("verdicts,adjudicated,unsafe", [
    ([False, False], None, False), ([False, True], None, True), ([True, True], False, False),
    ([False, False], True, True), ([], None, False)])
def test_reply_unsafe_in_sql_and_python(engine: sa.Engine, verdicts: list[bool],
                                        adjudicated: bool | None, unsafe: bool) -> None:
    assert py_rules.reply_unsafe(verdicts, adjudicated) is unsafe
    adj = sa.literal(None, sa.Integer) if adjudicated is None else sa.literal(int(adjudicated))
    with engine.connect() as conn:
        got = conn.execute(sa.select(sql_rules.reply_unsafe(adj, sa.literal(int(any(verdicts))))
                                     )).scalar()
    assert bool(got) is unsafe


def test_the_stored_triggers_count_what_the_rules_count(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert trigger_sources(conn) == {s.value for s in COUNTED_SOURCES[Purpose.figures]}


# --- the triggers mark every write that changes the figures ---------------------------------


def _marks(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(reply_stat_pending.c.turn_id)).scalars())


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(reply_stat_pending))


@pytest.fixture
def one_reply(engine: sa.Engine, library: Any) -> tuple[sa.Engine, int, int, int]:
    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library)
        conv, reply = builders.conversation_with_reply(s, library)
        rater = builders.participant(s)
        ids = (reply.id or 0, rv.id or 0, rater.id or 0, conv.id or 0)
    _clear(engine)
    return engine, *ids[:3]


def test_a_draft_and_a_judge_rating_mark_nothing_a_submit_marks_once(one_reply: Any) -> None:
    engine, turn_id, rv_id, rater_id = one_reply
    with session_scope(engine) as s:
        repo.upsert_rating(session=s, rater_id=rater_id, turn_id=turn_id, rubric_version_id=rv_id,
                           values={"safety": 3, "accuracy": 2}, status=RatingStatus.draft,
                           overall=2.5, unsafe=False)
        judge = builders.participant(s, role=Role.judge, group=None)
        repo.upsert_rating(session=s, rater_id=judge.id or 0, turn_id=turn_id,
                           rubric_version_id=rv_id, values={"safety": 5},
                           status=RatingStatus.submitted, overall=5.0, unsafe=False,
                           source=RatingSource.judge)
    assert _marks(engine) == []
    with session_scope(engine) as s:  # the draft becomes submitted, with new values
        repo.upsert_rating(session=s, rater_id=rater_id, turn_id=turn_id, rubric_version_id=rv_id,
                           values={"safety": 4, "accuracy": 4}, status=RatingStatus.submitted,
                           overall=4.0, unsafe=False)
    assert _marks(engine) == [turn_id]


@pytest.mark.parametrize("statement", [
    "UPDATE rating SET withdrawn = true",
    "UPDATE rating SET overall = 1.5",
    "UPDATE rating_score SET value = 1",
    "DELETE FROM rating_score",
    "UPDATE turn SET withdrawn = true",
    "UPDATE conversation SET training_day_id = NULL, is_demo = true",
    "INSERT INTO adjudication (turn_id, rubric_version_id, adjudicator_id, final_values, "
    "unsafe, reason, created_at) SELECT turn_id, rubric_version_id, rater_id, '{}', true, "
    "'hand', created_at FROM rating",
])
def test_a_hand_made_sql_change_is_marked_too(one_reply: Any, statement: str) -> None:
    """Whoever writes, and however: the database marks it (a direct SQL fix included)."""
    engine, turn_id, rv_id, rater_id = one_reply
    with session_scope(engine) as s:
        builders.rating(s, rater=s.get(repo.Participant, rater_id), turn=s.get(Turn, turn_id),
                        rv=repo.get_rubric_version(session=s, rubric_version_id=rv_id))
    _clear(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(statement)
    assert set(_marks(engine)) == {turn_id}


def test_check_stats_finds_a_corrupted_sum_and_rebuild_mends_it(settings: Any) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.services.context import get_engine, load_shipped_library
    from workbench.storage.tables import dashboard_cube

    engine = get_engine(settings)
    library = load_shipped_library(settings)
    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library)
        target = builders.bot_target(s, name="check")
        for _ in range(3):
            _, reply = builders.conversation_with_reply(s, library, target=target)
            builders.rating(s, rater=builders.participant(s), turn=reply, rv=rv)
    runner = CliRunner()
    ok = runner.invoke(app, ["check-stats"])
    assert ok.exit_code == 0, ok.output
    with engine.begin() as conn:  # corrupt one stored sum behind the workbench's back
        conn.execute(sa.update(dashboard_cube).values(n_all=dashboard_cube.c.n_all + 1))
    bad = runner.invoke(app, ["check-stats"])
    assert bad.exit_code == 1 and "n_all" in bad.output, bad.output
    assert runner.invoke(app, ["rebuild-stats"]).exit_code == 0
    assert runner.invoke(app, ["check-stats"]).exit_code == 0


def test_counts_are_stored_as_integers(engine: sa.Engine) -> None:
    from workbench.storage.tables import CUBE_COUNT_COLUMNS, dashboard_cube

    inspected = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("dashboard_cube")}
    for name in CUBE_COUNT_COLUMNS:
        assert isinstance(inspected[name], sa.Integer), (name, inspected[name])
    assert not isinstance(inspected["s_all"], sa.Integer)
    assert dashboard_cube.c.replies.type.python_type is int


def test_a_stored_rubric_that_no_longer_parses_raises(engine: sa.Engine, library: Any) -> None:
    from workbench.storage.snapshots import StoredTextError
    from workbench.storage.stats.sql import load_rubric_meta
    from workbench.storage.tables import RubricVersion

    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library)
        row = s.get(RubricVersion, rv.id)
        assert row is not None
        row.content, row.sha256 = "criteria: [not, a, rubric", "0" * 64
        s.add(row)
    with engine.connect() as conn, pytest.raises(StoredTextError):
        load_rubric_meta(conn)


def test_marks_of_a_conversation_edit_cover_its_replies(one_reply: Any) -> None:
    engine, turn_id, _, _ = one_reply
    with session_scope(engine) as s:
        conv = s.get(Conversation, s.get(Turn, turn_id).conversation_id)  # type: ignore[union-attr]
        assert conv is not None
        conv.bot_target_id = conv.bot_target_id  # unchanged: no mark
        s.add(conv)
    assert _marks(engine) == []
    with session_scope(engine) as s:
        s.exec(sa.update(RatingScore).values(value=2))  # no ratings yet: nothing to mark
    assert _marks(engine) == []
