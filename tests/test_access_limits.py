"""Rate limits under attack, on SQLite and PostgreSQL: 40 parallel guesses check no more secrets
than the limit allows, a room's typos never lock the room, the facilitator sees and lifts a
limit, and a process killed between counting and checking leaves the failure counted."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, select

from tests.training_support import PASSWORD
from workbench.domain import access
from workbench.domain.enums import Role, ThrottleKind
from workbench.services import accounts, training
from workbench.services.accounts import _auth
from workbench.storage.tables import AuditEvent, LoginThrottle, Participant, utcnow

THREADS = 40


class CountingHasher(PasswordHasher):
    """argon2id at test cost that counts how many passwords were actually checked."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    h = CountingHasher()
    monkeypatch.setattr(_auth, "HASHER", h)
    return h


def at_once(n: int, attempt: Callable[[int], object]) -> Counter[str]:
    """Run `attempt(i)` in n threads released together; count the outcomes by error key."""
    barrier = threading.Barrier(n)
    out: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)
            key = "ok"
        except accounts.AuthError as err:
            key = err.key
        with lock:
            out.append(key)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(out) == n
    return Counter(out)


def a_day(engine: sa.Engine, library) -> int:  # type: ignore[no-untyped-def]
    """An open training day for today with a reference bot target."""
    from tests import builders

    with Session(engine) as s:
        target, _ = builders.bot_target(s)
        s.commit()
        target_id = target.id or 0
    return training.create_day(engine=engine, library=library, name="Dag", day=date.today(),
                               scenario_ids=sorted(library.scenarios)[:1],
                               bot_target_ids=[target_id], overlap=1, exposure_cap=3)


def test_forty_parallel_wrong_passwords_verify_only_the_limit(engine: sa.Engine,
                                                              hasher: CountingHasher) -> None:
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)
    hasher.verified = 0
    outcomes = at_once(THREADS, lambda i: accounts.sign_in(engine=engine, code="exp",
                                                           password=f"wrong-guess-{i:04d}"))
    print(f"\n{engine.dialect.name}: {THREADS} parallel wrong passwords, limit "
          f"{accounts.MAX_FAILURES}: {hasher.verified} verified, {dict(outcomes)}")
    assert hasher.verified == accounts.MAX_FAILURES
    assert outcomes == {"auth.wrong_password": accounts.MAX_FAILURES,
                        "auth.locked": THREADS - accounts.MAX_FAILURES}
    with pytest.raises(accounts.AuthError) as exc:  # the right password waits out the lock too
        accounts.sign_in(engine=engine, code="exp", password=PASSWORD)
    assert exc.value.key == "auth.locked"
    assert hasher.verified == accounts.MAX_FAILURES


def test_parallel_right_passwords_leave_the_account_unlocked(engine: sa.Engine,
                                                             hasher: CountingHasher) -> None:
    """Attempts in flight count until they succeed, so no more than the limit run at once even
    with the right password (40 tabs signing in together); each success gives its attempt
    back, so afterwards nothing is locked."""
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)
    outcomes = at_once(THREADS, lambda i: accounts.sign_in(engine=engine, code="exp",
                                                           password=PASSWORD))
    assert set(outcomes) <= {"ok", "auth.locked"} and outcomes["ok"] >= accounts.MAX_FAILURES
    assert hasher.verified == outcomes["ok"]
    assert accounts.sign_in(engine=engine, code="exp", password=PASSWORD).code == "exp"
    with Session(engine) as s:
        row = s.get(LoginThrottle, "user:exp")
        assert row is not None and row.failures == 0


