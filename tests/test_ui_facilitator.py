"""The facilitator's page (create a day, join codes, progress, overlap, close) and bot targets."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from tests.training_support import (
    button,
    roleplay_replies,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import Role, TrainingDayStatus
from workbench.services import accounts, targets, training
from workbench.storage.tables import JoinCode, TrainingDay

pytestmark = pytest.mark.usefixtures("fast_hashing")



def test_facilitator_creates_a_day_and_hands_out_a_code(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    at.switch_page("app_pages/facilitator.py").run()
    at.text_input(key="fa_name").input("Trainingsdag december")
    scenarios = sorted(library.scenarios)[:2]
    at.multiselect(key="fa_scenarios").set_value(scenarios)
    at.number_input(key="fa_overlap").set_value(3)
    button(at, "Dag aanmaken").click().run()
    assert not at.exception
    with Session(eng) as s:
        day = s.exec(select(TrainingDay)).one()
    assert day.name == "Trainingsdag december" and day.scenario_ids == scenarios
    assert day.overlap == 3 and len(day.prompt_version_ids) == 1
    assert day.expert_rubric_version_id and day.panel_rubric_version_id

    button(at, "Codes maken").click().run()
    shown = at.code[0].value
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", shown)
    with Session(eng) as s:
        stored = s.exec(select(JoinCode)).one()
    assert shown.replace("-", "") not in stored.code_hash  # only the hash is kept
    member = accounts.redeem_join_code(engine=eng, code=shown)
    roleplay_replies(eng, library, member)

    at.run()  # live progress
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Gesprekken begonnen"] == "1" and metrics["Nog te beoordelen"] == "2"
    assert metrics["Deelnemers"] == "1"
    assert f"in gebruik door {member.code}" in texts(at)

    button(at, "Intrekken").click().run()
    assert "ingetrokken" in texts(at)
    assert accounts.current_participant(engine=eng, participant_id=member.participant_id) is None

    at.number_input(key=f"fa_set_overlap_{day.id}").set_value(2)
    button(at, "Opslaan").click().run()
    assert training.get_day(engine=eng, training_day_id=day.id).overlap == 2

    assert button(at, "Dag sluiten").disabled
    at.checkbox(key=f"fa_close_sure_{day.id}").check().run()
    button(at, "Dag sluiten").click().run()
    assert training.get_day(engine=eng, training_day_id=day.id).status ==\
        TrainingDayStatus.closed
    assert "Codes maken" not in [b.label for b in at.button]


def test_day_setup_errors_are_shown_calmly(eng) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    at.switch_page("app_pages/facilitator.py").run()
    at.text_input(key="fa_name").input("Leeg")
    button(at, "Dag aanmaken").click().run()
    assert "Kies minstens één scenario" in texts(at)


def test_bot_prompt_is_set_from_the_page(eng) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "dev", Role.developer))
    at.switch_page("app_pages/bot_targets.py").run()
    assert "basislijn" in texts(at)
    at.text_area(key="bt_prompt_text_reference").input("Je bent een korte, warme chatbot.")
    at.text_input(key="bt_prompt_label_reference").input("v2-kort")
    button(at, "Prompt opslaan").click().run()
    target = targets.list_targets(engine=eng)[0]
    assert target.prompt_label == "v2-kort" and target.n_prompt_versions == 2
    at.text_input(key="bt_name").input("lokaal-model")
    at.text_input(key="bt_base_url").input("http://127.0.0.1:9/v1")
    at.text_input(key="bt_model").input("tiny")
    button(at, "Toevoegen").click().run()
    assert [t.name for t in targets.list_targets(engine=eng)] == ["lokaal-model", "reference"]
