"""Regex recognisers for Dutch identifiers that deduce lacks, plus the helpline allowlist.

Pure stdlib: `privacy.py` merges these findings with deduce's names and places.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its type (e.g. "TELEFOON") and its span in the text."""

    type: str
    start: int
    end: int
    text: str


# --- allowlist -------------------------------------------------------------------------------

# Helpline numbers, as digits only: they must survive every scrub (DOMAIN.md).
HELPLINE_NUMBERS: frozenset[str] = frozenset(
    {"112", "113", "08002000", "08000113", "08000432", "08000188", "09008844", "09000101"}
)

# Organisation names that deduce may read as a person or place ("Sterk Huis", "Fier",
# "Nederland" in "Slachtofferhulp Nederland"). Longest first so the regex prefers them.
ORGANISATIONS: tuple[str, ...] = (
    "Veilig Thuis", "Kindertelefoon", "De Kindertelefoon", "Slachtofferhulp Nederland",
    "Slachtofferhulp", "Centrum Seksueel Geweld", "113 Zelfmoordpreventie", "Fier",
    "Sterk Huis", "Blijf Groep", "Blijf-groep", "politie", "huisarts", "GGD", "wijkteam",
    "Raad voor de Kinderbescherming", "Jeugdzorg", "Veiligheidshuis", "Juridisch Loket",
    "Moviera", "Arosa", "Kadera", "Safegroup", "Perspektief", "Rijksoverheid", "Team Zeden",
)
ORGANISATION_RE = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(o) for o in sorted(ORGANISATIONS, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)

# Hosts whose URLs are kept when they carry no query string: helpline and government
# sites, plus a few platforms that are named as a service, never as a person.
ALLOWED_HOSTS: frozenset[str] = frozenset(
    {
        "veiligthuis.nl", "113.nl", "kindertelefoon.nl", "centrumseksueelgeweld.nl",
        "slachtofferhulp.nl", "fier.nl", "politie.nl", "rijksoverheid.nl", "thuisarts.nl",
        "government.nl", "juridischloket.nl", "sterkhuis.nl", "blijfgroep.nl", "ggd.nl",
        "huiselijkgeweld.nl", "nederlandsjeugdinstituut.nl", "google.com", "whatsapp.com",
    }
)


def is_helpline_number(text: str) -> bool:
    """True when `text` is one of the helpline numbers, in any spelling (+31, spaces, dashes)."""
    return normalise_phone(text) in HELPLINE_NUMBERS


def is_allowed_url(text: str) -> bool:
    """True for a link to an allowlisted host (or subdomain) that has no query or fragment."""
    parts = urlsplit(text if "//" in text else "//" + text)
    host = (parts.hostname or "").removeprefix("www.")
    allowed = any(host == h or host.endswith("." + h) for h in ALLOWED_HOSTS)
    return allowed and not parts.query and not parts.fragment


# --- validators and normalisers ---------------------------------------------------------------


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def normalise_phone(text: str) -> str:
    """Digits in national form: "+31 (0)6-1234 5678" and "0031612345678" both give 0612345678."""
    d = digits(text.replace("(0)", ""))
    for prefix in ("0031", "31"):
        if d.startswith(prefix) and text.lstrip().startswith(("+", "00")):
            return "0" + d[len(prefix) :]
    return d


