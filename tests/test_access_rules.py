"""The pure rules of access (domain/access.py): the client address behind proxies, the delays
and locks, and the arithmetic of guessing a join code, against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workbench.domain import access
from workbench.domain.enums import ThrottleKind

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PROXY = access.parse_trusted_proxies("10.0.0.1, 10.8.0.0/16, ::1")


@pytest.mark.parametrize("peer,xff,expected", [
    ("203.0.113.5", [], "203.0.113.5"),
    # Not from a trusted proxy: the header is the client's own words and is ignored.
    ("203.0.113.5", ["1.1.1.1"], "203.0.113.5"),
    # From the proxy: the right-most address the proxy did not add itself.
    ("10.0.0.1", ["198.51.100.7"], "198.51.100.7"),
    # A forged left part changes nothing: only the proxy's own append counts.
    ("10.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
    ("10.0.0.1", ["6.6.6.6", "198.51.100.7"], "198.51.100.7"),  # repeated header lines
    # Two trusted hops, the inner one in a trusted network.
    ("10.0.0.1", ["198.51.100.7, 10.8.3.4"], "198.51.100.7"),
    # Ports and brackets as proxies write them.
    ("10.0.0.1", ["198.51.100.7:5123"], "198.51.100.7"),
    ("10.0.0.1", ["[2001:db8::7]:443"], "2001:db8::7"),
    # What the proxy wrote is not an address: stop at the proxy, trust nothing further left.
    ("10.0.0.1", ["198.51.100.7, unknown"], "10.0.0.1"),
    ("10.0.0.1", ["x" * 100_000], "10.0.0.1"),
    ("10.0.0.1", ["198.51.100.7\x00"], "10.0.0.1"),
    ("10.0.0.1", [""], "10.0.0.1"),
    # Every hop trusted: the left-most one is as far as we can see.
    ("10.0.0.1", ["10.8.0.9"], "10.8.0.9"),
    # Streamlit reports local connections as None: that is the loopback address.
    (None, [], "127.0.0.1"),
    (None, ["6.6.6.6"], "127.0.0.1"),  # ::1 is trusted, 127.0.0.1 is not
    ("::ffff:203.0.113.5", [], "203.0.113.5"),
    ("fe80::1%eth0", [], "fe80::1"),
    ("garbage", ["6.6.6.6"], "127.0.0.1"),
])
def test_client_address(peer: str | None, xff: list[str], expected: str) -> None:
    assert access.client_address(peer=peer, forwarded_for=xff, trusted=PROXY) == expected


def test_without_trusted_proxies_a_forwarded_header_never_counts() -> None:
    for peer in ("10.0.0.1", "127.0.0.1", None):
        assert access.client_address(peer=peer, forwarded_for=["6.6.6.6"], trusted=()) == \
            access.client_address(peer=peer, forwarded_for=[], trusted=())


@pytest.mark.parametrize("text", ["nginx", "10.0.0.300", "10.0.0.1/33", "a,b"])
def test_a_bad_trusted_proxy_setting_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        access.parse_trusted_proxies(text)


def test_the_setting_allows_spaces_and_empty_entries() -> None:
    assert access.parse_trusted_proxies("") == ()
    assert len(access.parse_trusted_proxies(" 10.0.0.1 ,, 192.168.0.0/24; ::1 ")) == 3


def test_join_delays_double_up_to_the_cap() -> None:
    delays = [access.join_delay(n).total_seconds() for n in range(1, 20)]
    assert delays == [0] * 9 + [2, 4, 8, 16, 32, 60, 60, 60, 60, 60]
    assert access.join_delay(10**9) == access.JOIN_MAX_DELAY


def _run(state: access.Throttle, times: list[datetime]) -> list[bool]:
    allowed = []
    for now in times:
        d = access.reserve(state, now)
        allowed.append(d.allowed)
        state = d.state
    return allowed


def test_staff_lock_after_five_then_free_fifteen_minutes_after_the_first() -> None:
    start = access.Throttle(kind=ThrottleKind.user)
    times = [T0 + timedelta(minutes=i) for i in range(7)]
    assert _run(start, times) == [True] * 5 + [False, False]
    state = start
    for now in times[:5]:
        state = access.reserve(state, now).state
    refused = access.reserve(state, T0 + timedelta(minutes=10))
    assert not refused.allowed and refused.wait == timedelta(minutes=5)
    assert access.whole_minutes(refused.wait) == 5
    assert access.reserve(state, T0 + access.STAFF_WINDOW).allowed


def test_a_success_clears_a_user_name_but_gives_back_only_its_own_join_attempt() -> None:
    user = access.reserve(access.Throttle(kind=ThrottleKind.user, failures=4,
                                          window_started_at=T0), T0)
    assert access.settle_success(user.state, user.state).failures == 0
    join = access.Throttle(kind=ThrottleKind.join_code, failures=9, last_failure_at=T0,
                           window_started_at=T0)
    mine = access.reserve(join, T0).state  # the 10th attempt sets the first wait
    assert mine.blocked_until == T0 + timedelta(seconds=2)
    after = access.settle_success(mine, mine)
    assert after.failures == 9 and after.blocked_until is None
    # Someone else's failure came in between: its wait stays.
    theirs = access.reserve(access.Throttle(kind=ThrottleKind.join_code, failures=10,
                                            last_failure_at=T0), T0 + timedelta(seconds=3))
    kept = access.settle_success(theirs.state, mine)
    assert kept.blocked_until == theirs.state.blocked_until


def test_join_failures_are_forgotten_after_a_quiet_quarter_hour() -> None:
    state = access.Throttle(kind=ThrottleKind.join_code, failures=30, last_failure_at=T0,
                            blocked_until=T0 + timedelta(seconds=60))
    assert access.is_limited(state, T0 + timedelta(minutes=14))
    assert not access.is_limited(state, T0 + access.JOIN_WINDOW)
    assert access.reserve(state, T0 + access.JOIN_WINDOW).state.failures == 1


def test_the_guessing_arithmetic_in_the_readme() -> None:
    odds = access.guess_odds(valid_codes=100, addresses=10_000)
    assert odds.codes_possible == 31 ** 12 == 787_662_783_788_549_761
    assert odds.guesses_per_hour_per_address == 60
    # (60 * 24 + 10) * 10,000 addresses * 100 codes / 31**12
    assert odds.chance_per_day == pytest.approx(1_450 * 10_000 * 100 / 31 ** 12)
    assert odds.chance_per_day < 2e-9
    old = access.guess_odds(valid_codes=100, addresses=10_000, length=8)
    assert old.chance_per_day > 1e-3  # eight characters were not hopeless against many hosts


def test_codes_are_shown_in_groups_of_four() -> None:
    assert access.format_join_code("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
