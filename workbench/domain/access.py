"""The rules of access, pure: which address a request comes from, and how fast someone may
guess a password or a join code.

Staff passwords (`ThrottleKind.user`, one counter per user name): `STAFF_MAX_FAILURES` failures
within `STAFF_WINDOW` of the first lock the user name until that window has passed; a success
starts over. Join codes (`ThrottleKind.join_code`, one counter per client address): a whole room of
tablets may share one address, so a typo must never lock the room out. The first
`JOIN_FREE_FAILURES` failures cost nothing; after that each attempt from the address has to
wait a delay that doubles up to `JOIN_MAX_DELAY`, and the count starts over after `JOIN_WINDOW`
without failures. Codes are long enough that guessing is hopeless even without any limit (see
`guess_odds` and the README).

Every attempt is counted as a failure *before* the secret is checked (`reserve`), in the same
locked step that reads the count; a success then gives the attempt back (`settle_success`). So
parallel guesses can never check more secrets than the limit allows, and a process killed
between the two steps leaves a counted failure, never a free guess.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from workbench.domain.enums import ThrottleKind

STAFF_MAX_FAILURES = 5
STAFF_WINDOW = timedelta(minutes=15)
JOIN_FREE_FAILURES = 10
JOIN_FIRST_DELAY = timedelta(seconds=2)
JOIN_MAX_DELAY = timedelta(seconds=60)
JOIN_WINDOW = timedelta(minutes=15)

# Unambiguous characters: no 0/O, 1/I/L, so a code read aloud in the room is typed right.
JOIN_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
JOIN_CODE_LENGTH = 12  # three groups of four: 31**12 ≈ 7.9e17 codes
JOIN_GROUP = 4
LOOPBACK = "127.0.0.1"
_MAX_ADDRESS_TEXT = 64  # longer than any IPv6 address with a port: not an address


# --- the client address -------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(text: str) -> tuple[Network, ...]:
    """`"10.0.0.1, 192.168.0.0/16, ::1"` → networks; raises ValueError naming a bad entry."""
    nets: list[Network] = []
    for raw in text.replace(";", ",").split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {entry[:60]!r}") from None
    return tuple(nets)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`), or None."""
    value = text.strip().strip('"')
    if not value or len(value) > _MAX_ADDRESS_TEXT:
        return None
    if value.startswith("["):
        value = value[1:value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:  # IPv4 with a port; IPv6 has at least two colons
        value = value.split(":", 1)[0]
    value = value.split("%", 1)[0]  # an IPv6 zone says nothing about who is asking
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
             trusted: Sequence[Network]) -> bool:
    return any(ip.version == net.version and ip in net for net in trusted)


def is_trusted_peer(peer: str | None, trusted: Sequence[Network]) -> bool:
    ip = _ip(peer or "") or ipaddress.ip_address(LOOPBACK)
    return _trusted(ip, trusted)


def client_address(*, peer: str | None, forwarded_for: Iterable[str],
                   trusted: Sequence[Network]) -> str:
    """The address a request comes from, as the rate limits count it.

    The direct peer, unless the peer is a trusted proxy: then X-Forwarded-For is read from the
    right, skipping trusted proxies, and the first address that is not one is the client.
    Everything to the left of it was written by the client and could be anything. An entry a
    trusted proxy wrote that is not an address (`unknown`) ends the walk at that proxy. A
    missing peer is the loopback address (Streamlit reports local connections as None).
    """
    ip = _ip(peer or "") or ipaddress.ip_address(LOOPBACK)
    if not trusted or not _trusted(ip, trusted):
        return str(ip)
    hops: list[str] = []
    for header in forwarded_for:
        hops += header.split(",")
    for hop in reversed(hops):
        nxt = _ip(hop)
        if nxt is None:
            break
        ip = nxt
        if not _trusted(ip, trusted):
            break
    return str(ip)


# --- throttling ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """The stored counter of one key (a user name or a client address)."""

    kind: ThrottleKind
    failures: int = 0
    window_started_at: datetime | None = None
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    state: Throttle  # what to store (unchanged when refused)
    wait: timedelta = timedelta(0)  # when refused: how long until the next attempt may run


