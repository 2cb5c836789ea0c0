"""The access issues in the app (AppTest): the language chosen before joining is kept (7), a
revoked code or closed day mid-role-play ends calmly with the support contacts (8), a staff
session survives a new browser session through its cookie (9), the client address behind
trusted proxies (13)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from tests.training_support import (
    PASSWORD,
    app,
    button,
    reference_day,
    staff,
    texts,
)
from workbench.domain.enums import Role, ThrottleKind, TurnRole
from workbench.services import accounts, training
from workbench.storage.tables import Participant, StaffSession, Turn
from workbench.ui import state

pytestmark = pytest.mark.usefixtures("fast_hashing")


def join(code: str, *, language: str | None = None):  # type: ignore[no-untyped-def]
    at = app().run()
    if language:
        at.sidebar.radio[0].set_value(language).run()
    at.text_input(key="auth_join_code").input(code)
    button(at, "Join" if language == "en" else "Meedoen").click().run()
    assert not at.exception
    return at


def browser(monkeypatch: pytest.MonkeyPatch, *, peer: str | None = None,
            forwarded_for: list[str] | None = None, cookies: dict[str, str] | None = None
            ) -> None:
    """What the next AppTest runs see of their connection (AppTest cannot seed st.context)."""
    monkeypatch.setattr(state, "request", lambda: state.Request(
        peer=peer, forwarded_for=forwarded_for or [], cookies=cookies or {}))


def sign_in_form(at, code: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    at.text_input(key="auth_code").input(code)
    at.text_input(key="auth_password").input(password)
    button(at, "Aanmelden").click().run()
    return at


# --- 7: the language chosen before joining --------------------------------------------------


def test_the_language_chosen_before_joining_is_kept(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id), language="en")
    assert at.title[0].value == "Role-play" and "Before you start" in texts(at)
    with Session(eng) as s:
        member = s.exec(select(Participant).where(Participant.role == Role.panel)).one()
    assert member.language == "en"  # and it stays theirs on the next join


def test_without_a_choice_a_returning_member_keeps_their_own_language(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    join(code, language="en")
    at = join(code)  # a new browser session; nobody touched the switch
    assert at.title[0].value == "Role-play"


def test_a_staff_member_keeps_the_language_chosen_on_the_sign_in_page(eng) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    at = app().run()
    at.sidebar.radio[0].set_value("en").run()
    at.text_input(key="auth_code").input("exp")
    at.text_input(key="auth_password").input(PASSWORD)
    button(at, "Sign in").click().run()
    assert at.title[0].value == "Welcome, exp"
    assert accounts.sign_in(engine=eng, code="exp", password=PASSWORD).language == "en"


# --- 8: ended by the facilitator mid-role-play ---------------------------------------------------


def _playing(eng, library):  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    at = join(code)
    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    at.chat_input(key="rp_input").set_value("Hoi, ik weet niet of ik hier goed zit.").run()
    assert not at.exception and len(at.chat_message) == 2
    return day_id, at


def _turns(eng: sa.Engine) -> list[tuple[str, str]]:
    with Session(eng) as s:
        return [(t.role, t.content) for t in s.exec(select(Turn).order_by(col(Turn.id)))]


def test_a_code_revoked_mid_roleplay_shows_a_calm_message_and_support(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id, at = _playing(eng, library)
    before = _turns(eng)
    [jc] = accounts.list_join_codes(engine=eng, training_day_id=day_id)
    accounts.revoke_join_code(engine=eng, join_code_id=jc.id, revoked_by="fac")
    at.run()  # their next click
    assert not at.exception
    page = texts(at)
    assert "De begeleider heeft deze sessie beëindigd" in page
    assert "0800-2000" in page and "112" in page  # the debrief's support contacts
    assert "Welkom bij de werkplaats" not in page and "Code van vandaag" not in page
    assert _turns(eng) == before and (TurnRole.user, before[0][1]) in before  # nothing lost
    at.run()  # it stays until they choose to go on
    assert "De begeleider heeft deze sessie beëindigd" in texts(at)
    button(at, "Terug naar het begin").click().run()
    assert "Welkom bij de werkplaats" in texts(at)


def test_a_day_closed_mid_roleplay_says_so(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id, at = _playing(eng, library)
    training.close_day(engine=eng, training_day_id=day_id, closed_by="fac")
    at.chat_input(key="rp_input").set_value("Hallo?").run()  # typing when it happened
    assert not at.exception
    assert "de trainingsdag afgesloten" in texts(at) and "0800-2000" in texts(at)
    assert ("user", "Hallo?") not in _turns(eng)  # the day is closed: nothing more is sent


# --- 9: a staff session that survives a refresh -----------------------------------------------


def test_staff_sign_in_opens_a_session_that_a_new_browser_session_resumes(
        eng, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    at = sign_in_form(app().run(), "exp")
    assert at.title[0].value == "Welkom, exp"
    claim = at.session_state[state.CLAIM_KEY]
    assert any(claim in str(el.proto) for el in at.get("html"))  # the page hands it over
    cookie = accounts.claim_staff_session(engine=eng, claim=claim)  # what the browser does
    assert cookie is not None and claim not in cookie.token
    at.run()
    assert state.CLAIM_KEY not in at.session_state  # exchanged: not rendered any more

    browser(monkeypatch, cookies={accounts.COOKIE_NAME: cookie.token})
    refreshed = app().run()  # a refresh, a typed URL or a new tab: a fresh session state
    assert refreshed.title[0].value == "Welkom, exp"
    refreshed.switch_page("app_pages/scoring.py").run()
    assert not refreshed.exception and "Antwoorden beoordelen" in refreshed.title[0].value

    button(at, "Afmelden").click().run()  # signing out in one tab ends it everywhere
    assert any("DELETE" in str(el.proto) for el in at.get("html"))  # and drops the cookie
    refreshed.run()
    assert "Welkom bij de werkplaats" in texts(refreshed)
    assert "Welkom bij de werkplaats" in texts(app().run())


def test_a_new_password_or_deactivation_ends_the_session_at_once(
        eng, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    at = sign_in_form(app().run(), "exp")
    token = accounts.claim_staff_session(engine=eng, claim=at.session_state[state.CLAIM_KEY])
    assert token is not None
    accounts.set_password(engine=eng, code="exp", password="een-heel-nieuw-wachtwoord")
    at.run()
    assert "Welkom bij de werkplaats" in texts(at)
    browser(monkeypatch, cookies={accounts.COOKIE_NAME: token.token})
    assert "Welkom bij de werkplaats" in texts(app().run())
    with Session(eng) as s:
        assert all(r.revoked_at is not None for r in s.exec(select(StaffSession)))


@pytest.mark.parametrize("cookie", ["", "x", "a" * 5000, "\x00" * 43, "é" * 43,
                                    "A" * 43])
def test_a_forged_or_odd_cookie_signs_nobody_in(eng, monkeypatch: pytest.MonkeyPatch,
                                                cookie: str) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    browser(monkeypatch, cookies={accounts.COOKIE_NAME: cookie})
    at = app().run()
    assert not at.exception and "Welkom bij de werkplaats" in texts(at)


# --- 13: the address that is counted ----------------------------------------------------------


def test_a_forged_forwarded_header_does_not_reset_the_count(
        eng, library, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    at = app().run()
    for i in range(accounts.JOIN_FREE_FAILURES):
        browser(monkeypatch, peer="203.0.113.50", forwarded_for=[f"10.9.9.{i}"])
        at.text_input(key="auth_join_code").input(f"ZZZZ-ZZZZ-ZZZ{i}")
        button(at, "Meedoen").click().run()
    assert "Deze code werkt niet" in texts(at)
    browser(monkeypatch, peer="203.0.113.50", forwarded_for=["10.9.9.99"])
    at.text_input(key="auth_join_code").input(code)
    button(at, "Meedoen").click().run()
    assert "Even geduld" in texts(at)  # counted on the real peer, not the forged header
    [limit] = accounts.list_limits(engine=eng, kind=ThrottleKind.join_code)
    assert limit.subject == "203.0.113.50"


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(
        eng, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from workbench.config import get_settings

    monkeypatch.setenv("WORKBENCH_TRUSTED_PROXIES", "10.0.0.1")
    get_settings.cache_clear()
    browser(monkeypatch, peer="10.0.0.1", forwarded_for=["6.6.6.6, 198.51.100.23"])
    assert state.client_address() == "198.51.100.23"
    browser(monkeypatch, peer="10.0.0.2", forwarded_for=["198.51.100.23"])
    assert state.client_address() == "10.0.0.2"
    get_settings.cache_clear()
