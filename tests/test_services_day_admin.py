"""Managing training days (issue 14, items 1 and 14): duplicate names, rename, archive and
restore, delete while empty, and changing the setup before the day starts. On SQLite and
PostgreSQL, with the hostile twins: huge and broken names, twice, and at the same moment."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tests import builders
from tests.training_support import reference_day
from workbench.domain.enums import TrainingDayStatus
from workbench.services import accounts, dashboard, targets, training
from workbench.services.training import DaySetupError, DuplicateDayError
from workbench.storage.tables import AuditEvent, Conversation, JoinCode, TrainingDay

TODAY = date.today()


def _audit(engine: sa.Engine, action: str) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _conversation_on(engine: sa.Engine, library: Any, day_id: int) -> int:
    with Session(engine) as s:
        target = targets.ensure_reference_target(session=s)
        pv = targets.prompt_of(session=s, prompt_version_id=target.current_prompt_version_id)
        conv, _ = builders.conversation_with_reply(s, library, training_day_id=day_id,
                                                   target=(target, pv))
        s.commit()
        return conv.id or 0


# --- names ---------------------------------------------------------------------------------


def test_a_second_day_with_the_same_name_and_date_needs_confirmation(engine, library) -> None:  # type: ignore[no-untyped-def]
    first = reference_day(engine, library, name="Trainingsdag december")
    for twin in ("Trainingsdag december", "  trainingsdag   DECEMBER "):
        with pytest.raises(DuplicateDayError) as err:
            reference_day(engine, library, name=twin)
        assert err.value.existing == [first] and err.value.key == "day.duplicate"
    assert len(training.list_days(engine=engine)) == 1
    # Another date is another day; a confirmed twin is made and says so in the audit.
    reference_day(engine, library, name="Trainingsdag december", day=TODAY + timedelta(days=1))
    second = reference_day(engine, library, name="Trainingsdag december", allow_duplicate=True)
    assert second != first
    confirmed = [e.details["duplicate_confirmed"] for e in _audit(engine, "training_day.create")]
    assert confirmed == [False, False, True]


def test_an_archived_namesake_still_counts_as_a_duplicate(engine, library) -> None:  # type: ignore[no-untyped-def]
    first = reference_day(engine, library, name="Dag A")
    training.archive_day(engine=engine, training_day_id=first)
    with pytest.raises(DuplicateDayError):
        reference_day(engine, library, name="Dag A")


def test_two_facilitators_creating_the_same_day_at_once_make_one(engine, library) -> None:  # type: ignore[no-untyped-def]
    targets.list_targets(engine=engine)  # the reference target exists before the race
    barrier = threading.Barrier(6)
    made: list[int] = []
    refused: list[BaseException] = []

    def create() -> None:
        barrier.wait()
        try:
            made.append(reference_day(engine, library, name="Gelijktijdig"))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            refused.append(exc)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert len(made) == 1, refused
    assert len(refused) == 5 and all(isinstance(e, DuplicateDayError) for e in refused)


@pytest.mark.parametrize(("name", "key"), [
    ("", "day.no_name"), ("   \n\t ", "day.no_name"), ("x" * 121, "day.name_too_long"),
    ("x" * 100_000, "day.name_too_long"), ("Dag\x00één", "day.bad_name"),
    ("Dag \ud800", "day.bad_name"), ("Dag\x1b[31m", "day.bad_name"),
])
def test_hostile_names_are_refused_calmly(engine, library, name: str, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DaySetupError) as err:
        reference_day(engine, library, name=name)
    assert err.value.key == key
    assert training.list_days(engine=engine) == []


def test_whitespace_in_a_name_is_tidied(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="  Dag\tvan \n de  panels ")
    assert training.get_day(engine=engine, training_day_id=day_id).name == "Dag van de panels"
    reference_day(engine, library, name="x" * 120, day=TODAY + timedelta(days=3))  # the limit


def test_rename_checks_duplicates_and_is_audited(engine, library) -> None:  # type: ignore[no-untyped-def]
    a = reference_day(engine, library, name="Ochtend")
    b = reference_day(engine, library, name="Middag")
    with pytest.raises(DuplicateDayError):
        training.rename_day(engine=engine, training_day_id=b, name="ochtend")
    view = training.rename_day(engine=engine, training_day_id=b, name="Middag (groep 2)",
                               changed_by="fac")
    assert view.name == "Middag (groep 2)"
    training.rename_day(engine=engine, training_day_id=b, name="Middag (groep 2)")  # twice
    [event] = _audit(engine, "training_day.rename")
    assert event.actor == "fac" and event.details["from"] == "Middag"
    training.rename_day(engine=engine, training_day_id=a, name="Ochtend ")  # itself: no-op
    with pytest.raises(DaySetupError):
        training.rename_day(engine=engine, training_day_id=a, name="\x00")
    with pytest.raises(LookupError):
        training.rename_day(engine=engine, training_day_id=999_999, name="Nergens")


# --- archive and restore -------------------------------------------------------------------


def test_archive_hides_the_day_closes_it_and_keeps_its_data(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="Oud")
    accounts.issue_join_code(engine=engine, training_day_id=day_id)
    _conversation_on(engine, library, day_id)
    before = dashboard.build_dashboard(engine, dashboard.DashboardFilter(training_day_id=day_id))
    view = training.archive_day(engine=engine, training_day_id=day_id, archived_by="fac")
    assert view.archived and view.status == TrainingDayStatus.closed
    assert training.list_days(engine=engine) == []
    assert [d.id for d in training.list_days(engine=engine, include_archived=True)] == [day_id]
    with Session(engine) as s:
        assert all(jc.revoked_at is not None for jc in s.exec(select(JoinCode)))
        assert len(list(s.exec(select(Conversation)))) == 1
    after = dashboard.build_dashboard(engine, dashboard.DashboardFilter(training_day_id=day_id))
    assert after.totals == before.totals  # its figures stay
    training.archive_day(engine=engine, training_day_id=day_id)  # twice: nothing more happens
    assert len(_audit(engine, "training_day.archive")) == 1
    assert len(_audit(engine, "training_day.close")) == 1
    restored = training.restore_day(engine=engine, training_day_id=day_id, restored_by="fac")
    assert not restored.archived and restored.status == TrainingDayStatus.closed
    assert [d.id for d in training.list_days(engine=engine)] == [day_id]
    assert len(_audit(engine, "training_day.restore")) == 1


# --- delete --------------------------------------------------------------------------------


def test_only_an_empty_day_can_be_deleted(engine, library) -> None:  # type: ignore[no-untyped-def]
    empty = reference_day(engine, library, name="Leeg")
    with_code = reference_day(engine, library, name="Met code")
    with_talk = reference_day(engine, library, name="Met gesprek")
    accounts.issue_join_code(engine=engine, training_day_id=with_code)
    _conversation_on(engine, library, with_talk)
    training.delete_day(engine=engine, training_day_id=empty, deleted_by="fac")
    for day_id in (with_code, with_talk):
        with pytest.raises(DaySetupError) as err:
            training.delete_day(engine=engine, training_day_id=day_id)
        assert err.value.key == "day.not_empty"
    assert sorted(d.name for d in training.list_days(engine=engine)) == ["Met code",
                                                                         "Met gesprek"]
    [event] = _audit(engine, "training_day.delete")
    assert event.details == {"name": "Leeg", "day": TODAY.isoformat()} and event.actor == "fac"
    with pytest.raises(LookupError):
        training.delete_day(engine=engine, training_day_id=empty)  # twice


def test_the_database_itself_refuses_to_delete_a_day_in_use(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="In gebruik")
    _conversation_on(engine, library, day_id)
    with Session(engine) as s:
        s.delete(s.get(TrainingDay, day_id))
        with pytest.raises(IntegrityError):
            s.commit()


# --- the setup before the day starts -------------------------------------------------------


def test_setup_changes_before_the_start_and_not_after(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="Wijzigbaar")
    ref = targets.list_targets(engine=engine)[0]
    targets.set_target_prompt(engine=engine, name=ref.name, prompt="Kort en warm.", label="v2")
    choices = {c.label: c.id for c in training.prompt_choices(engine=engine)}
    wanted = sorted(library.scenarios)[-2:]
    view = training.change_day_setup(
        engine=engine, library=library, training_day_id=day_id,
        scenario_ids=[*wanted, wanted[0]], prompt_version_ids=[choices["basis"], choices["v2"]],
        changed_by="fac")
    assert view.scenario_ids == wanted  # each once, in the order chosen
    assert view.prompt_version_ids == [choices["basis"], choices["v2"]]
    assert view.bot_target_ids == [ref.id]
    [event] = _audit(engine, "training_day.setup")
    assert event.details["before"]["scenarios"] == sorted(library.scenarios)[:3]

    _conversation_on(engine, library, day_id)
    with pytest.raises(DaySetupError) as err:
        training.change_day_setup(engine=engine, library=library, training_day_id=day_id,
                                  scenario_ids=wanted[:1])
    assert err.value.key == "day.started"
    assert training.get_day(engine=engine, training_day_id=day_id).scenario_ids == wanted


def test_setup_refuses_what_does_not_fit(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library)
    sid = sorted(library.scenarios)[0]

    def change(**kw: Any) -> str:
        with pytest.raises(DaySetupError) as err:
            training.change_day_setup(engine=engine, library=library, training_day_id=day_id,
                                      **{"scenario_ids": [sid], **kw})
        return err.value.key

    assert change(scenario_ids=[]) == "day.no_scenarios"
    assert change(scenario_ids=[f"nope-{i}" for i in range(10_000)]) == "day.no_such_scenario"
    assert change(prompt_version_ids=[987_654]) == "day.prompt_not_of_target"
    assert change(bot_target_ids=[987_654]) == "day.no_bot"
    training.close_day(engine=engine, training_day_id=day_id)
    assert change() == "day.closed"


def test_a_conversation_starting_during_a_setup_change_wins(engine, library) -> None:  # type: ignore[no-untyped-def]
    """A role-play is being created (its transaction is open) while the facilitator saves a
    new setup: the change waits for it and is then refused, never applied under a started
    conversation."""
    day_id = reference_day(engine, library)
    outcome: list[BaseException | training.DayView] = []
    holder = Session(engine)
    target = targets.ensure_reference_target(session=holder)
    pv = targets.prompt_of(session=holder, prompt_version_id=target.current_prompt_version_id)
    builders.conversation_with_reply(holder, library, training_day_id=day_id, target=(target, pv))

    def change() -> None:
        try:
            outcome.append(training.change_day_setup(
                engine=engine, library=library, training_day_id=day_id,
                scenario_ids=sorted(library.scenarios)[-1:]))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            outcome.append(exc)

    th = threading.Thread(target=change)
    th.start()
    th.join(1.5)
    assert th.is_alive() and not outcome  # waiting on the open transaction
    holder.commit()
    holder.close()
    th.join(60)
    [result] = outcome
    assert isinstance(result, DaySetupError) and result.key == "day.started"


def test_day_views_count_what_a_day_holds(engine, library) -> None:  # type: ignore[no-untyped-def]
    a = reference_day(engine, library, name="A")
    b = reference_day(engine, library, name="B")
    accounts.issue_join_code(engine=engine, training_day_id=a)
    accounts.issue_join_code(engine=engine, training_day_id=a)
    _conversation_on(engine, library, b)
    views = {d.id: d for d in training.list_days(engine=engine)}
    assert (views[a].join_codes, views[a].conversations, views[a].started) == (2, 0, False)
    assert (views[b].join_codes, views[b].conversations, views[b].started) == (0, 1, True)
    assert not views[a].deletable and not views[b].deletable


def test_the_migration_keeps_every_existing_day_visible(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0009_dayadmin on a database that already holds days (SQLite, the in-place ADD COLUMN)."""
    from alembic import command

    from workbench.storage.db import alembic_config, make_engine, migrate

    eng = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(str(eng.url))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004_dashboard_stats")
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO training_day (name, day, status, overlap, exposure_cap, scenario_ids, "
            "bot_target_ids, prompt_version_ids, is_demo, created_at) VALUES ('Oud', "
            "'2026-01-05', 'closed', 2, 3, '[]', '[]', '[]', 0, '2026-01-05 09:00:00')")
    migrate(eng)
    [day] = training.list_days(engine=eng)
    assert (day.name, day.archived, day.status) == ("Oud", False, TrainingDayStatus.closed)
    training.archive_day(engine=eng, training_day_id=day.id)
    assert training.list_days(engine=eng) == []
    eng.dispose()