def join_delay(failures: int) -> timedelta:
    """The wait before the next join attempt from an address after `failures` failures."""
    if failures < JOIN_FREE_FAILURES:
        return timedelta(0)
    steps = min(failures - JOIN_FREE_FAILURES, 16)  # 2 s · 2**16 is far past the cap
    return min(JOIN_FIRST_DELAY * (2 ** steps), JOIN_MAX_DELAY)


def _fresh(state: Throttle, now: datetime) -> Throttle:
    """The counter with failures that have aged out forgotten."""
    if state.kind == ThrottleKind.user:
        if state.window_started_at is not None and now - state.window_started_at >= STAFF_WINDOW:
            return Throttle(kind=state.kind)
        return state
    if state.last_failure_at is not None and now - state.last_failure_at >= JOIN_WINDOW:
        return Throttle(kind=state.kind)
    return state


def reserve(state: Throttle, now: datetime) -> Decision:
    """May an attempt run now? If so it is counted as a failure already (see module doc)."""
    state = _fresh(state, now)
    if state.kind == ThrottleKind.user:
        if state.failures >= STAFF_MAX_FAILURES:
            start = state.window_started_at or now
            return Decision(False, state, start + STAFF_WINDOW - now)
        return Decision(True, replace(state, failures=state.failures + 1,
                                      window_started_at=state.window_started_at or now,
                                      last_failure_at=now))
    if state.blocked_until is not None and now < state.blocked_until:
        return Decision(False, state, state.blocked_until - now)
    failures = state.failures + 1
    delay = join_delay(failures)
    return Decision(True, replace(state, failures=failures,
                                  window_started_at=state.window_started_at or now,
                                  last_failure_at=now,
                                  blocked_until=now + delay if delay else None))


def settle_success(state: Throttle, reserved: Throttle) -> Throttle:
    """After the attempt `reserved` succeeded. A right password clears the user name's count.
    A right join code gives back only its own attempt, and the wait it set: a panel member who
    redeems their own code over and over must not wipe out the failures of someone guessing
    from the same address."""
    if state.kind == ThrottleKind.user:
        return Throttle(kind=state.kind)
    blocked = None if state.blocked_until == reserved.blocked_until else state.blocked_until
    return replace(state, failures=max(0, state.failures - 1), blocked_until=blocked)


def is_limited(state: Throttle, now: datetime) -> bool:
    """Whether the facilitator should see this key as locked or slowed down right now."""
    state = _fresh(state, now)
    if state.kind == ThrottleKind.user:
        return state.failures >= STAFF_MAX_FAILURES
    return state.failures >= JOIN_FREE_FAILURES or (
        state.blocked_until is not None and now < state.blocked_until)


def whole_minutes(wait: timedelta) -> int:
    """A wait as the person reads it: whole minutes, rounded up, at least 1."""
    return max(1, math.ceil(wait.total_seconds() / 60))


def whole_seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


# --- how hopeless guessing is -----------------------------------------------------------------


@dataclass(frozen=True)
class GuessOdds:
    codes_possible: int
    guesses_per_hour_per_address: int
    chance_per_day: float  # for `addresses` addresses against `valid_codes` live codes


def guess_odds(*, valid_codes: int, addresses: int, length: int = JOIN_CODE_LENGTH
               ) -> GuessOdds:
    """The arithmetic the README states: an attacker who keeps every address at the longest
    delay gets 3600 / JOIN_MAX_DELAY guesses an hour from each (plus the free ones, once),
    and a code works on one date only."""
    possible = len(JOIN_ALPHABET) ** length
    per_hour = int(3600 // JOIN_MAX_DELAY.total_seconds())
    per_day = (per_hour * 24 + JOIN_FREE_FAILURES) * addresses
    return GuessOdds(codes_possible=possible, guesses_per_hour_per_address=per_hour,
                     chance_per_day=min(1.0, per_day * valid_codes / possible))


def format_join_code(raw: str) -> str:
    """`ABCDEFGHJKMN` → `ABCD-EFGH-JKMN`: groups of four, read aloud and typed in the room."""
    return "-".join(raw[i:i + JOIN_GROUP] for i in range(0, len(raw), JOIN_GROUP))
