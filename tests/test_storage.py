"""Storage on SQLite and PostgreSQL: migrations from empty, constraints, round-trips."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from tests import builders as b
from workbench.domain.enums import RatingStatus, Role
from workbench.storage import repo
from workbench.storage.db import current_revision, migrate
from workbench.storage.tables import Rating, RatingScore

EXPECTED_TABLES = {
    "participant", "training_day", "join_code", "scenario_snapshot", "rubric_version",
    "bot_target", "prompt_version", "run", "conversation", "turn", "rating", "rating_score",
    "pairwise_judgement", "adjudication", "curated_example", "export_record", "audit_event",
    "login_attempt",
}


def test_migrations_create_every_table_from_empty(engine: sa.Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    assert EXPECTED_TABLES <= tables
    assert current_revision(engine) is not None
    migrate(engine)  # running again is a no-op
    assert set(sa.inspect(engine).get_table_names()) >= EXPECTED_TABLES


def test_migrations_match_the_models(engine: sa.Engine) -> None:
    """The Alembic head and the SQLModel tables describe the same schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_one_rating_per_rater_turn_and_rubric_version(engine: sa.Engine, library) -> None:
    with Session(engine) as s:
        rater = b.participant(s)
        _, reply = b.conversation_with_reply(s, library)
        rv = b.rubric_version(s, library)
        b.rating(s, rater=rater, turn=reply, rv=rv)
        s.commit()
        # The database itself refuses a second row, whatever Python checks.
        s.add(Rating(turn_id=reply.id, rater_id=rater.id, rubric_version_id=rv.id,
                     status=RatingStatus.submitted))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        count = s.exec(select(sa.func.count()).select_from(Rating)).one()
        assert count == 1


def test_submit_twice_keeps_one_final_rating(engine: sa.Engine, library) -> None:
    with Session(engine) as s:
        rater = b.participant(s)
        _, reply = b.conversation_with_reply(s, library)
        rv = b.rubric_version(s, library)
        draft = b.rating(s, rater=rater, turn=reply, rv=rv, status=RatingStatus.draft,
                         values={"safety": 2})
        first = b.rating(s, rater=rater, turn=reply, rv=rv, values={"safety": 5, "clarity": 4})
        again = b.rating(s, rater=rater, turn=reply, rv=rv, values={"safety": 1})
        s.commit()
        assert draft.id == first.id == again.id
        assert again.values == {"safety": 5, "clarity": 4}  # a submitted rating is final
        scores = s.exec(select(RatingScore).where(RatingScore.rating_id == first.id)).all()
        assert {(r.criterion, r.value) for r in scores} == {("safety", 5), ("clarity", 4)}


def test_snapshots_and_prompt_versions_are_deduplicated_by_hash(engine: sa.Engine,
                                                                library) -> None:
    loaded = next(iter(library.scenarios.values()))
    with Session(engine) as s:
        a = repo.snapshot_scenario(session=s, loaded=loaded)
        again = repo.snapshot_scenario(session=s, loaded=loaded)
        assert a.id == again.id and a.content == loaded.text and a.sha256 == loaded.sha256
        target, pv1 = b.bot_target(s, prompt="Prompt één")
        pv2 = repo.set_prompt(session=s, target=target, content="Prompt twee", label="v2")
        pv1b = repo.set_prompt(session=s, target=target, content="Prompt één", label="v1 again")
        s.commit()
        assert pv1.id == pv1b.id != pv2.id
        assert target.current_prompt_version_id == pv1.id


