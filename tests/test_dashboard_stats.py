"""The dashboard's stored statistics: after every kind of write they equal what aggregating the
ratings themselves gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from tests import builders
from tests.curation_support import build_world, full_values
from workbench.domain.enums import Group, RatingSource, RatingStatus, Role
from workbench.services import curation
from workbench.services.curation import Decision
from workbench.services.dashboard import apply_pending_statistics
from workbench.storage import repo
from workbench.storage.db import alembic_config, make_engine, migrate, session_scope
from workbench.storage.stats.detail import criterion_sums as stored_criterion_sums
from workbench.storage.stats.reads import reply_cube
from workbench.storage.stats.sql import (
    PROMPT_VERSION,
    SUM_COLUMNS,
    C,
    DashboardFilter,
    R,
    criterion_sums,
    load_rubric_meta,
    reply_sums,
)
from workbench.storage.stats.stored import rebuild, refresh_replies
from workbench.storage.tables import Turn, dashboard_criterion_cube, dashboard_cube, reply_stat

KEYS = ["prompt_version_id", "training_day_id", "scenario_snapshot_id"]


def _sorted(frame: pd.DataFrame, keys: list[str], text: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = frame.copy()
    for k in keys:
        if k not in text:
            frame[k] = frame[k].astype("float")
    for c in frame.columns.difference(keys):
        frame[c] = pd.to_numeric(frame[c]).fillna(0).astype(float)  # SQL: sum of none is NULL
    return frame.sort_values(keys).reset_index(drop=True)


def assert_stored_matches_ratings(engine: sa.Engine) -> pd.DataFrame:
    """The stored cube (over every rubric version and per version) and the stored criterion
    sums against the same SQL run over the ratings; returns the stored cube over all."""
    apply_pending_statistics(engine)  # as build_dashboard does first
    with engine.connect() as conn:
        meta = load_rubric_meta(conn)
        by = [PROMPT_VERSION.label("prompt_version_id"), C.c.training_day_id,
              C.c.scenario_snapshot_id]
        for filt in [DashboardFilter(), *(DashboardFilter(rubric_version_id=v) for v in meta)]:
            stored = reply_cube(conn, filt)
            live = pd.DataFrame(conn.execute(reply_sums(filt, meta, by=by)).mappings().all(),
                                columns=[*KEYS, *SUM_COLUMNS])
            pd.testing.assert_frame_equal(_sorted(stored, KEYS), _sorted(live, KEYS),
                                          rtol=1e-9)
        criteria = sorted({k for m in meta.values() for k in (*m.likert, *m.yes_no)})
        live_crit = pd.DataFrame(conn.execute(criterion_sums(
            DashboardFilter(), by=[C.c.scenario_snapshot_id], criteria=criteria)).all(),
            columns=["scenario_snapshot_id", "criterion", "n", "s"])
        stored_crit = stored_criterion_sums(conn, DashboardFilter(), criteria)
        pd.testing.assert_frame_equal(
            _sorted(stored_crit, ["scenario_snapshot_id", "criterion"], ("criterion",)),
            _sorted(live_crit, ["scenario_snapshot_id", "criterion"], ("criterion",)),
            rtol=1e-9, check_dtype=False)
        return reply_cube(conn, DashboardFilter())


def _tables(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    apply_pending_statistics(engine)
    with engine.connect() as conn:
        return {t.name: sorted(tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                               for row in conn.execute(sa.select(t)) if t is not reply_stat)
                for t in (dashboard_cube, dashboard_criterion_cube)}


def test_stored_statistics_follow_every_write(engine: sa.Engine, library: Any) -> None:
    world = build_world(engine, library)  # ratings through repo.upsert_rating
    before = assert_stored_matches_ratings(engine)
    assert before["ratings"].sum() == 15 and before["replies"].sum() == 5
    # A lead's decision replaces the raters' "unsafe" on the reply with a critical failure.
    turn = world.replies["critical"]
    assert before["unsafe_all"].sum() == 1
    curation.adjudicate(
        engine=engine, turn_id=turn, rubric_version_id=world.rv_id, adjudicator_id=world.lead_id,
        decision=Decision(values=full_values(3), reason="Niet onveilig",
                          ideal_reply_text="Ben je nu veilig?"), lock_version=None)
    assert assert_stored_matches_ratings(engine)["unsafe_all"].sum() == 0
    # An expert withdraws: their 5 ratings leave every figure.
    curation.withdraw_participant(engine=engine, code=world.expert_codes[0])
    assert assert_stored_matches_ratings(engine)["ratings"].sum() == 10
    # The panel member withdraws: the reply in their role-play leaves the dashboard.
    curation.withdraw_participant(engine=engine, code=world.panel_code)
    after = assert_stored_matches_ratings(engine)
    assert after["replies"].sum() == 4 and after["ratings"].sum() == 8


def test_drafts_and_judge_ratings_leave_the_statistics_alone(engine: sa.Engine,
                                                             library: Any) -> None:
    world = build_world(engine, library)
    before = _tables(engine)
    with session_scope(engine) as s:
        judge = builders.participant(s, code="JUDGE-1", role=Role.judge, group=None)
        rater = builders.participant(s, code="EXP-9")
        for who, status, source in ((judge, RatingStatus.submitted, RatingSource.judge),
                                    (rater, RatingStatus.draft, RatingSource.human)):
            repo.upsert_rating(session=s, rater_id=who.id, turn_id=world.replies["agreed"],
                               rubric_version_id=world.rv_id, values={"safety": 1},
                               status=status, overall=1.0, unsafe=True, source=source)
    assert _tables(engine) == before
    assert_stored_matches_ratings(engine)


def test_refresh_is_idempotent_and_a_rebuild_agrees(engine: sa.Engine, library: Any) -> None:
    build_world(engine, library)
    before = _tables(engine)
    with session_scope(engine) as s:
        refresh_replies(session=s, turn_ids=s.exec(sa.select(Turn.id)).scalars().all())
    assert _tables(engine) == before
    with engine.begin() as conn:
        assert rebuild(conn) == 5
    assert _tables(engine) == before


def test_the_migration_fills_the_statistics_for_ratings_already_there(tmp_path: Any,
                                                                      library: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine)
    build_world(engine, library)
    before = _tables(engine)
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    command.downgrade(cfg, "0003_dashboard")  # as a database from before the stored sums
    with engine.connect() as conn:
        assert "reply_stat" not in sa.inspect(conn).get_table_names()
    migrate(engine)
    assert _tables(engine) == before
    assert_stored_matches_ratings(engine)


def test_concurrent_submits_and_passes_keep_the_sums_right(engine: sa.Engine,
                                                           library: Any) -> None:
    """PostgreSQL runs passes side by side with submits and with each other; the turn lock
    makes a second pass see the first one's contribution, and marks added during a pass stay."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race exists on PostgreSQL only")
    with session_scope(engine) as s:
        rv = builders.rubric_version(s, library, "expert")
        target = builders.bot_target(s)
        _, reply = builders.conversation_with_reply(s, library, target=target)
        raters = [builders.participant(s, code=f"EXP-C{i}", group=Group.expert).id
                  for i in range(8)]
        turn_id, rv_id = reply.id, rv.id
    start = threading.Barrier(len(raters) + 3)

    def submit(rater_id: int) -> None:
        start.wait()
        with session_scope(engine) as s:
            repo.upsert_rating(session=s, rater_id=rater_id, turn_id=turn_id,
                               rubric_version_id=rv_id, values={"safety": 4}, overall=4.0,
                               status=RatingStatus.submitted, unsafe=False)

    def passes() -> None:
        start.wait()
        for _ in range(5):
            apply_pending_statistics(engine)

    threads = [threading.Thread(target=submit, args=(r,)) for r in raters]
    threads += [threading.Thread(target=passes) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = assert_stored_matches_ratings(engine)
    assert (stored["replies"].sum(), stored["ratings"].sum()) == (1, 8)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reply_stat)).scalar() == 1
        counted = conn.execute(sa.select(sa.func.count()).select_from(R)).scalar()
    assert counted == 8


