"""Expert scoring, a draft that survives a refresh, and a scripted run scored as it goes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.training_support import (
    PASSWORD,
    app,
    button,
    panel_member,
    reference_day,
    roleplay_replies,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import ConversationKind, RatingStatus, Role
from workbench.services import training
from workbench.storage.tables import Conversation, Rating, Turn

pytestmark = pytest.mark.usefixtures("fast_hashing")



def fill(at, turn_id: int, library, score: int = 4) -> None:  # type: ignore[no-untyped-def]
    for crit in library.rubric("expert").rubric.criteria:
        value = score if crit.scale == "likert_5" else "no"
        at.radio(key=f"sc_{turn_id}_{crit.key}").set_value(value)


def ratings(eng: sa.Engine) -> list[Rating]:
    with Session(eng) as s:
        return list(s.exec(select(Rating).order_by(Rating.id)))


def reply_text(eng: sa.Engine, turn_id: int) -> str:
    with Session(eng) as s:
        turn = s.get(Turn, turn_id)
        assert turn is not None
        return turn.content


def test_expert_scores_a_reply_with_ideal_reply_and_unsafe_span(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, r2 = roleplay_replies(eng, library, panel_member(eng, day_id))
    other = staff(eng, "other")
    item = training.next_item(engine=eng, rater_id=other.participant_id, training_day_id=day_id)
    assert item is not None
    training.submit_rating(engine=eng, rater_id=other.participant_id, turn_id=r1,
                   rubric_version_id=item.rubric_version_id,
                   form=training.RatingInput(values={c.key: 2 if c.scale == "likert_5" else "no"
                                                    for c in item.rubric.criteria},
                                            comment="GEHEIME-OPMERKING-VAN-ANDER"))
    at = signed_in_app(staff(eng, "exp"))
    at.switch_page("app_pages/scoring.py").run()
    assert not at.exception
    page = texts(at)
    assert "Risiconiveau" in page and "Moet:" in page
    assert "GEHEIME-OPMERKING-VAN-ANDER" not in page  # blind
    assert reply_text(eng, r1) in page
    # The anchors of each level are one click away, folded beside the reply.
    legend = next(e for e in at.expander if e.label == "Wat betekenen de scores?")
    shown = " ".join(m.value for m in legend.markdown)
    assert "verwurging" in shown and "**5**:" in shown

    fill(at, r1, library)
    span = reply_text(eng, r1).split(".")[0]
    at.text_area(key=f"sc_{r1}_ideal").input("Wat fijn dat je schrijft. Ben je nu veilig?")
    at.checkbox(key=f"sc_{r1}_unsafe").check()
    at.text_input(key=f"sc_{r1}_span").input("dit staat er niet in")
    button(at, "Insturen").click().run()
    assert "staat niet letterlijk in het antwoord" in texts(at)
    assert len(ratings(eng)) == 1
    at.text_input(key=f"sc_{r1}_span").input(span)
    button(at, "Insturen").click().run()
    assert not at.exception
    mine = ratings(eng)[-1]
    assert mine.status == RatingStatus.submitted and mine.unsafe and mine.unsafe_flag
    assert mine.unsafe_span == span
    assert mine.ideal_reply == "Wat fijn dat je schrijft. Ben je nu veilig?"
    assert mine.overall == pytest.approx(4.0) and mine.values["would_send"] == 0
    # The next reply is ready straight away.
    assert at.radio(key=f"sc_{r2}_safety").value is None
    assert reply_text(eng, r2) in texts(at)


def test_a_draft_comes_back_after_a_refresh(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, _ = roleplay_replies(eng, library, panel_member(eng, day_id))
    expert = staff(eng, "exp")
    at = signed_in_app(expert)
    at.switch_page("app_pages/scoring.py").run()
    at.radio(key=f"sc_{r1}_safety").set_value(3)
    at.radio(key=f"sc_{r1}_would_send").set_value("yes")
    at.text_area(key=f"sc_{r1}_comment").input("Nog even over nadenken")
    button(at, "Bewaren als concept").click().run()
    assert ratings(eng)[0].status == RatingStatus.draft

    fresh = app().run()  # a refresh: a new session, sign in again
    fresh.tabs  # noqa: B018  (both tabs render; the staff form is the second)
    fresh.text_input(key="auth_code").input("exp")
    fresh.text_input(key="auth_password").input(PASSWORD)
    button(fresh, "Aanmelden").click().run()
    fresh.switch_page("app_pages/scoring.py").run()
    assert "concept staat hieronder" in texts(fresh)
    assert fresh.radio(key=f"sc_{r1}_safety").value == 3
    assert fresh.radio(key=f"sc_{r1}_would_send").value == "yes"
    assert fresh.radio(key=f"sc_{r1}_accuracy").value is None
    assert fresh.text_area(key=f"sc_{r1}_comment").value == "Nog even over nadenken"
    fill(fresh, r1, library, score=5)
    button(fresh, "Insturen").click().run()
    assert [r.status for r in ratings(eng)] == [RatingStatus.submitted]
    assert ratings(eng)[0].comment == "Nog even over nadenken"


def test_scripted_run_plays_turns_and_scores_as_it_goes(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    at.switch_page("app_pages/scripted.py").run()
    sid = sorted(library.scenarios)[0]
    at.selectbox(key="sr_scenario").set_value(sid)
    button(at, "Beginnen").click().run()
    assert "0 van" in texts(at)
    button(at, "Volgende beurt versturen").click().run()
    assert not at.exception
    with Session(eng) as s:
        conv = s.exec(select(Conversation)).one()
        turns = s.exec(select(Turn).where(Turn.conversation_id == conv.id)
                       .order_by(Turn.index)).all()
    assert conv.kind == ConversationKind.scripted
    assert turns[0].content == library.scenarios[sid].scenario.scripted_turns[0].text
    reply_id = turns[1].id or 0
    assert "1 van" in texts(at)
    fill(at, reply_id, library)
    button(at, "Insturen").click().run()
    assert ratings(eng)[0].turn_id == reply_id
    assert "al beoordeeld" in texts(at)
    button(at, "Volgende beurt versturen").click().run()
    assert "2 van" in texts(at)


def in_order(node):  # type: ignore[no-untyped-def]
    """Every element under `node` in the order the page shows them."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from in_order(child)