def test_forty_parallel_join_guesses_from_one_address_check_only_the_free_ones(
        engine: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = a_day(engine, library)
    code = accounts.issue_join_code(engine=engine, training_day_id=day_id)
    outcomes = at_once(THREADS, lambda i: accounts.redeem_join_code(
        engine=engine, code=f"ZZZZ-ZZZZ-{i:04d}", client="203.0.113.7"))
    print(f"\n{engine.dialect.name}: {THREADS} parallel join guesses from one address, "
          f"{accounts.JOIN_FREE_FAILURES} free: {dict(outcomes)}")
    assert outcomes == {"auth.bad_join_code": accounts.JOIN_FREE_FAILURES,
                        "auth.join_wait": THREADS - accounts.JOIN_FREE_FAILURES}
    # A slowdown, not a lock, and only of that address: the room elsewhere joins at once.
    assert accounts.redeem_join_code(engine=engine, code=code, client="203.0.113.8").role == \
        Role.panel


def test_forty_tablets_behind_one_address_with_typos_still_join(
        engine: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    """The training day's room: every tablet shares the address; five people mistype once."""
    day_id = a_day(engine, library)
    codes = accounts.issue_join_codes(engine=engine, training_day_id=day_id, count=THREADS)
    t0 = utcnow()
    for i in range(5):
        with pytest.raises(accounts.AuthError):
            accounts.redeem_join_code(engine=engine, code=codes[i][:-1] + "#",
                                      client="198.51.100.1", now=t0)
    outcomes = at_once(THREADS, lambda i: accounts.redeem_join_code(
        engine=engine, code=codes[i], client="198.51.100.1", now=t0))
    assert outcomes == {"ok": THREADS}


def test_one_code_redeemed_at_once_on_several_tablets_makes_one_participant(
        engine: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = a_day(engine, library)
    code = accounts.issue_join_code(engine=engine, training_day_id=day_id)
    ids: set[int] = set()
    at_once(10, lambda i: ids.add(accounts.redeem_join_code(
        engine=engine, code=code, client=f"192.0.2.{i}").participant_id))
    assert len(ids) == 1
    with Session(engine) as s:
        assert len(s.exec(select(Participant).where(Participant.role == Role.panel)).all()) == 1


def test_killed_between_counting_and_checking_leaves_the_failure_counted(
        engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, hasher: CountingHasher) -> None:
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)

    def killed(stored: str | None, password: str) -> bool:
        raise SystemExit("killed halfway")

    monkeypatch.setattr(_auth, "verify", killed)
    with pytest.raises(SystemExit):
        accounts.sign_in(engine=engine, code="exp", password=PASSWORD)
    with Session(engine) as s:
        row = s.get(LoginThrottle, "user:exp")
        assert row is not None and row.failures == 1  # no free guess for the next attempt


def test_a_lock_and_a_slowdown_are_listed_and_lifted_with_an_audit(
        engine: sa.Engine, library, hasher: CountingHasher) -> None:  # type: ignore[no-untyped-def]
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)
    day_id = a_day(engine, library)
    t0 = utcnow()
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.AuthError):
            accounts.sign_in(engine=engine, code="exp", password="nope-nope-nope", now=t0)
    for i in range(accounts.JOIN_FREE_FAILURES + 1):
        with pytest.raises(accounts.AuthError):
            accounts.redeem_join_code(engine=engine, code="x", client="203.0.113.9",
                                      now=t0 + timedelta(seconds=5 * i))
    [locked] = [v for v in accounts.staff_accounts(engine=engine, now=t0) if v.code == "exp"]
    assert locked.locked_minutes == 15
    [slow] = accounts.list_limits(engine=engine, kind=ThrottleKind.join_code,
                                  now=t0 + timedelta(seconds=50))
    assert slow.subject == "203.0.113.9" and slow.failures == accounts.JOIN_FREE_FAILURES + 1
    assert slow.wait_seconds == 4  # the 11th failure at 50 s set a 4 s wait
    assert accounts.lift_limit(engine=engine, key=slow.key, lifted_by="fac")
    assert not accounts.lift_limit(engine=engine, key=slow.key, lifted_by="fac")  # twice
    assert accounts.unlock_staff(engine=engine, code="exp", unlocked_by="fac")
    assert accounts.sign_in(engine=engine, code="exp", password=PASSWORD, now=t0).code == "exp"
    assert accounts.list_limits(engine=engine, kind=ThrottleKind.join_code) == []
    day = training.list_days(engine=engine)[0]
    assert day.id == day_id
    with Session(engine) as s:
        lifts = s.exec(select(AuditEvent).where(AuditEvent.action == "access.lift")).all()
    assert [(e.actor, e.entity_id) for e in lifts] == [("fac", "join:203.0.113.9"),
                                                       ("fac", "user:exp")]


