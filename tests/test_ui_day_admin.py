"""The facilitator's day management on the page (issue 14, items 1 and 14): same-named days,
the create form that clears, the duplicate warning, rename, setup before the start, archive,
restore, delete, the scenario picker and its preview; and archived days in no other picker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from tests import builders
from tests.training_support import button, reference_day, signed_in_app, staff, texts
from workbench.domain.enums import Role, TrainingDayStatus
from workbench.services import accounts, export, targets, training
from workbench.storage.tables import TrainingDay

pytestmark = pytest.mark.usefixtures("fast_hashing")
PAGE = "app_pages/facilitator.py"


def facilitator_page(eng: Any) -> AppTest:
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    return at.switch_page(PAGE).run()


def day_picker(at: AppTest):  # type: ignore[no-untyped-def]
    """The facilitator's day picker, found by its label as a person sees it."""
    [box] = [s for s in at.selectbox if s.label == "Dag"]
    return box


def days_in_db(eng: Any) -> list[TrainingDay]:
    with Session(eng) as s:
        return list(s.exec(select(TrainingDay).order_by(TrainingDay.id)))


def fill_create_form(at: AppTest, library: Any, name: str) -> None:
    at.text_input(key="fa_name").input(name)
    at.multiselect(key="fa_scenarios").set_value(sorted(library.scenarios)[:2])


def test_choosing_the_second_of_two_same_named_days_acts_on_it(eng, library) -> None:  # type: ignore[no-untyped-def]
    """Item 1: the picker mapped both identical labels to the first day, so "Dag sluiten"
    closed a day nobody had chosen."""
    first = reference_day(eng, library, name="Trainingsdag")
    second = reference_day(eng, library, name="Trainingsdag", allow_duplicate=True)
    at = facilitator_page(eng)
    day_picker(at).set_value(second).run()
    assert day_picker(at).value == second
    at.checkbox(key=f"fa_close_sure_{second}").check().run()
    button(at, "Dag sluiten").click().run()
    assert training.get_day(engine=eng, training_day_id=second).status == \
        TrainingDayStatus.closed
    assert training.get_day(engine=eng, training_day_id=first).status == TrainingDayStatus.open
    assert day_picker(at).value == second  # still the day that was chosen
    labels = day_picker(at).options  # as shown
    assert len(labels) == 2 and len(set(labels)) == 2  # the two entries read differently


def test_the_create_form_is_empty_after_creating_so_a_second_click_makes_nothing(
        eng, library) -> None:  # type: ignore[no-untyped-def]
    at = facilitator_page(eng)
    fill_create_form(at, library, "Trainingsdag december")
    button(at, "Dag aanmaken").click().run()
    assert not at.exception
    created = texts(at)
    button(at, "Dag aanmaken").click().run()  # the second click of a double click
    [made] = days_in_db(eng)
    assert "Geef de dag een naam" in texts(at)
    assert "De dag ‘Trainingsdag december’ is aangemaakt" in created
    assert at.text_input(key="fa_name").value == ""
    assert at.multiselect(key="fa_scenarios").value == []
    assert day_picker(at).value == made.id  # the new day is the one shown


def test_a_duplicate_name_and_date_is_warned_and_can_be_confirmed(eng, library) -> None:  # type: ignore[no-untyped-def]
    existing = reference_day(eng, library, name="Dag *van* [de] panels")
    at = facilitator_page(eng)
    fill_create_form(at, library, "dag *van* [de] PANELS")
    button(at, "Dag aanmaken").click().run()
    assert len(days_in_db(eng)) == 1
    [warning] = [w.value for w in at.warning if "Er is al een trainingsdag" in w.value]
    assert f"\\#{existing}" in warning and "\\*van\\*" in warning  # typed text stays text
    assert at.text_input(key="fa_name").value == "dag *van* [de] PANELS"  # kept to confirm
    at.checkbox(key="fa_allow_dup").check()
    button(at, "Dag aanmaken").click().run()
    assert [d.name for d in days_in_db(eng)] == ["Dag *van* [de] panels",
                                                  "dag *van* [de] PANELS"]
    assert not [w for w in at.warning if "Er is al een trainingsdag" in w.value]


