"""Pairwise A/B by training day (issue 14, item 22): staff filter by day, every pair shows its
scenario and risk level, and a panel member is told why there are no pairs for them (their own
role-plays are left out)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session

from tests import builders
from tests.training_support import panel_member, reference_day, signed_in_app, staff, texts
from workbench.domain.enums import ConversationKind
from workbench.services import targets, training

pytestmark = pytest.mark.usefixtures("fast_hashing")


def pair_on(eng: Any, library: Any, day_id: int, scenario_id: str,
            roleplayer_id: int | None = None) -> tuple[int, int]:
    """Two replies to the same user turn by two prompt versions on `day_id`; the first is a
    role-play of `roleplayer_id` when given."""
    with Session(eng) as s:
        target = targets.ensure_reference_target(session=s)
        base = targets.prompt_of(session=s, prompt_version_id=target.current_prompt_version_id)
        _, other = builders.bot_target(s, prompt=f"Kort en warm ({scenario_id}).")
        _, r1 = builders.conversation_with_reply(
            s, library, scenario_id, training_day_id=day_id, target=(target, base),
            kind=ConversationKind.roleplay if roleplayer_id else ConversationKind.scripted,
            participant_id=roleplayer_id)
        _, r2 = builders.conversation_with_reply(s, library, scenario_id, training_day_id=day_id,
                                                 target=(target, other))
        s.commit()
        return r1.id or 0, r2.id or 0


def test_a_panel_member_is_told_their_own_role_plays_are_left_out(eng, library) -> None:  # type: ignore[no-untyped-def]
    day = reference_day(eng, library)
    member = panel_member(eng, day)
    pair_on(eng, library, day, sorted(library.scenarios)[0], roleplayer_id=member.participant_id)
    queue = training.pair_queue(engine=eng, rater_id=member.participant_id, training_day_id=day)
    assert (queue.item, queue.remaining, queue.own_left_out) == (None, 0, 1)
    at = signed_in_app(member)
    at.switch_page("app_pages/pairwise.py").run()
    assert not at.exception
    shown = texts(at)
    assert "geen paren" in shown
    assert "Je eigen rollenspellen doen hier niet mee" in shown and "jouw gesprekken: 1" in shown
    assert "pw_day" not in [s.key for s in at.selectbox]  # their own day only


def test_with_nothing_at_all_the_page_says_how_pairs_arise(eng, library) -> None:  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "exp"))
    at.switch_page("app_pages/pairwise.py").run()
    assert "Een paar ontstaat als twee promptversies" in texts(at)


def test_staff_filter_pairs_by_day_and_see_scenario_and_risk(eng, library) -> None:  # type: ignore[no-untyped-def]
    first = reference_day(eng, library, name="Eerste")
    second = reference_day(eng, library, name="Tweede", day=date(2030, 5, 1))
    s1, s2 = "acuut-doodsbedreiging-als-ik-wegga", sorted(library.scenarios)[-1]
    a = pair_on(eng, library, first, s1)
    b = pair_on(eng, library, second, s2)
    expert = staff(eng, "exp")
    at = signed_in_app(expert)
    at.switch_page("app_pages/pairwise.py").run()
    assert not at.exception
    box = at.selectbox(key="pw_day")
    assert box.options[0] == "Alle trainingsdagen"
    assert any("Tweede" in o and f"#{second}" in o for o in box.options)
    title1 = library.scenarios[s1].scenario.title
    assert f"Scenario: {title1} · risico acuut" in texts(at).replace("\\", "")  # all: oldest
    box.set_value(second).run()
    sc2 = library.scenarios[s2].scenario
    assert sc2.title in texts(at).replace("\\", "") and "Scenario: " in texts(at)
    queue = training.pair_queue(engine=eng, rater_id=expert.participant_id,
                                training_day_id=second)
    assert queue.item is not None and (queue.item.turn_a_id, queue.item.turn_b_id) == b
    assert queue.item.risk_level == str(sc2.risk_level)
    assert queue.item.training_day_id == second
    whole = training.pair_queue(engine=eng, rater_id=expert.participant_id)
    assert whole.remaining == 2 and whole.item is not None
    assert (whole.item.turn_a_id, whole.item.turn_b_id) == a