def passes_elfproef(number: str) -> bool:
    """The BSN 11-proef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 is a multiple of 11 (and not 0)."""
    d = digits(number)
    if len(d) != 9:
        return False
    total = sum(int(c) * w for c, w in zip(d, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total != 0 and total % 11 == 0


def passes_iban_check(text: str) -> bool:
    """ISO 13616 mod-97 check, used for foreign IBANs whose layout we do not know."""
    s = re.sub(r"\s", "", text).upper()
    if not 15 <= len(s) <= 34:
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


# --- patterns --------------------------------------------------------------------------------

_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    "january|february|march|may|june|july|august|october|"
    "jan|feb|mrt|mar|apr|jun|jul|aug|sept|sep|okt|oct|nov|dec"
)
_YEAR = r"(?:19|20)\d{2}"
_SEP = r"(?:[ \t]?-[ \t]?|[ \t.])?"  # between digit groups of a phone number

# Kenteken sidecodes 1-14 (9 = digit, X = letter); letters upper case, groups joined by "-".
_SIDECODES = (
    "XX-99-99", "99-99-XX", "99-XX-99", "XX-99-XX", "XX-XX-99", "99-XX-XX", "99-XXX-9",
    "9-XXX-99", "XX-999-X", "X-999-XX", "XXX-99-X", "X-99-XXX", "9-XX-999", "999-XX-9",
)


def _sidecode_regex(code: str, sep: str) -> str:
    groups = [("[A-Z]" if g[0] == "X" else r"\d") + "{%d}" % len(g) for g in code.split("-")]
    return sep.join(groups)


_KENTEKEN = "|".join(
    _sidecode_regex(c, "-") for c in _SIDECODES
)
# Without dashes ("12ABC3") only the sidecodes whose letter/digit switches make the groups
# unambiguous, and only in upper case, to keep words and codes like "MP3" out.
_KENTEKEN_BARE = "|".join(_sidecode_regex(c, "") for c in _SIDECODES[6:])


@dataclass(frozen=True, slots=True)
class Pattern:
    """One recogniser: a compiled regex, the finding type, the group holding the PII, a check."""

    type: str
    regex: re.Pattern[str]
    group: int = 0
    check: str | None = None  # name of a validator in _CHECKS; None = accept every match


def _p(type_: str, pattern: str, *, group: int = 0, check: str | None = None,
       flags: int = 0) -> Pattern:
    return Pattern(type_, re.compile(pattern, flags), group, check)


PATTERNS: tuple[Pattern, ...] = (
    _p("EMAIL", r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"),
    _p("URL", r"\b(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]", check="url",
       flags=re.IGNORECASE),
    # Bare domains ("instagram.com/sanne_92", "sannedevries.nl") on common TLDs.
    _p("URL", r"(?<![\w@./-])(?:[a-z0-9-]+\.)+(?:nl|com|org|net|be|eu|info|nu|de|io|me|tv)"
       r"\b(?:/[^\s<>\"')\]]*[^\s<>\"')\].,;:!?])?", check="url", flags=re.IGNORECASE),
    _p("HANDLE", r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?"),
    # A handle named by its platform without "@": "mijn insta is sanne_92".
    _p("HANDLE", r"\b(?:insta(?:gram)?|snap(?:chat)?|tiktok|telegram|discord|twitter|facebook)"
       r"(?:[ \t]?(?:naam|name|account))?(?:[ \t]*:[ \t]*|[ \t]+(?:is|=|heet)[ \t]+)"
       r"@?([A-Za-z0-9_.]*[0-9_.][A-Za-z0-9_.]*|[a-z][a-z0-9_.]{2,29})\b",
       group=1, flags=re.IGNORECASE),
    _p("IBAN", r"\b[Nn][Ll][ \t]?\d{2}[ \t]?[A-Za-z]{4}(?:[ \t]?\d{2}){5}\b"),
    _p("IBAN", r"\b[A-Z]{2}\d{2}(?:[ \t]?[A-Z0-9]{4}){2,7}(?:[ \t]?[A-Z0-9]{1,3})?\b",
       check="iban"),
    _p("KENTEKEN", rf"(?<![\w-])(?:{_KENTEKEN})(?![\w-])"),
    _p("KENTEKEN", rf"(?<![\w-])(?:{_KENTEKEN})(?![\w-])".lower().replace(r"\\d", r"\d")
       .replace("[a-z]", "[a-z]"), check="kenteken_lower"),
    _p("KENTEKEN", rf"(?<![\w-])(?:{_KENTEKEN_BARE})(?![\w-])"),
    # +31 / 0031 followed by the nine national digits, with an optional "(0)".
    _p("TELEFOON", rf"(?<![\w+])(?:\+|00)31{_SEP}(?:\(0\){_SEP})?\(?\d\)?(?:{_SEP}\d){{8}}(?!\d)"),
    # Other countries: +CC and 7-12 more digits (a helpline for honour-related violence
    # sees Moroccan, Turkish and Belgian numbers).
    _p("TELEFOON", rf"(?<![\w+])(?:\+|00)(?!31)[1-9]\d{{0,2}}{_SEP}(?:\(0\){_SEP})?\d(?:{_SEP}\d){{6,11}}(?!\d)"),
    # National: ten digits starting with 0 ("06-12345678", "020 123 4567", "(010) 1234567").
    _p("TELEFOON", rf"(?<![\w+])(?:\(0\d{{1,3}}\)[ \t]?|0(?=[1-9]))\d?(?:{_SEP}\d){{8,9}}(?!\d)",
       check="phone_nl"),
    # Service numbers (0800/0900/0906/0909 + 4 or 7 digits): helplines are dropped later.
    _p("TELEFOON", r"(?<![\w+])09(?:00|06|09)[ \t-]?\d{4}(?:\d{3})?(?!\d)|(?<![\w+])0800[ \t-]?"
       r"\d{4}(?:\d{3})?(?!\d)"),
    _p("BSN", r"(?<![\d.-])(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3})(?![\d-]|\.\d)",
       check="bsn"),
    _p("POSTCODE", r"\b[1-9]\d{3}(?:[ \t]?[A-Z]{2}|[a-z]{2})\b", check="postcode"),
    _p("DATUM", rf"\b(?:[12]\d|3[01]|0?[1-9])(?:e|ste|de|st|nd|rd|th)?[ \t]+(?:of[ \t]+)?"
       rf"(?:{_MONTHS})\.?(?:,?[ \t]+(?:{_YEAR}|'\d{{2}}))?\b", flags=re.IGNORECASE),
    _p("DATUM", rf"\b(?:{_MONTHS})\.?[ \t]+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?,?[ \t]+"
       rf"{_YEAR}\b", flags=re.IGNORECASE),
    _p("DATUM", r"(?<![\d-])(?:[12]\d|3[01]|0?[1-9])([-/.])(?:1[0-2]|0?[1-9])\1(?:(?:19|20)?\d{2})"
       r"(?![\d-])"),
    _p("DATUM", r"(?<![\d-])(?:19|20)\d{2}-(?:1[0-2]|0[1-9])-(?:[12]\d|3[01]|0[1-9])(?![\d-])"),
    # Any other run of 7+ digits (client or case numbers, mistyped phones): a last resort
    # that also matches everything residual_pii would flag as a digit run.
    _p("NUMMER", r"(?<![\w+])\+?\d(?:[ \t\-./()]{0,2}\d){6,}(?!\w)", check="nummer"),
)

_UNITS = frozenset({"mg", "gr", "kg", "ml", "cl", "cm", "mm", "km", "uw", "ie", "jr", "pm"})
_NOT_POSTCODE = frozenset({"SA", "SD", "SS"})  # letter pairs never used in postcodes


def _valid(check: str | None, text: str) -> bool:
    """The validators named by Pattern.check."""
    if check is None:
        return True
    if check == "bsn":
        return passes_elfproef(text)
    if check == "iban":
        return not text.upper().startswith("NL") and passes_iban_check(text)
    if check == "url":
        return not is_allowed_url(text)
    if check == "phone_nl":
        return len(digits(text)) == 10
    if check == "postcode":
        letters = text[-2:]
        return letters.lower() not in _UNITS and letters.upper() not in _NOT_POSTCODE
    if check == "kenteken_lower":
        return not text.isupper()  # the upper-case pattern already had it
    if check == "nummer":
        return not is_helpline_number(text) and not text.rstrip().endswith("-")
    raise ValueError(f"unknown check {check!r}")


def find_patterns(text: str) -> list[Finding]:
    """Every regex finding in `text`, overlaps included; helpline numbers are left out."""
    found: list[Finding] = []
    for pattern in PATTERNS:
        for m in pattern.regex.finditer(text):
            start, end = m.span(pattern.group)
            value = m.group(pattern.group)
            if not _valid(pattern.check, value):
                continue
            if pattern.type in ("TELEFOON", "NUMMER") and is_helpline_number(value):
                continue
            found.append(Finding(pattern.type, start, end, value))
    return found


def organisation_spans(text: str) -> list[tuple[int, int]]:
    """Spans of allowlisted organisation names, which no finding may cover."""
    return [m.span() for m in ORGANISATION_RE.finditer(text)]


def iter_months() -> Iterator[str]:
    """Month names the date patterns know, for date normalisation in privacy.py."""
    yield from _MONTHS.split("|")
