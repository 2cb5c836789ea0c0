"""'Ik wil even iemand spreken' in the app (issue 14, item 17): the panel member's button on
the pause and debrief screens, the calm confirmation with the support numbers, the
facilitator's list with the code and time and "Afgehandeld", and the ended-session page."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tests.training_support import (
    app,
    button,
    reference_day,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import Role
from workbench.services import accounts, training
from workbench.storage.tables import SupportSignal

pytestmark = pytest.mark.usefixtures("fast_hashing")

ASK = "Ik wil even iemand spreken"
COMING = "Een begeleider komt zo naar je toe"


def join(code: str):  # type: ignore[no-untyped-def]
    at = app().run()
    at.text_input(key="auth_join_code").input(code)
    button(at, "Meedoen").click().run()
    assert not at.exception
    return at


def stored(eng) -> list[SupportSignal]:  # type: ignore[no-untyped-def]
    with Session(eng) as s:
        return list(s.exec(select(SupportSignal)))


def labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button]


def test_the_pause_screen_asks_for_someone_once_and_the_facilitator_handles_it(
        eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="Signaaldag")
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    assert ASK not in labels(at)  # in the chat itself the controls are Skip, Pause, Stop
    button(at, "Pauze").click().run()
    assert "Je hebt pauze" in texts(at)
    button(at, ASK).click().run()
    assert not at.exception
    page = texts(at)
    assert COMING in page and "0800-2000" in page and "112" in page
    [sig] = stored(eng)
    member = accounts.current_participant(engine=eng, participant_id=sig.participant_id)
    assert member is not None and f"alleen je code: {member.code}" in page
    assert ASK not in labels(at)  # nothing left to press twice
    at.run()  # a rerun (or a refresh) keeps saying someone is coming
    assert COMING in texts(at) and len(stored(eng)) == 1

    fac = signed_in_app(staff(eng, "begeleider", Role.facilitator))
    fac.switch_page("app_pages/facilitator.py").run()
    assert not fac.exception
    board = texts(fac)
    assert f"{member.code}** wil even iemand spreken" in board and "Signaaldag" in board
    button(fac, "Afgehandeld").click().run()
    assert not fac.exception
    assert "Niemand heeft om een begeleider gevraagd" in texts(fac)
    assert f"{member.code}: afgehandeld door begeleider om" in texts(fac)
    [sig] = stored(eng)
    assert sig.handled_by == "begeleider" and sig.handled_at is not None

    at.run()  # handled: the panel member may ask again later
    assert COMING not in texts(at) and ASK in labels(at)


def test_the_debrief_offers_it_and_a_hostile_double_press_makes_one_signal(
        eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    at.radio[0].set_value("no").run()
    button(at, "Beginnen").click().run()
    button(at, "Nu stoppen").click().run()
    assert "Je bent gestopt" in texts(at)
    ask = button(at, ASK)
    # A second tab of the same member pressed first: this press finds the open signal.
    training.raise_signal(engine=eng, participant_id=stored_member(eng))
    ask.click().run()
    assert not at.exception and COMING in texts(at) and len(stored(eng)) == 1
    assert texts(at).count("0800-2000") == 1  # the debrief's own list, not a second one


def stored_member(eng) -> int:  # type: ignore[no-untyped-def]
    from workbench.storage.tables import Participant

    with Session(eng) as s:
        return int(s.exec(select(Participant.id).where(Participant.role == Role.panel)).one())


def test_a_closed_day_still_lets_them_ask_and_it_reaches_the_facilitator(
        eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="Gesloten dag")
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    training.close_day(engine=eng, training_day_id=day_id, closed_by="begeleider")
    at.run()
    assert "de trainingsdag afgesloten" in texts(at)
    button(at, ASK).click().run()
    assert not at.exception and COMING in texts(at)
    fac = signed_in_app(staff(eng, "begeleider", Role.facilitator))
    fac.switch_page("app_pages/facilitator.py").run()
    assert "wil even iemand spreken" in texts(fac) and "Gesloten dag" in texts(fac)
    button(at, "Terug naar het begin").click().run()
    assert "Welkom bij de werkplaats" in texts(at) and ASK not in labels(at)


def test_a_revoked_code_still_lets_them_ask(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    [jc] = accounts.list_join_codes(engine=eng, training_day_id=day_id)
    accounts.revoke_join_code(engine=eng, join_code_id=jc.id, revoked_by="begeleider")
    at.run()
    assert "De begeleider heeft deze sessie beëindigd" in texts(at)
    button(at, ASK).click().run()
    assert COMING in texts(at) and len(stored(eng)) == 1
    assert training.signal_board(engine=eng).open[0].participant_code.startswith("LE-")


def test_the_board_shows_a_typed_day_name_as_plain_text(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="[klik](http://x.invalid) **vet**")
    member = accounts.redeem_join_code(
        engine=eng, code=accounts.issue_join_code(engine=eng, training_day_id=day_id))
    training.raise_signal(engine=eng, participant_id=member.participant_id)
    fac = signed_in_app(staff(eng, "begeleider", Role.facilitator))
    fac.switch_page("app_pages/facilitator.py").run()
    shown = [w.value for w in fac.warning if "wil even iemand spreken" in w.value]
    assert shown and "\\[klik\\]" in shown[0] and "\\*\\*vet" in shown[0]