def test_cli_rebuild_stats_recomputes_what_a_bulk_load_bypassed(settings: Any,
                                                                library: Any) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app
    from workbench.services.context import get_engine

    engine = get_engine(settings)
    build_world(engine, library)
    before = _tables(engine)
    with engine.begin() as conn:  # as a restore that copied only the ratings would leave it
        for table in (reply_stat, dashboard_cube, dashboard_criterion_cube):
            conn.execute(sa.delete(table))
    result = CliRunner().invoke(app, ["rebuild-stats"])
    assert result.exit_code == 0, result.output
    assert "5 scored replies" in result.output
    assert _tables(engine) == before


def test_stored_statistics_per_rubric_version_match_with_two_audiences(
        engine: sa.Engine, library: Any) -> None:
    """The dashboard tests' world: expert and panel rubrics on one reply, a draft, a judge
    rating, a withdrawn rating and a withdrawn reply."""
    from tests.test_dashboard import build_world as two_rubric_world

    world = two_rubric_world(engine, library)
    stored = assert_stored_matches_ratings(engine)
    assert stored["replies"].sum() == 5
    with engine.connect() as conn:
        panel = reply_cube(conn, DashboardFilter(rubric_version_id=world.rv_panel))
    assert panel["replies"].sum() == 4 and panel["n_expert"].sum() == 0


def test_the_demo_folds_its_own_marks(engine: sa.Engine, library: Any, tmp_path: Any) -> None:
    from workbench.services.demo import load_demo
    from workbench.storage.tables import reply_stat_pending

    load_demo(engine=engine, library=library, runs_dir=tmp_path,
              scenario_ids=["acuut-verwurging-partner"])
    with engine.connect() as conn:
        pending = conn.execute(sa.select(sa.func.count()).select_from(reply_stat_pending))
        assert pending.scalar() == 0
    assert assert_stored_matches_ratings(engine)["ratings"].sum() > 0
