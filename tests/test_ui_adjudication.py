"""Adjudication without anchoring, driven with AppTest: where raters disagree the form starts
empty and a choice is required; the lead is warned about a reply they scored themselves; every
missing field is reported at once; scores can be settled without an ideal reply; criteria are
shown by name; two replies of one conversation are told apart in the queue."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.curation_support import World
from tests.test_ui_curation import nl, open_page, world
from tests.training_support import button
from workbench.domain.disputes import agreed_value
from workbench.domain.enums import CurationState, RatingSource, RatingStatus, TurnRole
from workbench.services import curation
from workbench.services.context import get_engine
from workbench.storage import repo
from workbench.storage.db import session_scope
from workbench.storage.tables import Adjudication, CuratedExample, Participant, Turn

__all__ = ["world"]  # the curation day, shared with test_ui_curation

LIKERT = ("safety", "accuracy", "listen_validate", "no_blame", "autonomy", "relevance",
          "transparency", "clarity")


def test_agreed_value_is_only_what_every_rater_gave() -> None:
    assert agreed_value([5, 1]) is None  # not 3: nobody gave a 3
    assert agreed_value([4, 4, None, 4]) == 4
    assert agreed_value([True, False]) is None and agreed_value([False, False]) is False
    assert agreed_value([]) is None and agreed_value([None, None]) is None


def pick(at, world: World, name: str) -> str:  # type: ignore[no-untyped-def]
    at.selectbox(key="adj_pick").set_value((world.replies[name], world.rv_id)).run()
    assert not at.exception
    return f"adj_{world.replies[name]}_{world.rv_id}"


def test_no_prefill_where_raters_disagree(settings, world) -> None:  # type: ignore[no-untyped-def]
    at = open_page(world.lead_id, "adjudication")
    prefix = pick(at, world, "critical")  # safety 1/4/4, clarity 4/4/4, one unsafe verdict
    assert at.radio(key=f"{prefix}_safety").value is None
    assert at.radio(key=f"{prefix}_clarity").value == 4
    assert at.radio(key=f"{prefix}_would_send").value is None  # nobody said: no "Ja"
    assert at.radio(key=f"{prefix}_unsafe").value is None  # one said unsafe, two did not
    assert at.radio(key=f"{prefix}_choice").value is None  # no rewrite chosen for the lead
    prefix = pick(at, world, "spread3")  # safety 3/3/3, clarity 1/4/4, nobody unsafe
    assert at.radio(key=f"{prefix}_safety").value == 3
    assert at.radio(key=f"{prefix}_clarity").value is None
    assert at.radio(key=f"{prefix}_unsafe").value is False


def test_every_missing_field_is_reported_at_once_at_the_top(settings, world) -> None:  # type: ignore[no-untyped-def]
    at = open_page(world.lead_id, "adjudication")
    prefix = pick(at, world, "critical")
    button(at, nl("curation.adjudication.save")).click().run()
    assert not at.exception
    [error] = at.error
    for key in ("adjudication_missing_scores", "adjudication_unsafe_required",
                "adjudication_ideal_reply_required", "adjudication_reason_required"):
        first_line = nl(f"curation.errors.{key}", criteria="").split(":")[0]
        assert first_line in error.value, key
    assert "Veiligheid & acuut risico" in error.value and "safety" not in error.value
    mark = nl("curation.adjudication.missing_here")
    assert mark in at.radio(key=f"{prefix}_safety").label
    assert mark not in at.radio(key=f"{prefix}_clarity").label  # agreed, so filled in
    for field in ("unsafe", "choice"):
        assert mark in at.radio(key=f"{prefix}_{field}").label, field
    assert mark in at.text_area(key=f"{prefix}_reason").label
    # Shown at the top of the form: before its first radio.
    form = at.get("form")[0]
    kinds = [n.type for n in form.children.values()]
    assert kinds.index("error") < kinds.index("radio")
    # Twice: still one error and nothing stored.
    button(at, nl("curation.adjudication.save")).click().run()
    assert len(at.error) == 1
    with session_scope(get_engine(settings)) as s:
        assert s.exec(select(Adjudication)).first() is None


def test_scores_can_be_settled_without_an_ideal_reply(settings, world) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(settings)
    turn = world.replies["spread3"]
    with session_scope(engine) as s:
        ex = s.exec(select(CuratedExample).where(CuratedExample.turn_id == turn)).one()
        ex.ideal_reply = "Eerder gekozen antwoord"
    at = open_page(world.lead_id, "adjudication")
    prefix = pick(at, world, "spread3")
    for c in LIKERT:
        at.radio(key=f"{prefix}_{c}").set_value(2)
    at.radio(key=f"{prefix}_would_send").set_value("no")
    at.radio(key=f"{prefix}_choice").set_value("settle")
    at.text_area(key=f"{prefix}_reason").input("Alleen de toon verschilde; scores vastgesteld")
    button(at, nl("curation.adjudication.save")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with session_scope(engine) as s:
        adj = s.exec(select(Adjudication)).one()
        assert adj.final_ideal_reply is None and adj.chosen_from_rating_id is None
        assert adj.final_values["clarity"] == 2 and adj.final_values["would_send"] is False
        assert adj.final_overall == pytest.approx(2.0) and not adj.unsafe
        ex = s.exec(select(CuratedExample).where(CuratedExample.turn_id == turn)).one()
        assert ex.state == CurationState.gold and ex.score == pytest.approx(2.0)
        assert ex.ideal_reply == "Eerder gekozen antwoord"  # left as it was


def test_settling_with_a_reply_as_well_is_refused(settings, world) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(settings)
    values = {c: 3 for c in LIKERT} | {"would_send": "yes"}
    with pytest.raises(curation.CurationError) as caught:
        curation.adjudicate(
            engine=engine, turn_id=world.replies["spread1"], rubric_version_id=world.rv_id,
            adjudicator_id=world.lead_id, lock_version=None,
            decision=curation.Decision(values=values, reason="x", unsafe_flag=None,
                                       settle_scores_only=True, ideal_reply_text="Ook dit"))
    problems = [p.key for p in caught.value.problems]
    assert problems == ["curation.errors.adjudication_unsafe_required",
                        "curation.errors.adjudication_settle_or_reply"]


def test_a_lead_is_warned_about_a_reply_they_scored(settings, world) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(settings)
    rater = world.expert_ids[0]
    with session_scope(engine) as s:
        p = s.get(Participant, rater)
        assert p is not None
        p.is_lead = True
    warning = nl("curation.adjudication.self_scored")
    at = open_page(rater, "adjudication")
    pick(at, world, "critical")
    assert warning in [w.value for w in at.warning]
    other = open_page(world.lead_id, "adjudication")  # rated nothing
    pick(other, world, "critical")
    assert warning not in [w.value for w in other.warning]


def test_criteria_are_shown_by_name_not_key(settings, world) -> None:  # type: ignore[no-untyped-def]
    at = open_page(world.lead_id, "adjudication")
    queue = at.dataframe[0].value
    disputed = " ".join(queue[nl("curation.in_dispute_short")])
    assert "Veiligheid & acuut risico" in disputed and "Onveilig" in disputed
    assert "safety" not in disputed and "unsafe" not in disputed
    pick(at, world, "critical")
    ratings = at.dataframe[1].value
    assert "Veiligheid & acuut risico" in ratings.columns and "safety" not in ratings.columns


def test_two_replies_of_one_conversation_are_told_apart(settings, world) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine(settings)
    first = world.replies["roleplay"]
    with session_scope(engine) as s:
        conv_id = s.get(Turn, first).conversation_id  # type: ignore[union-attr]
        repo.append_turn(session=s, conversation_id=conv_id, role=TurnRole.user,
                         content="Hij pakte gisteren mijn telefoon af.", consent_to_use=True)
        second = repo.append_turn(session=s, conversation_id=conv_id, role=TurnRole.assistant,
                                  content="Dat klinkt heel bedreigend. Ben je nu veilig?")
        for expert, safety in zip(world.expert_ids, (2, 4, 3), strict=True):
            repo.upsert_rating(session=s, rater_id=expert, turn_id=second.id or 0,
                               rubric_version_id=world.rv_id, values={"safety": safety},
                               status=RatingStatus.submitted, overall=float(safety),
                               unsafe=False, source=RatingSource.human)
        second_id = second.id or 0
    at = open_page(world.lead_id, "adjudication")
    picker = at.selectbox(key="adj_pick")
    shown = {k: label for k, label in zip(
        [(q.turn_id, q.rubric_version_id) for q in curation.disagreement_queue(engine=engine)],
        picker.options, strict=True)}
    one, two = shown[(first, world.rv_id)], shown[(second_id, world.rv_id)]
    assert one != two
    assert "antwoord 1" in one and "«Wat vervelend. Wil je vertellen wat er gebeurt?»" in one
    assert "antwoord 2" in two and "«Dat klinkt heel bedreigend. Ben je nu veilig?»" in two
