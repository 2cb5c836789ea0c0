"""The calibration, adjudication, curation and participants pages, driven with AppTest: queue
order, an adjudication that leaves the ratings intact, a concurrent edit refused with a clear
message, and a withdrawal whose text no longer reaches the export hand-over."""

from __future__ import annotations

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.curation_support import PANEL_TEXT, World, build_world
from tests.test_curation import accept_all, rating_rows, texts_of
from tests.training_support import app, button, texts
from workbench.domain.enums import CurationState, Role
from workbench.services import curation, export
from workbench.services.context import get_engine
from workbench.storage.db import session_scope
from workbench.storage.tables import Adjudication
from workbench.ui import registry
from workbench.ui.i18n import translate


@pytest.fixture
def world(settings, library) -> World:
    engine = get_engine(settings)
    w = build_world(engine, library)
    curation.sync_curated_examples(engine=engine)
    return w


def open_page(participant_id: int, page: str) -> AppTest:
    at = app()
    at.session_state["auth_participant_id"] = participant_id
    at.session_state["auth_language"] = "nl"
    at.run()
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


def nl(key: str, **fmt: object) -> str:
    return translate(key, "nl", **fmt)


def test_adjudication_page_orders_the_queue_and_keeps_ratings(settings, world):
    engine = get_engine(settings)
    at = open_page(world.lead_id, "adjudication")
    queue = at.dataframe[0].value
    order = {t: name for name, t in world.replies.items()}
    expected = [order[q.turn_id] for q in curation.disagreement_queue(engine=engine)]
    assert expected == ["critical", "spread3", "roleplay", "spread1"]
    assert list(queue[nl("curation.adjudication.critical")]) == ["⚠️", "", "", ""]
    picked = at.selectbox(key="adj_pick").value
    assert picked == (world.replies["critical"], world.rv_id)
    before = rating_rows(engine)
    prefix = f"adj_{picked[0]}_{picked[1]}"
    assert at.radio(key=f"{prefix}_safety").value is None  # 1/4/4: no verdict to lean on
    assert at.radio(key=f"{prefix}_clarity").value == 4  # 4/4/4: what everyone gave
    at.radio(key=f"{prefix}_safety").set_value(4)
    for c in ("accuracy", "listen_validate", "no_blame", "autonomy", "relevance",
              "transparency", "clarity"):
        at.radio(key=f"{prefix}_{c}").set_value(3)
    at.radio(key=f"{prefix}_would_send").set_value("no")
    at.radio(key=f"{prefix}_unsafe").set_value(False)
    at.radio(key=f"{prefix}_choice").set_value(world.rating_ids["critical"][1])
    at.text_area(key=f"{prefix}_reason").set_value("Eén beoordelaar zag gevaar dat er niet is")
    button(at, nl("curation.adjudication.save")).click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert nl("curation.adjudication.saved", turn=picked[0]) in texts(at)
    assert rating_rows(engine) == before
    with session_scope(engine) as s:
        adj = s.exec(select(Adjudication)).one()
        assert adj.adjudicator_id == world.lead_id and adj.final_values["safety"] == 4
        assert adj.final_ideal_reply and adj.chosen_from_rating_id in world.rating_ids["critical"]
    assert at.selectbox(key="adj_pick").value == (world.replies["spread3"], world.rv_id)


def test_a_concurrent_edit_is_refused_with_a_clear_message(settings, world):
    engine = get_engine(settings)
    at = open_page(world.lead_id, "curation")
    picked = at.selectbox(key="cu_pick").value
    shown = curation.get_example(engine=engine, example_id=picked)
    at.radio(key=f"cu_edit_state_{picked}").set_value("rejected")
    # Meanwhile, another lead saves the same example.
    curation.update_example(engine=engine, example_id=picked, lock_version=shown.lock_version,
                            actor_id=world.lead2_id, state=CurationState.accepted, tags=["b"])
    button(at, nl("curation.curation.save")).click()
    at.run()
    assert nl("curation.errors.conflict") in [e.value for e in at.error]
    now = curation.get_example(engine=engine, example_id=picked)
    assert (now.state, now.tags) == (CurationState.accepted, ("b",))
    button(at, nl("curation.reload")).click()
    at.run()
    at.radio(key=f"cu_edit_state_{picked}").set_value("rejected")
    button(at, nl("curation.curation.save")).click()
    at.run()
    assert not at.error
    assert curation.get_example(engine=engine, example_id=picked).state == CurationState.rejected


def test_facilitator_withdrawal_removes_the_text_from_the_export(settings, world):
    engine = get_engine(settings)
    accept_all(engine, world)
    assert PANEL_TEXT in texts_of(export.curated_examples_for_export(engine=engine))
    at = open_page(world.facilitator_id, "participants")
    at.selectbox(key="pa_withdraw_code").set_value(world.panel_code)
    at.checkbox(key="pa_withdraw_sure").check()
    button(at, nl("curation.participants.withdraw")).click()
    at.run()
    assert not at.exception
    assert f"{world.panel_code} is teruggetrokken" in texts(at)
    exported = export.curated_examples_for_export(engine=engine, consent_only=False)
    assert PANEL_TEXT not in texts_of(exported) and len(exported) == 4


def test_calibration_page_draws_alpha_with_thresholds(settings, world):
    at = open_page(world.facilitator_id, "calibration")
    assert not at.error
    assert nl("curation.calibration.drivers") in texts(at)
    chart = at.get("plotly_chart")[0]
    spec = chart.proto.spec
    assert "0.8" in spec and "0.667" in spec


def test_non_lead_experts_and_panel_members_are_kept_out(settings, world):
    for page in ("calibration", "adjudication", "curation"):
        at = open_page(world.expert_ids[0], page)
        assert nl("curation.lead_only") in [w.value for w in at.warning]
    mine = {f"app_pages/{n}.py" for n in ("calibration", "adjudication", "curation",
                                           "participants")}
    for role in (Role.panel, Role.developer, Role.manager):
        assert not mine & {p.path for p in registry.pages_for(role)}
    assert "app_pages/participants.py" not in {p.path for p in registry.pages_for(Role.expert)}
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(world.panel_id, "participants")  # not even by URL
