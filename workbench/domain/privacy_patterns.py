"""Regex recognisers for Dutch identifiers that deduce lacks, plus the helpline allowlist.

Pure stdlib: `privacy.py` runs these on the normalised view (normalise.py) and merges them with
deduce's names and places. The export gate (privacy_gate.py) deliberately does not use them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from workbench.domain.normalise import MAIL_PROVIDERS
from workbench.domain.privacy_names import name_lists


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

# Organisation names no finding may cover. A safety net: with the processors we run, deduce
# tags none of them, but with its institution lists on it takes "Fier" and "113
# Zelfmoordpreventie" for care institutions, and its lists change between versions.
ORGANISATIONS: tuple[str, ...] = tuple(
    name.strip()
    for name in """Veilig Thuis|Kindertelefoon|De Kindertelefoon|Slachtofferhulp Nederland|
    Slachtofferhulp|Centrum Seksueel Geweld|113 Zelfmoordpreventie|Fier|Sterk Huis|Blijf Groep|
    Blijf-groep|politie|huisarts|GGD|wijkteam|Raad voor de Kinderbescherming|Jeugdzorg|
    Veiligheidshuis|Juridisch Loket|Moviera|Arosa|Kadera|Safegroup|Perspektief|Rijksoverheid|
    Team Zeden""".split("|")
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
    """veiligthuis.nl 113.nl kindertelefoon.nl centrumseksueelgeweld.nl slachtofferhulp.nl fier.nl
    politie.nl rijksoverheid.nl thuisarts.nl government.nl juridischloket.nl sterkhuis.nl
    blijfgroep.nl ggd.nl huiselijkgeweld.nl nji.nl google.com whatsapp.com""".split()
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
    s = re.sub(r"[\s.-]", "", text).upper()
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
_SEP = r"(?:[ \t]*[-/][ \t]*|[ \t.])?"  # between digit groups of a phone number
_IBAN_SEP = r"[ \t.-]?"  # between the groups of an IBAN: "NL91 ABNA", "nl91-abna", "NL91.ABNA"

# Kenteken sidecodes 1-14 (9 = digit, X = letter); letters upper case, groups joined by "-".
_SIDECODES = tuple(
    """XX-99-99 99-99-XX 99-XX-99 XX-99-XX XX-XX-99 99-XX-XX 99-XXX-9 9-XXX-99 XX-999-X X-999-XX
    XXX-99-X X-99-XXX 9-XX-999 999-XX-9""".split()
)


def _sidecode_regex(code: str, sep: str) -> str:
    groups = [("[A-Z]" if g[0] == "X" else r"\d") + f"{{{len(g)}}}" for g in code.split("-")]
    return sep.join(groups)


_KENTEKEN = "|".join(_sidecode_regex(c, "-") for c in _SIDECODES)
# Without dashes ("12ABC3") only the sidecodes whose letter/digit switches make the groups
# unambiguous, and only in upper case, to keep words and codes like "MP3" out.
_NAME = r"[^\W\d_][^\W\d_'’-]*(?:-[^\W\d_]+)?"
_TUSSEN = r"van der|van den|van de|van|de|den|der|ter|ten|te|el|al|in 't|op de"
_PLATFORM = (
    r"\b(?:insta(?:gram)?|snap(?:chat)?|tiktok|telegram|discord|twitter|facebook|fb)"
    r"(?:[ \t]?(?:naam|name|account))?"
)
_KENTEKEN_BARE = "|".join(_sidecode_regex(c, "") for c in _SIDECODES[6:])


@dataclass(frozen=True, slots=True)
class Pattern:
    """One recogniser: a compiled regex, the finding type, the group holding the PII, a check."""

    type: str
    regex: re.Pattern[str]
    group: int = 0
    check: str | None = None  # a validator known to _valid(); None = accept every match
    needs_at: bool = False  # only matches text with an "@": other texts skip it


def _p(
    type_: str,
    pattern: str,
    *,
    group: int = 0,
    check: str | None = None,
    flags: int = 0,
    needs_at: bool = False,
) -> Pattern:
    return Pattern(type_, re.compile(pattern, flags), group, check, needs_at)


PATTERNS: tuple[Pattern, ...] = (
    _p("EMAIL", r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", needs_at=True),
    # "sanne@gmail" without ".com" names a mailbox as well as the full address does.
    _p(
        "EMAIL",
        rf"(?<![\w.+-])[\w.+-]+@(?:{MAIL_PROVIDERS})(?![\w.@-])",
        flags=re.IGNORECASE,
        needs_at=True,
    ),
    _p(
        "URL",
        r"\b(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]",
        check="url",
        flags=re.IGNORECASE,
    ),
    # Bare domains ("instagram.com/sanne_92", "sannedevries.nl"). Only TLDs that are no
    # Dutch word, so a missing space in "thuis.Nu" or "en.de" is not read as a link.
    _p(
        "URL",
        r"(?<![\w@./-])(?:[A-Za-z0-9-]+\.)+(?:nl|com|org|net|be|eu|info|io)\b"
        r"(?:/[^\s<>\"')\]]*[^\s<>\"')\].,;:!?])?",
        check="url",
    ),
    _p(
        "HANDLE", r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?", needs_at=True
    ),
    # A handle named by its platform without "@": "insta: sanne" or "mijn snap is sanne_92"
    # (after "is" only names with a digit, "_" or ".", so "mijn insta is gehackt" stays).
    _p(
        "HANDLE",
        rf"{_PLATFORM}[ \t]*:[ \t]*@?([A-Za-z0-9_.]*[A-Za-z0-9_])",
        group=1,
        flags=re.IGNORECASE,
    ),
    _p(
        "HANDLE",
        rf"{_PLATFORM}[ \t]+(?:is|=|heet)[ \t]+@?([A-Za-z0-9_.]*[0-9_.][A-Za-z0-9_.]*"
        r"[A-Za-z0-9_])",
        group=1,
        flags=re.IGNORECASE,
    ),
    # A name after "ik heet" / "mijn naam is", also in lower case, which deduce misses
    # ("ik heet lotte"); with an optional tussenvoegsel + surname.
    _p(
        "PERSOON",
        rf"(?i:\b(?:ik|hij|zij|ze)[ \t]+heet|\bmijn[ \t]+naam[ \t]+is|\bmy[ \t]+name"
        rf"[ \t]+is|\bi'?m[ \t]+called)[ \t]+({_NAME}(?:[ \t]+(?:{_TUSSEN})[ \t]+{_NAME})?)",
        group=1,
        check="name",
    ),
    _p(
        "IBAN",
        rf"\b[Nn][Ll]{_IBAN_SEP}\d{{2}}{_IBAN_SEP}[A-Za-z]{{4}}(?:{_IBAN_SEP}\d{{2}}){{5}}\b",
    ),
    _p(
        "IBAN",
        rf"\b[A-Z]{{2}}\d{{2}}(?:{_IBAN_SEP}[A-Z0-9]{{4}}){{2,7}}(?:{_IBAN_SEP}[A-Z0-9]{{1,3}})?\b",
        check="iban",
        flags=re.IGNORECASE,
    ),
    _p("KENTEKEN", rf"(?<![\w-])(?:{_KENTEKEN})(?![\w-])", flags=re.IGNORECASE),
    _p("KENTEKEN", rf"(?<![\w-])(?:{_KENTEKEN_BARE})(?![\w-])"),
    # +31 / 0031 followed by the nine national digits, with an optional "(0)".
    _p("TELEFOON", rf"(?<![\w+])(?:\+|00)31{_SEP}(?:\(0\){_SEP})?\(?\d\)?(?:{_SEP}\d){{8}}(?!\d)"),
    # Other countries: +CC and 7-12 more digits (a helpline for honour-related violence
    # sees Moroccan, Turkish and Belgian numbers).
    _p(
        "TELEFOON",
        rf"(?<![\w+])(?:\+|00)(?!31)[1-9]\d{{0,2}}{_SEP}(?:\(0\){_SEP})?\d"
        rf"(?:{_SEP}\d){{6,11}}(?!\d)",
    ),
    # National: ten digits starting with 0 ("06-12345678", "020 123 4567", "(010) 1234567").
    _p(
        "TELEFOON",
        rf"(?<![\w+])(?:\(0\d{{1,3}}\)[ \t]?\d|0[ \t]?[1-9])(?:{_SEP}\d){{6,8}}(?!\d)",
        check="phone_nl",
    ),
    # Service numbers (0800/0900/0906/0909 + 4 or 7 digits): helplines are dropped later.
    _p(
        "TELEFOON",
        r"(?<![\w+])09(?:00|06|09)[ \t-]?\d{4}(?:\d{3})?(?!\d)|(?<![\w+])0800[ \t-]?"
        r"\d{4}(?:\d{3})?(?!\d)",
    ),
    _p(
        "BSN",
        r"(?<![\d.-])(?:\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}([ .-])\d{3}\1\d{3})(?![\d-]|\.\d)",
        check="bsn",
    ),
    _p("POSTCODE", r"\b[1-9]\d{3}(?:[ \t]?[A-Z]{2}|[a-z]{2})\b", check="postcode"),
    _p(
        "DATUM",
        rf"\b(?:[12]\d|3[01]|0?[1-9])(?:e|ste|de|st|nd|rd|th)?[ \t]+(?:(?:of|van)[ \t]+)?"
        rf"(?:{_MONTHS})\.?(?:,?[ \t]+(?:{_YEAR}|'\d{{2}}))?\b",
        flags=re.IGNORECASE,
    ),
    _p(
        "DATUM",
        rf"\b(?:{_MONTHS})\.?[ \t]+(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?,?[ \t]+"
        rf"{_YEAR}\b",
        flags=re.IGNORECASE,
    ),
    _p(
        "DATUM",
        r"(?<![\d-])(?:[12]\d|3[01]|0?[1-9])([-/.])(?:1[0-2]|0?[1-9])\1(?:(?:19|20)?\d{2})"
        r"(?![\d-])",
    ),
    _p("DATUM", r"(?<![\d-])(?:19|20)\d{2}-(?:1[0-2]|0[1-9])-(?:[12]\d|3[01]|0[1-9])(?![\d-])"),
    # Any other run of 7+ digits (client or case numbers, mistyped phones): a last resort
    # that also matches everything residual_pii would flag as a digit run.
    _p("NUMMER", r"(?<![\w+])\+?\d(?:[ \t\-./()]{0,2}\d){6,}(?!\w)", check="nummer"),
)

_UNITS = frozenset(
    {"mg", "gr", "kg", "ml", "cl", "cm", "mm", "km", "uw", "ie", "jr", "pm", "am", "er", "ct"}
)
# Digit runs that are no identifier: opening hours "9.00-17.00", year spans "2019-2021",
# amounts "1.500.000" (a BSN written with dots has a 3- or 4-digit first group).
_HARMLESS_NUMBER = re.compile(
    r"\d{1,2}[.:]\d{2}[ \t]?-[ \t]?\d{1,2}[.:]\d{2}"
    r"|(?:19|20)\d{2}[ \t]?[-/][ \t]?(?:19|20)?\d{2}"
    r"|\d{1,2}(?:\.\d{3}){2,}"
)


def is_harmless_number(text: str) -> bool:
    """True for digit runs that look like times, year spans or amounts, not identifiers, and
    for helpline numbers written together ("0800-2000/112")."""
    if _HARMLESS_NUMBER.fullmatch(text.strip()):
        return True
    parts = text.split("/")
    return len(parts) > 1 and all(is_helpline_number(p) for p in parts)


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
    if check == "name":
        # deduce's frequent words plus NOT_NAMES: "hij heet net als ...", "ik heet eigenlijk"
        return text.split()[0].casefold() not in name_lists().common
    if check == "nummer":
        return not is_helpline_number(text) and not is_harmless_number(text)
    raise ValueError(f"unknown check {check!r}")


# Types whose every pattern needs a digit: texts without one skip them (most chat turns).
_DIGIT_TYPES = frozenset("IBAN KENTEKEN TELEFOON BSN POSTCODE DATUM NUMMER".split())
_DIGIT = re.compile(r"\d")


def find_patterns(text: str) -> list[Finding]:
    """Every regex finding in `text`, overlaps included; helpline numbers are left out."""
    found: list[Finding] = []
    has_digit = _DIGIT.search(text) is not None
    has_at = "@" in text
    for pattern in PATTERNS:
        if not has_digit and pattern.type in _DIGIT_TYPES:
            continue
        if not has_at and pattern.needs_at:
            continue
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
