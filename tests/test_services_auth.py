"""Sign-in: argon2 staff passwords, rate limiting, one-time join codes for the panel, OIDC."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.training_support import (
    PASSWORD,
    panel_member,
    reference_day,
    staff,
)
from workbench.domain.enums import Group, Role
from workbench.services import accounts, training
from workbench.storage.tables import JoinCode, LoginAttempt, Participant, utcnow

pytestmark = pytest.mark.usefixtures("fast_hashing")



def test_staff_password_is_hashed_with_argon2_and_signs_in(eng: sa.Engine) -> None:
    made = staff(eng, "fac", Role.facilitator)
    with Session(eng) as s:
        stored = s.exec(select(Participant).where(Participant.code == "fac")).one()
    assert stored.password_hash and stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    user = accounts.sign_in(engine=eng, code="fac", password=PASSWORD)
    assert user == made and user.role == Role.facilitator


@pytest.mark.parametrize("code,password", [("fac", "wrong-password"), ("nobody", PASSWORD),
                                           ("fac", "")])
def test_wrong_sign_in_is_refused_without_saying_which_part(eng: sa.Engine, code: str,
                                                            password: str) -> None:
    staff(eng, "fac", Role.facilitator)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.sign_in(engine=eng, code=code, password=password)
    assert exc.value.key == "auth.wrong_password"


def test_five_failures_lock_the_account_for_fifteen_minutes(eng: sa.Engine) -> None:
    staff(eng, "exp")
    t0 = utcnow()
    for i in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.AuthError):
            accounts.sign_in(engine=eng, code="exp", password="nope", now=t0 + timedelta(seconds=i))
    with pytest.raises(accounts.AuthError) as exc:  # even the right password is refused now
        accounts.sign_in(engine=eng, code="exp", password=PASSWORD, now=t0 + timedelta(minutes=1))
    # Locked until 15 minutes after the first failure: 14 minutes to go.
    assert exc.value.key == "auth.locked" and exc.value.fmt["minutes"] == 14
    later = t0 + accounts.WINDOW + timedelta(seconds=10)
    assert accounts.sign_in(engine=eng, code="exp", password=PASSWORD, now=later).code == "exp"
    with Session(eng) as s:
        rows = s.exec(select(LoginAttempt).where(LoginAttempt.key == "user:exp")).all()
    assert sorted(r.ok for r in rows) == [False] * accounts.MAX_FAILURES + [True]


def test_a_success_resets_the_failure_count(eng: sa.Engine) -> None:
    staff(eng, "exp")
    t0 = utcnow()
    for i in range(accounts.MAX_FAILURES - 1):
        with pytest.raises(accounts.AuthError):
            accounts.sign_in(engine=eng, code="exp", password="nope", now=t0 + timedelta(seconds=i))
    accounts.sign_in(engine=eng, code="exp", password=PASSWORD, now=t0 + timedelta(seconds=10))
    with pytest.raises(accounts.AuthError) as exc:
        accounts.sign_in(engine=eng, code="exp", password="nope", now=t0 + timedelta(seconds=11))
    assert exc.value.key == "auth.wrong_password"


def test_account_rules(eng: sa.Engine) -> None:
    staff(eng, "exp")
    for kwargs, key in [
        (dict(code="exp", role=Role.expert, password=PASSWORD), "auth.code_taken"),
        (dict(code="x", role=Role.panel, password=PASSWORD), "auth.not_a_staff_role"),
        (dict(code="y", role=Role.expert, password="short"), "auth.password_too_short"),
        (dict(code=" ", role=Role.expert, password=PASSWORD), "auth.bad_code"),
    ]:
        with pytest.raises(accounts.AuthError) as exc:
            accounts.create_staff(engine=eng, **kwargs)
        assert exc.value.key == key
    oidc_only = accounts.create_staff(engine=eng, code="jan@example.org", role=Role.manager,
                                  password=None)
    with pytest.raises(accounts.AuthError):  # no password: only through OIDC
        accounts.sign_in(engine=eng, code="jan@example.org", password="")
    assert accounts.sign_in_oidc(engine=eng, email="Jan@example.org") == oidc_only
    with pytest.raises(accounts.AuthError) as exc:
        accounts.sign_in_oidc(engine=eng, email="stranger@example.org")
    assert exc.value.key == "auth.oidc_no_account"


def test_join_code_is_stored_as_a_hash_and_makes_one_pseudonymous_member(
        eng: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    assert len(code) == 14 and code[4] == code[9] == "-"  # three groups of four
    with Session(eng) as s:
        jc = s.exec(select(JoinCode)).one()
    assert jc.code_hash == hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    member = accounts.redeem_join_code(engine=eng, code=f"  {code.lower()} ")
    assert member.role == Role.panel and member.code.startswith("LE-") and len(member.code) == 7
    assert member.training_day_id == day_id
    again = accounts.redeem_join_code(engine=eng, code=code)  # after a refresh: same person
    assert again.participant_id == member.participant_id
    with Session(eng) as s:
        p = s.get(Participant, member.participant_id)
        assert p is not None and p.group == Group.lived_experience and p.password_hash is None
        assert len(s.exec(select(Participant).where(Participant.role == Role.panel)).all()) == 1


def test_join_code_works_on_the_day_only_and_not_after_revoke_or_close(
        eng: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.redeem_join_code(engine=eng, code=code, today=date.today() + timedelta(days=1))
    assert exc.value.key == "auth.bad_join_code"
    member = accounts.redeem_join_code(engine=eng, code=code)
    jc_id = accounts.list_join_codes(engine=eng, training_day_id=day_id)[0].id
    accounts.revoke_join_code(engine=eng, join_code_id=jc_id)
    assert accounts.current_participant(engine=eng, participant_id=member.participant_id) is None
    with pytest.raises(accounts.AuthError):
        accounts.redeem_join_code(engine=eng, code=code)
    other = panel_member(eng, day_id)
    assert accounts.current_participant(engine=eng, participant_id=other.participant_id) is not None
    training.close_day(engine=eng, training_day_id=day_id)
    assert accounts.current_participant(engine=eng, participant_id=other.participant_id) is None
    with pytest.raises(accounts.AuthError) as exc:
        accounts.issue_join_code(engine=eng, training_day_id=day_id)
    assert exc.value.key == "auth.day_closed"


def test_guessing_join_codes_is_slowed_per_client_never_locked(eng: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    t0 = utcnow()
    for i in range(accounts.JOIN_FREE_FAILURES):
        with pytest.raises(accounts.AuthError) as exc:
            accounts.redeem_join_code(engine=eng, code=f"AAAA-AAAA-AAA{i}", client="10.0.0.9",
                                      now=t0 + timedelta(seconds=i))
        assert exc.value.key == "auth.bad_join_code"
    last = t0 + timedelta(seconds=accounts.JOIN_FREE_FAILURES - 1)
    with pytest.raises(accounts.AuthError) as exc:  # even the right code waits its turn
        accounts.redeem_join_code(engine=eng, code=code, client="10.0.0.9", now=last)
    assert exc.value.key == "auth.join_wait" and exc.value.fmt["seconds"] == 2
    # A wait, not a lock: two seconds later the right code works from that address.
    member = accounts.redeem_join_code(engine=eng, code=code, client="10.0.0.9",
                                       now=last + timedelta(seconds=2))
    assert member.role == Role.panel
    # Someone else in the room is not affected.
    other = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    assert accounts.redeem_join_code(engine=eng, code=other, client="10.0.0.7").role == Role.panel


def test_language_is_kept_per_participant(eng: sa.Engine) -> None:
    user = staff(eng, "exp")
    accounts.set_language(engine=eng, participant_id=user.participant_id, language="en")
    assert accounts.sign_in(engine=eng, code="exp", password=PASSWORD).language == "en"
    with pytest.raises(ValueError):
        accounts.set_language(engine=eng, participant_id=user.participant_id, language="fr")