def test_a_refused_submit_shows_all_problems_on_top_and_beside_the_criteria(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, _ = roleplay_replies(eng, library, panel_member(eng, day_id))
    at = signed_in_app(staff(eng, "exp"))
    at.switch_page("app_pages/scoring.py").run()
    at.radio(key=f"sc_{r1}_safety").set_value(4)
    at.checkbox(key=f"sc_{r1}_unsafe").check()  # and no quote: a second problem
    button(at, "Insturen").click().run()
    assert not at.exception and ratings(eng) == []
    # One error, naming both problems, and it comes before the first criterion of the form.
    [error] = at.error
    assert "Geef nog een score bij: Feitelijke juistheid" in error.value
    assert "Citeer bij een onveilig antwoord" in error.value
    shown = [n.type for n in in_order(at.main) if n.type in ("error", "radio")]
    assert shown[0] == "error"
    # Beside each criterion still to score, and only there.
    assert "geef hier nog een score" not in at.radio(key=f"sc_{r1}_safety").label
    assert "geef hier nog een score" in at.radio(key=f"sc_{r1}_accuracy").label
    assert "geef hier nog een score" in at.radio(key=f"sc_{r1}_would_send").label
    assert "vul dit nog in" in at.text_input(key=f"sc_{r1}_span").label
    assert at.radio(key=f"sc_{r1}_safety").value == 4  # what was filled in stays
    # Submitting the same incomplete form again: still one error, nothing stored.
    button(at, "Insturen").click().run()
    assert len(at.error) == 1 and ratings(eng) == []
    # Fixed: stored, and the next reply starts clean.
    at.checkbox(key=f"sc_{r1}_unsafe").uncheck()
    fill(at, r1, library)
    button(at, "Insturen").click().run()
    assert not at.error and len(ratings(eng)) == 1
    assert all("geef hier nog een score" not in r.label for r in at.radio)


def test_the_counter_says_where_the_rater_is_in_their_queue(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, r2 = roleplay_replies(eng, library, panel_member(eng, day_id))
    expert = staff(eng, "exp")
    at = signed_in_app(expert)
    at.switch_page("app_pages/scoring.py").run()
    assert "1 van 2** in je rij" in texts(at)
    fill(at, r1, library)
    button(at, "Insturen").click().run()
    assert "2 van 2** in je rij" in texts(at)
    # A draft still counts as open work; the service says the same as the page.
    at.radio(key=f"sc_{r2}_safety").set_value(2)
    button(at, "Bewaren als concept").click().run()
    progress = training.queue_progress(engine=eng, rater_id=expert.participant_id,
                                       training_day_id=day_id)
    assert progress is not None and (progress.done, progress.open) == (1, 1)
    assert (progress.position, progress.total) == (2, 2)
    # Another expert has both waiting: the day wants two raters per reply (overlap 2).
    other = training.queue_progress(engine=eng, rater_id=staff(eng, "exp2").participant_id,
                                    training_day_id=day_id)
    assert other is not None and (other.position, other.total) == (1, 2)


def test_the_legend_of_the_keys_is_dutch_and_the_script_knows_the_criteria(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, _ = roleplay_replies(eng, library, panel_member(eng, day_id))
    at = signed_in_app(staff(eng, "exp"))
    at.switch_page("app_pages/scoring.py").run()
    [legend] = [h.proto.body for h in at.get("html") if "wb-keys" in h.proto.body]
    assert "Sneltoetsen" in legend and "ja of nee" in legend and "Niet tijdens het typen" in legend
    assert f'"prefix": "sc_{r1}"' in legend and '"submit": "sc_' in legend
    assert '"yes": "j"' in legend and '"safety"' in legend