def test_a_huge_or_broken_name_from_the_page_is_handled_calmly(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = facilitator_page(eng)
    at.text_input(key="fa_name").set_value("Dag\x00een")
    at.multiselect(key="fa_scenarios").set_value(sorted(library.scenarios)[:1])
    button(at, "Dag aanmaken").click().run()
    assert not at.exception and "tekens die niet in een naam horen" in texts(at)
    assert days_in_db(eng) == []
    at.text_input(key="fa_name").set_value("x" * 100_000)  # a paste: the field keeps 120
    button(at, "Dag aanmaken").click().run()
    assert not at.exception
    assert [d.name for d in days_in_db(eng)] == ["x" * training.MAX_NAME_CHARS]


def test_the_scenario_picker_shows_risk_writer_and_warnings_with_a_preview(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = facilitator_page(eng)
    sid = "acuut-doodsbedreiging-als-ik-wegga"
    sc = library.scenarios[sid].scenario
    [label] = [o for o in at.multiselect(key="fa_scenarios").options if f"({sid})" in o]
    assert label.startswith(sc.title) and "risico acuut" in label
    assert "schrijver: slachtoffer" in label
    assert f"{len(sc.content_warnings)} inhoudswaarschuwing" in label
    at.selectbox(key="fa_preview").set_value(sid).run()
    shown = "\n".join(el.value for el in at.text)
    assert sc.persona.description.strip()[:60] in shown and sc.situation.strip()[:60] in shown
    assert all(w in shown for w in sc.content_warnings)
    assert "Risico: acuut · Wie schrijft: slachtoffer" in texts(at)


def test_rename_setup_archive_restore_and_delete_from_the_page(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="Ochtend")
    at = facilitator_page(eng)
    at.text_input(key=f"fa_rename_{day_id}").input("Ochtend groep 1")
    button(at, "Naam opslaan").click().run()
    assert training.get_day(engine=eng, training_day_id=day_id).name == "Ochtend groep 1"
    today = f"{date.today():%d-%m-%Y}"
    assert day_picker(at).options == [f"Ochtend groep 1 · {today} · open · #{day_id}"]

    wanted = sorted(library.scenarios)[-1:]
    at.multiselect(key=f"fa_setup_scenarios_{day_id}").set_value(wanted)
    button(at, "Opzet opslaan").click().run()
    assert training.get_day(engine=eng, training_day_id=day_id).scenario_ids == wanted

    member = accounts.redeem_join_code(
        engine=eng, code=accounts.issue_join_code(engine=eng, training_day_id=day_id))
    with Session(eng) as s:
        target = targets.ensure_reference_target(session=s)
        pv = targets.prompt_of(session=s, prompt_version_id=target.current_prompt_version_id)
        builders.conversation_with_reply(s, library, training_day_id=day_id,
                                         participant_id=member.participant_id,
                                         target=(target, pv))
        s.commit()
    at.run()
    assert "Deze dag is begonnen (1 gesprek(ken))" in texts(at)
    assert f"fa_setup_scenarios_{day_id}" not in [m.key for m in at.multiselect]
    assert "Verwijderen kan alleen bij een lege dag" in texts(at)
    assert "Dag verwijderen" not in [b.label for b in at.button]

    assert button(at, "Dag archiveren").disabled
    at.checkbox(key=f"fa_archive_sure_{day_id}").check().run()
    button(at, "Dag archiveren").click().run()
    view = training.get_day(engine=eng, training_day_id=day_id)
    assert view.archived and view.status == TrainingDayStatus.closed
    assert "De dag is gearchiveerd" in texts(at)
    assert not [s for s in at.selectbox if s.label == "Dag"]  # no day left to pick
    at.toggle(key="fa_show_archived").set_value(True).run()
    assert day_picker(at).options == [f"Ochtend groep 1 · {today} · gearchiveerd · #{day_id}"]
    button(at, "Terugzetten").click().run()
    assert not training.get_day(engine=eng, training_day_id=day_id).archived

    empty = reference_day(eng, library, name="Leeg", day=date(2030, 1, 2))
    at.run()
    day_picker(at).set_value(empty).run()
    at.checkbox(key=f"fa_delete_sure_{empty}").check().run()
    button(at, "Dag verwijderen").click().run()
    assert [d.id for d in days_in_db(eng)] == [day_id]
    assert "De dag ‘Leeg’ is verwijderd" in texts(at)


def test_archived_days_are_in_no_other_day_picker(eng, library) -> None:  # type: ignore[no-untyped-def]
    keep = reference_day(eng, library, name="Zichtbaar")
    gone = reference_day(eng, library, name="Weg")
    training.archive_day(engine=eng, training_day_id=gone)
    fac = staff(eng, "fac-2", Role.facilitator)
    pickers = {"app_pages/adjudication.py": "adj_day", "app_pages/calibration.py": "cal_day",
               "app_pages/curation.py": "cu_day", "app_pages/scripted.py": "sr_day",
               "app_pages/dashboard.py": "dash_day"}
    for page, key in pickers.items():
        at = signed_in_app(fac)
        at.switch_page(page).run()
        assert not at.exception, page
        options = at.selectbox(key=key).options
        assert any("Zichtbaar" in o and f"#{keep}" in o for o in options), (page, options)
        assert not any("Weg" in o for o in options), (page, options)
    assert [d for d, _ in export.export_choices(engine=eng).training_days] == [keep]
    assert [d.id for d in training.list_days(engine=eng)] == [keep]
