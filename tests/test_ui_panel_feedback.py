"""The panel's quick feedback and sidebar (issue 14, item 20): no staff words ("kritisch"), no
caption that repeats its answer ("Ja / Ja."), a question a panel member understands in place
of "Zou je dit sturen?", no demo banner for panel members, and "Afmelden" away from
"Overslaan". The staff form keeps the rubric's own words."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlmodel import Session, select

from tests.training_support import (
    app,
    button,
    reference_day,
    roleplay_replies,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import Role
from workbench.services import accounts
from workbench.storage.tables import Rating, TrainingDay

pytestmark = pytest.mark.usefixtures("fast_hashing")


def mark_demo(eng, day_id: int) -> None:  # type: ignore[no-untyped-def]
    with Session(eng) as s:
        day = s.get(TrainingDay, day_id)
        assert day is not None
        day.is_demo = True
        s.add(day)
        s.commit()
    st.cache_data.clear()  # the entry caches "is there demo data" for a minute


def in_roleplay(eng, library):  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    mark_demo(eng, day_id)
    at = app().run()
    at.text_input(key="auth_join_code").input(
        accounts.issue_join_code(engine=eng, training_day_id=day_id))
    button(at, "Meedoen").click().run()
    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    at.chat_input(key="rp_input").set_value("Hoi, ik weet niet of ik hier goed zit.").run()
    assert not at.exception and len(at.chat_message) == 2
    return at


def feedback_radios(at):  # type: ignore[no-untyped-def]
    return [r for r in at.radio if r.key and r.key.startswith("rp_fb_")]


def test_the_quick_feedback_speaks_to_the_panel_member(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = in_roleplay(eng, library)
    radios = feedback_radios(at)
    questions = [r.label for r in radios]
    assert questions == ["**Ik voelde me gehoord**", "**Ik voelde me veilig**",
                         "**Ik zou verder praten**", "**Zou dit antwoord jou helpen?**"]
    assert not any("kritisch" in q or "sturen" in q for q in questions)
    yes_no = radios[-1]
    assert yes_no.options == ["Ja", "Nee"]
    assert [c.strip() for c in yes_no.proto.captions] == ["", ""]  # not "Ja." under "Ja"
    felt_safe = radios[1]
    assert "Nee, dit antwoord voelde onveilig of beschuldigend." in felt_safe.proto.captions
    page = texts(at)
    assert "kritisch" not in page and "Zou je dit sturen" not in page

    # An answer under the new question is stored under the rubric's own key.
    yes_no.set_value("yes")
    button(at, "Feedback geven").click().run()
    assert not at.exception and "Dank je wel voor je feedback" in texts(at)
    with Session(eng) as s:
        [fb] = s.exec(select(Rating)).all()
    assert fb.values["would_send"] in (1, True, "yes")


def test_no_demo_banner_and_afmelden_apart_from_overslaan(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = in_roleplay(eng, library)
    assert "DEMO" not in texts(at) and "demogegevens" not in texts(at)
    side = [b.label for b in at.sidebar.button]
    assert side == ["Overslaan", "Pauze", "Nu stoppen", "Afmelden"]
    assert len(at.sidebar.divider) == 1  # a line between the controls and Afmelden
    button(at, "Pauze").click().run()
    assert [b.label for b in at.sidebar.button][-1] == "Afmelden"


def test_staff_still_see_the_demo_banner_and_the_rubric_words(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, overlap=1)
    mark_demo(eng, day_id)
    member = accounts.redeem_join_code(
        engine=eng, code=accounts.issue_join_code(engine=eng, training_day_id=day_id))
    roleplay_replies(eng, library, member)
    at = signed_in_app(staff(eng, "expert1", Role.expert))
    at.switch_page("app_pages/scoring.py").run()
    assert not at.exception
    assert "demogegevens" in texts(at)
    labels = [r.label for r in at.radio]
    assert any("kritisch" in label for label in labels)
    assert "**Zou je dit sturen?**" in labels
    assert [b.label for b in at.sidebar.button][0] == "Afmelden"  # staff: unchanged
