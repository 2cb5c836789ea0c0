"""'Ik wil even iemand spreken' (issue 14, item 17), as services on SQLite and PostgreSQL: one
open signal per panel member whatever is pressed, the facilitator's list with code and time
only, handled once with who and when, and a signal that still arrives after the day closed or
the code was revoked."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from tests.training_support import panel_member, reference_day, staff
from workbench.domain.enums import Role
from workbench.services import accounts, training
from workbench.services.errors import UserError
from workbench.storage.tables import SupportSignal

pytestmark = pytest.mark.usefixtures("fast_hashing")


def signals(engine: sa.Engine) -> list[SupportSignal]:
    with Session(engine) as s:
        return list(s.exec(select(SupportSignal).order_by(SupportSignal.id)))  # type: ignore[arg-type]


def test_a_signal_reaches_the_board_with_the_code_and_time_only(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="Dag van de signalen")
    member = panel_member(engine, day_id)
    fac = staff(engine, "begeleider", Role.facilitator)
    before = datetime.now(UTC)

    sig = training.raise_signal(engine=engine, participant_id=member.participant_id)

    assert sig.is_open and sig.participant_code == member.code
    board = training.signal_board(engine=engine)
    assert [(s.participant_code, s.training_day_id, s.day_name) for s in board.open] == \
        [(member.code, day_id, "Dag van de signalen")]
    raised = board.open[0].raised_at
    assert before - timedelta(seconds=5) <= raised.replace(tzinfo=raised.tzinfo or UTC) \
        <= datetime.now(UTC) + timedelta(seconds=5)
    assert board.recently_handled == []
    # What the view holds is all a facilitator gets: no name, no conversation, no text.
    assert set(vars(board.open[0])) == {"id", "participant_code", "training_day_id",
                                        "day_name", "raised_at", "handled_at", "handled_by"}

    done = training.handle_signal(engine=engine, signal_id=sig.id,
                                  handled_by_id=fac.participant_id)
    assert done.handled_by == "begeleider" and done.handled_at is not None
    board = training.signal_board(engine=engine)
    assert board.open == [] and [s.id for s in board.recently_handled] == [sig.id]
    assert training.my_open_signal(engine=engine, participant_id=member.participant_id) is None


def test_pressing_twice_or_from_two_tabs_at_once_makes_one_signal(engine, library) -> None:  # type: ignore[no-untyped-def]
    member = panel_member(engine, reference_day(engine, library))
    first = training.raise_signal(engine=engine, participant_id=member.participant_id)
    again = training.raise_signal(engine=engine, participant_id=member.participant_id)
    assert again.id == first.id and again.raised_at == first.raised_at  # the time is kept

    other = panel_member(engine, reference_day(engine, library, name="Tweede dag"))
    barrier = threading.Barrier(6)
    ids: list[int] = []
    errors: list[BaseException] = []

    def press() -> None:
        barrier.wait()
        try:
            ids.append(training.raise_signal(engine=engine,
                                             participant_id=other.participant_id).id)
        except BaseException as err:  # collected: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=press) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert errors == [] and len(ids) == 6 and len(set(ids)) == 1
    assert len(signals(engine)) == 2


def test_the_database_refuses_a_second_open_signal(engine, library) -> None:  # type: ignore[no-untyped-def]
    member = panel_member(engine, reference_day(engine, library))
    training.raise_signal(engine=engine, participant_id=member.participant_id)
    with Session(engine) as s:
        s.add(SupportSignal(participant_id=member.participant_id))
        with pytest.raises(IntegrityError):
            s.commit()


def test_after_it_is_handled_a_new_press_is_a_new_signal(engine, library) -> None:  # type: ignore[no-untyped-def]
    member = panel_member(engine, reference_day(engine, library))
    fac = staff(engine, "begeleider", Role.facilitator)
    first = training.raise_signal(engine=engine, participant_id=member.participant_id)
    training.handle_signal(engine=engine, signal_id=first.id, handled_by_id=fac.participant_id)
    second = training.raise_signal(engine=engine, participant_id=member.participant_id)
    assert second.id != first.id and second.is_open
    assert [s.handled_at is None for s in signals(engine)] == [False, True]


def test_handled_twice_or_by_two_keeps_the_first(engine, library) -> None:  # type: ignore[no-untyped-def]
    member = panel_member(engine, reference_day(engine, library))
    one = staff(engine, "begeleider", Role.facilitator)
    two = staff(engine, "begeleider2", Role.facilitator)
    sig = training.raise_signal(engine=engine, participant_id=member.participant_id)
    first = training.handle_signal(engine=engine, signal_id=sig.id,
                                   handled_by_id=one.participant_id)
    later = training.handle_signal(engine=engine, signal_id=sig.id,
                                   handled_by_id=two.participant_id)
    assert later.handled_by == "begeleider" and later.handled_at == first.handled_at


def test_only_panel_members_raise_and_only_facilitators_handle(engine, library) -> None:  # type: ignore[no-untyped-def]
    member = panel_member(engine, reference_day(engine, library))
    expert = staff(engine, "expert1", Role.expert)
    with pytest.raises(UserError) as err:
        training.raise_signal(engine=engine, participant_id=expert.participant_id)
    assert err.value.key == "signals.not_panel"
    with pytest.raises(UserError):
        training.raise_signal(engine=engine, participant_id=10_000)  # nobody
    sig = training.raise_signal(engine=engine, participant_id=member.participant_id)
    for who in (expert.participant_id, member.participant_id, 10_000):
        with pytest.raises(UserError) as err:
            training.handle_signal(engine=engine, signal_id=sig.id, handled_by_id=who)
        assert err.value.key == "signals.not_staff"
    fac = staff(engine, "begeleider", Role.facilitator)
    with pytest.raises(UserError) as err:
        training.handle_signal(engine=engine, signal_id=sig.id + 999,
                               handled_by_id=fac.participant_id)
    assert err.value.key == "signals.not_found"
    assert training.signal_board(engine=engine).open[0].id == sig.id  # still open


def test_a_closed_day_or_a_revoked_code_still_reaches_the_facilitator(engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(engine, library, name="Gesloten dag")
    early = panel_member(engine, day_id)
    late = panel_member(engine, day_id)
    training.raise_signal(engine=engine, participant_id=early.participant_id)
    training.close_day(engine=engine, training_day_id=day_id, closed_by="begeleider")
    assert isinstance(accounts.participant_status(engine=engine,
                                                  participant_id=late.participant_id),
                      accounts.Ended)
    # Raised before the close: still on the board. Raised after it: recorded as well.
    training.raise_signal(engine=engine, participant_id=late.participant_id)
    board = training.signal_board(engine=engine)
    assert [(s.participant_code, s.day_name) for s in board.open] == \
        [(early.code, "Gesloten dag"), (late.code, "Gesloten dag")]

    other_day = reference_day(engine, library, name="Open dag")
    revoked = panel_member(engine, other_day)
    codes = accounts.list_join_codes(engine=engine, training_day_id=other_day)
    accounts.revoke_join_code(engine=engine, join_code_id=codes[0].id)
    training.raise_signal(engine=engine, participant_id=revoked.participant_id)
    assert revoked.code in [s.participant_code for s in training.signal_board(engine=engine).open]