@pytest.mark.parametrize("code", ["", " ", "a\x00b", "x" * 65, "x" * 1_000_000, "\u202e\u0000",
                                  "ex\np"])
def test_hostile_user_names_are_refused_without_touching_the_database(
        engine: sa.Engine, hasher: CountingHasher, code: str) -> None:
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)
    hasher.verified = 0
    with pytest.raises(accounts.AuthError) as exc:
        accounts.sign_in(engine=engine, code=code, password=PASSWORD)
    assert exc.value.key == "auth.wrong_password" and hasher.verified == 0
    with pytest.raises(accounts.AuthError):
        accounts.create_staff(engine=engine, code=code, role=Role.expert, password=PASSWORD)


@pytest.mark.parametrize("password", ["x" * 10_000_000, "lang-genoeg\x00wachtwoord"])
def test_hostile_passwords_are_refused_cheaply(engine: sa.Engine, hasher: CountingHasher,
                                               password: str) -> None:
    accounts.create_staff(engine=engine, code="exp", role=Role.expert, password=PASSWORD)
    hasher.verified = 0
    with pytest.raises(accounts.AuthError):
        accounts.sign_in(engine=engine, code="exp", password=password)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.set_password(engine=engine, code="exp", password=password)
    assert exc.value.key in ("auth.password_unusable",)
    assert hasher.verified <= 1  # the NUL one is a wrong password; the huge one is not hashed


@pytest.mark.parametrize("code", ["", "\x00" * 50, "ä" * 300, "A" * 5_000_000, "<script>"])
def test_hostile_join_codes_count_as_a_wrong_guess(engine: sa.Engine, library, code: str) -> None:  # type: ignore[no-untyped-def]
    a_day(engine, library)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.redeem_join_code(engine=engine, code=code, client="192.0.2.1")
    assert exc.value.key == "auth.bad_join_code"


@pytest.mark.parametrize("client", ["", "x" * 100_000, "1.2.3.4\x00", "\n", "::1"])
def test_odd_client_texts_get_a_bounded_key(engine: sa.Engine, library, client: str) -> None:  # type: ignore[no-untyped-def]
    a_day(engine, library)
    with pytest.raises(accounts.AuthError):
        accounts.redeem_join_code(engine=engine, code="nope", client=client)
    with Session(engine) as s:
        [row] = s.exec(select(LoginThrottle)).all()
    assert len(row.key) <= 5 + 64 and row.kind == ThrottleKind.join_code


@pytest.mark.parametrize("count", [0, -1, accounts.MAX_CODES_AT_ONCE + 1, 10**9, True, 2.5, "3"])
def test_impossible_code_counts_are_refused(engine: sa.Engine, library, count: object) -> None:  # type: ignore[no-untyped-def]
    day_id = a_day(engine, library)
    with pytest.raises(accounts.AuthError) as exc:
        accounts.issue_join_codes(engine=engine, training_day_id=day_id, count=count)  # type: ignore[arg-type]
    assert exc.value.key == "auth.code_count"
    assert accounts.list_join_codes(engine=engine, training_day_id=day_id) == []


def test_a_room_of_codes_at_once_twice_in_parallel_all_distinct(engine: sa.Engine, library) -> None:  # type: ignore[no-untyped-def]
    day_id = a_day(engine, library)
    batches: list[list[str]] = []
    at_once(2, lambda i: batches.append(accounts.issue_join_codes(
        engine=engine, training_day_id=day_id, count=accounts.MAX_CODES_AT_ONCE,
        issued_by="fac")))
    codes = [c for batch in batches for c in batch]
    assert len(codes) == len(set(codes)) == 2 * accounts.MAX_CODES_AT_ONCE
    assert all(len(c) == 14 and set(c.replace("-", "")) <= set(access.JOIN_ALPHABET)
               for c in codes)
    assert len(accounts.list_join_codes(engine=engine, training_day_id=day_id)) == len(codes)
