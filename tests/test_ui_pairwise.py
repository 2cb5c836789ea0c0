"""Pairwise A/B on the page: the sides a rater saw are recorded with the choice."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tests.test_services_training import two_versions_answering_the_same_turn
from tests.training_support import (
    button,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import PairwiseChoice
from workbench.services import training
from workbench.storage.tables import PairwiseJudgement, Turn

pytestmark = pytest.mark.usefixtures("fast_hashing")



def test_pairwise_judgement_records_the_side_assignment(eng, library) -> None:  # type: ignore[no-untyped-def]
    a, b = two_versions_answering_the_same_turn(eng, library)
    rater = staff(eng, "judge")
    at = signed_in_app(rater)
    at.switch_page("app_pages/pairwise.py").run()
    assert not at.exception
    left = training.left_turn_for(rater.participant_id, a, b)
    with Session(eng) as s:
        left_text = (s.get(Turn, left) or Turn()).content
    assert "**Antwoord A**" in [m.value for m in at.markdown]
    assert at.text[-2].value == left_text  # A is the rater's left side (then B), as plain text
    button(at, "Keuze opslaan").click().run()
    assert "Kies eerst A, B of even goed" in texts(at)
    at.radio[0].set_value("right")
    at.text_area[0].input("B noemt 112 en is korter.")
    button(at, "Keuze opslaan").click().run()
    with Session(eng) as s:
        j = s.exec(select(PairwiseJudgement)).one()
    assert (j.turn_a_id, j.turn_b_id, j.left_turn_id) == (a, b, left)
    right = b if left == a else a
    assert j.choice == (PairwiseChoice.a if right == a else PairwiseChoice.b)
    assert j.reason == "B noemt 112 en is korter."
    assert "geen paren" in texts(at)
