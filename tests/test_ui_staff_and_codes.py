"""The facilitator's join codes (N at once, the printable hand-out, slowed devices) and the
Medewerkers page (add, new password shown once, deactivate, lift a lock), in AppTest."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.training_support import (
    PASSWORD,
    button,
    reference_day,
    signed_in_app,
    staff,
    texts,
)
from workbench.domain.enums import Role
from workbench.services import accounts
from workbench.storage.tables import AuditEvent, JoinCode, Participant

pytestmark = pytest.mark.usefixtures("fast_hashing")
CODE = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")


def facilitator_page(eng: sa.Engine):  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    return at.switch_page("app_pages/facilitator.py").run()


def audit(eng: sa.Engine, action: str) -> list[AuditEvent]:
    with Session(eng) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action)))


# --- 15: a room's codes at once -------------------------------------------------------------


def test_codes_for_a_room_at_once_shown_together_with_a_printable_hand_out(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="Dag <b>Utrecht</b> & co")
    at = facilitator_page(eng)
    at.number_input(key=f"jc_count_{day_id}").set_value(12)
    button(at, "Codes maken").click().run()
    assert not at.exception
    codes = at.code[0].value.splitlines()
    assert len(codes) == len(set(codes)) == 12 and all(CODE.match(c) for c in codes)
    assert "Hier zijn 12 nieuwe codes" in texts(at)
    with Session(eng) as s:
        assert len(s.exec(select(JoinCode)).all()) == 12
    [event] = audit(eng, "join_code.issue")
    assert event.actor == "fac" and event.details["count"] == 12

    [download] = at.get("download_button")
    assert download.proto.label == "Strookjes om te printen (HTML)"
    handout = accounts.join_code_handout(day_name="Dag <b>Utrecht</b> & co",
                                         day_date=date.today(), codes=codes)
    assert handout.count('class="slip"') == 12 and all(c in handout for c in codes)
    assert "Dag &lt;b&gt;Utrecht&lt;/b&gt; &amp; co" in handout and "<b>Utrecht" not in handout
    assert f"{date.today():%d-%m-%Y}" in handout
    assert "http" not in handout.split("<body>")[0].replace('http-equiv', '')  # loads nothing
    member = accounts.redeem_join_code(engine=eng, code=codes[3])
    assert member.code not in handout  # no names, no participant codes: made before anyone

    button(at, "Codes verbergen").click().run()
    assert not at.code and "Hier zijn" not in texts(at)  # shown once


def test_a_slowed_device_is_shown_to_the_facilitator_and_lifted(eng, library) -> None:  # type: ignore[no-untyped-def]
    reference_day(eng, library)
    for _ in range(accounts.JOIN_FREE_FAILURES):
        with pytest.raises(accounts.AuthError):
            accounts.redeem_join_code(engine=eng, code="fout", client="192.0.2.44")
    at = facilitator_page(eng)
    assert "Adres 192.0.2.44 · 10 foute codes" in texts(at)
    button(at, "Opheffen").click().run()
    assert "Geen apparaat is nu vertraagd" in texts(at)
    [event] = audit(eng, "access.lift")
    assert event.actor == "fac" and event.entity_id == "join:192.0.2.44"


# --- 16: staff accounts in the app --------------------------------------------------------------


def staff_page(eng: sa.Engine):  # type: ignore[no-untyped-def]
    at = signed_in_app(staff(eng, "fac", Role.facilitator))
    return at.switch_page("app_pages/staff.py").run()


def test_the_facilitator_adds_an_expert_with_a_generated_password_shown_once(eng) -> None:  # type: ignore[no-untyped-def]
    at = staff_page(eng)
    assert at.title[0].value == "Medewerkers"
    at.text_input(key="sf_code").input("nieuw")
    at.radio(key="sf_role").set_value(Role.expert)
    button(at, "Account maken").click().run()
    assert not at.exception
    password = at.code[0].value
    assert re.fullmatch(r"([A-Z0-9]{4}-){3}[A-Z0-9]{4}", password)
    assert accounts.sign_in(engine=eng, code="nieuw", password=password).role == Role.expert
    assert "**nieuw** · expert · actief" in "\n".join(m.value for m in at.markdown)
    [event] = [e for e in audit(eng, "account.create") if e.details["code"] == "nieuw"]
    assert event.actor == "fac" and password not in str(event.details)
    button(at, "Wachtwoord verbergen").click().run()
    assert not at.code


def test_a_typed_password_and_the_rules(eng) -> None:  # type: ignore[no-untyped-def]
    at = staff_page(eng)
    at.text_input(key="sf_code").input("dev1")
    at.radio(key="sf_role").set_value(Role.developer)
    at.text_input(key="sf_password").input("kort")
    button(at, "Account maken").click().run()
    assert "minstens 10 tekens" in texts(at)
    at.text_input(key="sf_code").input("fac")  # taken
    at.text_input(key="sf_password").input(PASSWORD)
    button(at, "Account maken").click().run()
    assert "bestaat al" in texts(at)
    at.text_input(key="sf_code").input("dev1")
    at.text_input(key="sf_password").input(PASSWORD)
    button(at, "Account maken").click().run()
    assert accounts.sign_in(engine=eng, code="dev1", password=PASSWORD).role == Role.developer


def test_reset_deactivate_and_unlock(eng) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "exp")
    staff(eng, "baas", Role.manager)
    signed = accounts.sign_in_with_session(engine=eng, code="exp", password=PASSWORD)
    at = staff_page(eng)
    buttons = [b.key for b in at.button]
    assert "sf_reset_exp" in buttons and "sf_reset_baas" not in buttons  # managers: CLI
    assert "sf_reset_fac" not in buttons and "sf_deactivate_fac" not in buttons  # not yourself

    at.button(key="sf_reset_exp").click().run()
    new = at.code[0].value
    assert "Nieuw wachtwoord voor exp" in texts(at)
    assert accounts.check_staff_session(engine=eng, session_id=signed.session_id) is None
    with pytest.raises(accounts.AuthError):
        accounts.sign_in(engine=eng, code="exp", password=PASSWORD)
    for _ in range(accounts.MAX_FAILURES - 1):
        with pytest.raises(accounts.AuthError):
            accounts.sign_in(engine=eng, code="exp", password="nog-steeds-fout")
    at.run()
    assert "geblokkeerd na foute wachtwoorden" in texts(at)
    at.button(key="sf_unlock_exp").click().run()
    assert "geblokkeerd" not in texts(at)
    assert accounts.sign_in(engine=eng, code="exp", password=new).code == "exp"

    assert at.button(key="sf_deactivate_exp").disabled  # confirm first
    at.checkbox(key="sf_sure_exp").check().run()
    at.button(key="sf_deactivate_exp").click().run()
    assert "**exp** · expert · uitgezet" in "\n".join(m.value for m in at.markdown)
    with Session(eng) as s:
        p = s.exec(select(Participant).where(Participant.code == "exp")).one()
    assert not p.active
    assert [e.actor for e in audit(eng, "account.deactivate")] == ["fac"]
    assert [e.actor for e in audit(eng, "account.password")] == ["fac"]


def test_nobody_deactivates_themselves_even_by_calling_the_service(eng) -> None:  # type: ignore[no-untyped-def]
    staff(eng, "fac", Role.facilitator)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.deactivate_staff(engine=eng, code="fac", deactivated_by="fac")
    assert exc.value.key == "auth.not_yourself"


def test_hostile_user_names_on_the_page(eng) -> None:  # type: ignore[no-untyped-def]
    at = staff_page(eng)
    for name in ("x" * 65, "a\x00b", " ", "[klik](javascript:alert(1))"):
        at.text_input(key="sf_code").input(name)
        at.text_input(key="sf_password").input(PASSWORD)
        button(at, "Account maken").click().run()
        assert not at.exception
    # The odd but valid name is shown as text, not as a link.
    assert "\\[klik\\]\\(javascript:alert\\(1\\)\\)" in "\n".join(m.value for m in at.markdown)


def test_the_hand_out_renders_a_hostile_day_name_as_bounded_text() -> None:
    name = "</title><script>alert(1)</script>\x00" + "x" * 1_000_000
    page = accounts.join_code_handout(day_name=name, day_date=date(2026, 12, 1),
                                      codes=["AAAA-BBBB-CCCC"], language="en")
    assert "<script>" not in page and "\x00" not in page and len(page) < 10_000
    assert "&lt;/title&gt;&lt;script&gt;" in page and 'lang="en"' in page
    assert "01-12-2026" in page and "Date: 01-12-2026" in page