def test_turns_round_trip_with_provenance(engine: sa.Engine, library) -> None:
    with Session(engine) as s:
        conv, reply = b.conversation_with_reply(s, library)
        failed = repo.append_turn(
            session=s, conversation_id=conv.id, role="assistant", content="", status="failed",
            error_kind="timeout", error_message="no answer in 30 s",
        )
        ok = repo.append_turn(
            session=s, conversation_id=conv.id, role="assistant", content="Hallo",
            model="m", parameters={"temperature": 0.2}, latency_first_token_ms=12.5,
            latency_total_ms=80.0, prompt_tokens=10, completion_tokens=3,
        )
        s.commit()
        cid, reply_id, ok_id, failed_id = conv.id, reply.id, ok.id, failed.id
    with Session(engine) as s:
        turns = repo.list_turns(session=s, conversation_id=cid)
        assert [t.index for t in turns] == [0, 1, 2, 3]
        assert turns[2].status == "failed" and turns[2].error_kind == "timeout"
        assert turns[3].parameters == {"temperature": 0.2}
        assert turns[3].latency_first_token_ms == 12.5 and turns[3].completion_tokens == 3
        assert [t.id for t in repo.list_turns(session=s, conversation_id=cid, ok_only=True)] == [
            turns[0].id, reply_id, ok_id]
        assert failed_id == turns[2].id


def test_participant_codes_are_unique(engine: sa.Engine) -> None:
    with Session(engine) as s:
        repo.create_participant(session=s, code="LE-7K2Q", role=Role.panel)
        s.commit()
        with pytest.raises(IntegrityError):
            repo.create_participant(session=s, code="LE-7K2Q", role=Role.panel)
        s.rollback()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    from workbench.storage.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'w.db'}", busy_timeout_ms=4321)
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4321


def test_sqlite_statistics_steer_the_scoring_queue_to_the_days_conversations(
        tmp_path, library) -> None:
    """Never analysed, SQLite walked every bot reply (the dashboard's turn index) to find one
    day's; migrate() analyses a database that has none or has doubled since."""
    from datetime import UTC, datetime

    from workbench.storage.db import make_engine, refresh_planner_statistics
    from workbench.storage.repo_training import next_queue_turn_id
    from workbench.storage.tables import Conversation, TrainingDay, Turn

    eng = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(eng)
    now = datetime.now(UTC)

    def add_days(first_id: int, days: int) -> None:
        with Session(eng) as s:
            s.add_all([TrainingDay(id=first_id + d, name=f"Dag {first_id + d}", day=now.date())
                       for d in range(days)])
            s.commit()
        with eng.begin() as conn:
            convs, turns = [], []
            for d in range(days):
                for c in range(25):
                    cid = (first_id + d) * 100 + c
                    convs.append({"id": cid, "kind": "scripted", "status": "finished",
                                  "training_day_id": first_id + d, "meta": {},
                                  "is_demo": False, "started_at": now})
                    turns += [{"conversation_id": cid, "index": i,
                               "role": "user" if i % 2 == 0 else "assistant",
                               "content": "x", "status": "ok", "parameters": {},
                               "started_at": now, "created_at": now, "withdrawn": False}
                              for i in range(4)]
            conn.execute(sa.insert(Conversation.__table__), convs)  # type: ignore[attr-defined]
            conn.execute(sa.insert(Turn.__table__), turns)  # type: ignore[attr-defined]

    add_days(1, 12)  # 1,200 turns
    captured: list[str] = []

    def plan() -> str:
        @sa.event.listens_for(eng, "before_cursor_execute")
        def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
            if "day_replies" in statement:
                captured[:] = [statement, params]

        with Session(eng) as s:
            next_queue_turn_id(session=s, rater_id=1, training_day_id=3, rubric_version_id=1,
                               overlap=3)
        sa.event.remove(eng, "before_cursor_execute", grab)
        with eng.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + captured[0], captured[1])
            return " / ".join(r[-1] for r in rows)

    assert refresh_planner_statistics(eng)  # as migrate() on the next start
    assert "ix_conversation_training_day_id" in plan()
    assert "ix_turn_dashboard" not in plan()
    assert not refresh_planner_statistics(eng)  # nothing new to learn
    add_days(20, 13)  # more than doubled
    assert refresh_planner_statistics(eng)
