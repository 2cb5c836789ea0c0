"""Dutch PII scrubber for exports: deduce for names and places, regexes for identifiers.

`get_scrubber()` gives the shared `DeduceScrubber`; `residual_pii()` is the export gate's
independent second pass. Placeholders are typed and numbered per conversation: `[PERSOON-1]`.
"""

from __future__ import annotations

import functools
import gc
import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workbench.domain.privacy_patterns import (
    Finding,
    digits,
    find_patterns,
    normalise_phone,
    organisation_spans,
    residual_pii,
)

__all__ = [
    "FINDING_TYPES", "SCRUBBER_VERSION", "DeduceScrubber", "Finding", "ScrubContext",
    "ScrubResult", "Scrubber", "apply_placeholders", "get_scrubber", "merge_findings",
    "residual_pii", "scrub_conversation",
]  # fmt: skip

# Bump when a rule changes what gets scrubbed: export manifests record it.
SCRUBBER_VERSION = "nl-1.0+deduce3"

# Every type a finding can have. Beyond the brief's list: PLAATS (a town or city, which deduce
# finds; not an address) and NUMMER (any other run of 7+ digits, e.g. a 9-digit number that
# fails the BSN 11-proef). LEEFTIJD exists but ages are kept by default (see DeduceScrubber).
FINDING_TYPES: tuple[str, ...] = tuple(
    "PERSOON ADRES PLAATS POSTCODE TELEFOON EMAIL BSN IBAN KENTEKEN DATUM HANDLE URL LEEFTIJD "
    "NUMMER".split()
)
# Tie-break when two overlapping findings are equally long: the more specific type wins.
_PRIORITY = {
    t: i
    for i, t in enumerate(
        "EMAIL URL IBAN BSN KENTEKEN TELEFOON POSTCODE DATUM HANDLE ADRES PERSOON PLAATS "
        "LEEFTIJD NUMMER".split()
    )
}


@dataclass(frozen=True, slots=True)
class ScrubResult:
    """The scrubbed text and the findings (with their original text and spans) it replaced."""

    text: str
    findings: list[Finding]


_HONORIFIC = re.compile(r"^(?:dhr|mevr|mw|mr|mrs|ms|mevrouw|meneer|de heer|juf|meester)\.?\s+")


def _normalise(type_: str, text: str) -> str:
    """The key under which a ScrubContext remembers an original: spelling variants collapse."""
    if type_ == "TELEFOON":
        return normalise_phone(text)
    if type_ in ("BSN", "NUMMER"):
        return digits(text)
    if type_ in ("IBAN", "KENTEKEN", "POSTCODE"):
        return re.sub(r"[^0-9A-Za-z]", "", text).upper()
    key = " ".join(text.casefold().split())
    if type_ == "HANDLE":
        return key.lstrip("@")
    if type_ == "PERSOON":
        return _HONORIFIC.sub("", key)
    return key


@dataclass
class ScrubContext:
    """Placeholder numbers for one conversation: normalised original -> number, per type."""

    numbers: dict[str, dict[str, int]] = field(default_factory=dict)

    def placeholder(self, type_: str, original: str) -> str:
        """`[TYPE-N]` for `original`; the same person or number always gets the same N."""
        key = _normalise(type_, original)
        seen = self.numbers.setdefault(type_, {})
        if key not in seen and type_ == "PERSOON" and " " not in key:
            # "Jeroen" after "Jeroen van Dijk": reuse the full name's number if only one fits.
            fits = {n for k, n in seen.items() if k.split()[0] == key or k.split()[-1] == key}
            if len(fits) == 1:
                seen[key] = fits.pop()
        number = seen.setdefault(key, len(set(seen.values())) + 1)
        return f"[{type_}-{number}]"


@runtime_checkable
class Scrubber(Protocol):
    """Anything that finds personal data and replaces it with typed placeholders."""

    def find(self, text: str) -> list[Finding]: ...

    def scrub(self, text: str, *, context: ScrubContext | None = None) -> ScrubResult: ...


def merge_findings(findings: Iterable[Finding], text: str) -> list[Finding]:
    """Resolve overlaps: each cluster of overlapping findings becomes one finding that covers
    the whole cluster (so no fragment leaks) and takes the type of its longest member."""
    ordered = sorted(findings, key=lambda f: (f.start, -f.end))
    clusters: list[list[Finding]] = []
    end = -1
    for f in ordered:
        if clusters and f.start < end:
            clusters[-1].append(f)
            end = max(end, f.end)
        else:
            clusters.append([f])
            end = f.end
    merged = []
    for cluster in clusters:
        best = min(cluster, key=lambda f: (f.start - f.end, _PRIORITY.get(f.type, 99)))
        start, stop = cluster[0].start, max(f.end for f in cluster)
        merged.append(Finding(best.type, start, stop, text[start:stop]))
    return merged


def _without_organisations(findings: list[Finding], text: str) -> list[Finding]:
    """Trim the allowlisted organisation names ("Sterk Huis", "Fier") out of name findings."""
    spans = organisation_spans(text)
    if not spans:
        return findings
    kept = []
    for f in findings:
        start, end = f.start, f.end
        for o_start, o_end in spans:
            if o_start <= start < o_end:
                start = o_end
            if o_start < end <= o_end:
                end = o_start
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        if start < end and not any(o_start <= start and end <= o_end for o_start, o_end in spans):
            kept.append(
                f
                if (start, end) == (f.start, f.end)
                else Finding(f.type, start, end, text[start:end])
            )
    return kept


def apply_placeholders(text: str, findings: list[Finding], context: ScrubContext) -> str:
    """Replace each (non-overlapping) finding by its placeholder, numbered in reading order."""
    parts: list[str] = []
    last = 0
    for f in sorted(findings, key=lambda f: f.start):
        parts += [text[last : f.start], context.placeholder(f.type, f.text)]
        last = f.end
    parts.append(text[last:])
    return "".join(parts)


# --- deduce ----------------------------------------------------------------------------------

# deduce processors we switch off: the identifiers we recognise ourselves with regexes
# (which also know the helpline allowlist), institutions (not personal data, and deduce reads
# "Fier" and "113 Zelfmoordpreventie" as care institutions), and the redactor (we replace).
_DEDUCE_DISABLED = frozenset(
    """institutions dates ages identifiers phone_numbers email_addresses urls postal_code
    patient_name redactor""".split()
)
_DEDUCE_LOCK = threading.Lock()  # guards the one-off build
_CALL_LOCK = threading.Lock()  # deduce's processors are not documented as re-entrant; the
# GIL serialises this CPU-bound work anyway, so the lock costs next to nothing.


@functools.lru_cache(maxsize=1)
def _load_deduce() -> Any:
    """Build deduce once (seconds; over a minute on a fresh install, which writes its cache).

    Importing deduce calls logging.basicConfig(DEBUG, stdout); we undo that so the app's
    logging stays as configured.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from deduce import Deduce  # lazy: keeps `import workbench.domain.privacy` cheap

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    engine = Deduce()
    # Its lookup tables are millions of long-lived objects: moving them out of the collector's
    # generations keeps every later collection, and the interpreter's exit, from walking them
    # (exit took ~13 s, so a two-line `workbench scrub` took over 20 s).
    gc.freeze()
    return engine


def deduce_engine() -> Any:
    """The shared deduce instance, built by exactly one thread."""
    with _DEDUCE_LOCK:
        return _load_deduce()


@functools.lru_cache(maxsize=1)
def major_places() -> frozenset[str]:
    """Municipalities and provinces from deduce's source lists (hamlets left out)."""
    from importlib.resources import files

    base = files("deduce") / "data" / "lookup" / "src" / "locations" / "lst_placename"
    names: set[str] = set()
    for sub in ("lst_municipality", "lst_province"):
        try:
            names.update((base / sub / "items.txt").read_text(encoding="utf-8").split("\n"))
        except OSError:  # another deduce layout: then keep every place at a sentence start
            return frozenset({"*"})
    return frozenset(n.strip() for n in names if n.strip())


def _deduce_type(tag: str, text: str) -> str | None:
    if tag == "persoon":
        return "PERSOON"
    if tag == "locatie":
        # deduce's "locatie" is either street + house number / postbus, or a place name.
        return "ADRES" if any(c.isdigit() for c in text) else "PLAATS"
    return None  # pseudo_name and the like


# A one-word deduce finding that opens a sentence is often an ordinary capitalised word:
# deduce's lists hold surnames like "Haven", "Stad", "Kil" and hamlets like "Buren", "Drie",
# "Hoek", "Wissel". There we keep only first names and municipalities or provinces, minus the
# words below (measured on tests/data/pii_cases.yaml and the shipped scenarios).
COMMON_WORDS: frozenset[str] = frozenset(
    """best buren goes echt lent son born may will hope mark bill dawn dag beste lieve mam pap
    hoop zon wil liefde""".split()
)
# Never a name, wherever they stand: greetings, and languages deduce finds as surnames
# ("ze spreekt Engels"). Not "Frans", which is also a first name.
_NEVER_NAMES = frozenset(
    """my hi hoi hey hallo ok oké sorry i the engels duits turks pools spaans italiaans arabisch
    russisch marokkaans berbers koerdisch somalisch tigrinya oekraïens roemeens bulgaars
    portugees chinees surinaams papiaments nederlands vlaams english dutch""".split()
)
# Capitalised words that are in none of deduce's name, place, street, prefix, initial or
# interfix lists (tests check this), so a text whose only capitals are these cannot give a
# deduce finding: such texts skip deduce, the costliest step. Not "I" (an initial) or "My".
SAFE_CAPITALISED: frozenset[str] = frozenset(
    """
Ik Mijn Hij Zij Ze Wij We Jij Je Uw Het Een Dat Die Dit Deze Wat Hoe Waar Wanneer Waarom Wie
Welke Is Kan Kun Kunt Moet Mag Zal Zou Wil Heb Heeft Hebben Ben Was Waren Word Wordt Ga Gaat
Weet Denk Vind Ja Nee Niet Geen Soms Vaak Altijd Nooit Nu Toen Dan Daarna Gisteren Vandaag
Morgen Vanavond Vannacht Sinds Als Omdat Maar En Of Dus Ook Nog Al Er Hier Daar Echt
Misschien Sorry Dank Bedankt Hallo Hoi Hey Oke Goed Help Hulp Mama Papa Mam Oma Opa Sterkte
Alvast Graag Laatst Elke Iedereen Niemand Iemand Alles Niets The He She You They It This That
What How When Where Why Who Could Should Would Will Do Did Am Are Were Have Had Not No Yes
Sometimes Yesterday Today Now Then Please Thanks Thank Hello Hi If But And Or So Also Every
Everyone Nobody Someone Dad Mum Our His Her Komt Bij Voor Zijn Na Op In Met Om Door Over Tot
Zo Zoals Even Eerst Toch Wel Nou Oh Ok Oké Alleen Samen Jullie Hun Haar Hem Onze Ons Mogen
Kunnen Moeten Willen Zullen Doe Doet Zeg Zegt Zei Vraag Vertel Hoeveel Welk Goedemorgen
Goedemiddag Goedenavond Inmiddels Eigenlijk Natuurlijk Helaas Gelukkig Vroeger Later Straks
Daarom Daardoor Terwijl Hoewel Totdat Zodra Nadat Voordat Tijdens Behalve Zonder Tegen Naast
Achter Onder Tussen Binnen Buiten Excuus Groetjes Doei Bye Okay After Before During Because
Since While Until Maybe Sure Actually Really Last Next Veilig Thuis Kindertelefoon
Slachtofferhulp Politie Huisarts BSN GGD IBAN SMS AI
""".split()
)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


def may_hold_names(text: str) -> bool:
    """False when deduce cannot find anything in `text`: every deduce name, street and place
    needs a capitalised word from its lists, except "postbus 12", which deduce takes in any case.
    """
    if "postbus" in text.casefold():
        return True
    return any(w[0].isupper() and w not in SAFE_CAPITALISED for w in _WORD.findall(text))


_APOSTROPHE_NAME = re.compile(r"[ \t]*[A-Z][’'][A-Z][a-z]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n])[\s\"'(*-]*$")


class DeduceScrubber:
    """deduce for names, streets and places; regexes (privacy_patterns) for the rest.

    Choices: a 9-digit number is typed BSN only when it passes the 11-proef, but every run of
    7+ digits is scrubbed (as NUMMER otherwise): a client number leaks as easily. Every URL
    and bare domain is scrubbed except allowlisted hosts without a query. Towns are scrubbed
    (PLAATS); institutions are kept. Ages are kept (needed to judge routing, e.g. the
    Kindertelefoon for 8-18, and hardly identifying) unless `scrub_ages`. Identical texts come
    from an LRU cache; texts without a capitalised word that could be a name skip deduce.
    """

    def __init__(
        self,
        *,
        scrub_ages: bool = False,
        cache_size: int = 8192,
        prefilter: bool = True,
        engine: Callable[[], Any] = deduce_engine,
    ) -> None:
        self._engine = engine
        self._prefilter = prefilter
        self._scrub_ages = scrub_ages
        self._find_cached = functools.lru_cache(maxsize=cache_size)(self._find_uncached)

    def load(self) -> None:
        """Build deduce now rather than on the first text (e.g. at app start)."""
        self._engine()

    def deduce_findings(self, text: str) -> list[Finding]:
        """Names and places by deduce, with common words at a sentence start left out."""
        if self._prefilter and not may_hold_names(text):
            return []
        engine = self._engine()
        with _CALL_LOCK:
            doc = engine.deidentify(text, disabled=_DEDUCE_DISABLED)
        found = []
        for a in doc.annotations:
            type_ = _deduce_type(a.tag, a.text)
            if type_ is None:
                continue
            end = a.end_char
            if type_ == "PERSOON" and (tail := _APOSTROPHE_NAME.match(text, end)):
                end = tail.end()  # deduce splits "Tom O'Brien" at the apostrophe
            finding = Finding(type_, a.start_char, end, text[a.start_char : end])
            if not self._is_ordinary_word(text, finding):
                found.append(finding)
        return found

    def _is_ordinary_word(self, text: str, finding: Finding) -> bool:
        """True for a one-word name or place that is more likely an ordinary word."""
        word = finding.text
        lower = word.casefold()
        if any(c in word for c in " -'’"):
            return False
        if lower in _NEVER_NAMES:
            return True
        if _SENTENCE_START.search(text, 0, finding.start) is None:
            return False
        if lower in COMMON_WORDS:
            return True
        if finding.type == "PERSOON":
            return [word] not in self._engine().lookup_structs["first_name"]
        places = major_places()
        return finding.type == "PLAATS" and "*" not in places and word not in places

    def _find_uncached(self, text: str) -> tuple[Finding, ...]:
        candidates = self.deduce_findings(text) + find_patterns(text)
        if self._scrub_ages:
            candidates += _age_findings(text)
        return tuple(merge_findings(_without_organisations(candidates, text), text))

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in `text`, in reading order."""
        if not text.strip():
            return []
        return list(self._find_cached(text))

    def scrub(self, text: str, *, context: ScrubContext | None = None) -> ScrubResult:
        """`text` with every finding replaced; pass one context per conversation."""
        findings = self.find(text)
        if not findings:
            return ScrubResult(text, [])
        return ScrubResult(apply_placeholders(text, findings, context or ScrubContext()), findings)


_AGE = re.compile(r"(?i)\b(\d{1,3})[ -]?(?:jaar|jarig|jarige|jr|years? old|y/?o)\b")


def _age_findings(text: str) -> list[Finding]:
    return [Finding("LEEFTIJD", *m.span(1), m.group(1)) for m in _AGE.finditer(text)]


@functools.lru_cache(maxsize=1)
def get_scrubber() -> DeduceScrubber:
    """The shared scrubber; deduce itself is built on first use (or by `.load()`).

    Constructing a DeduceScrubber is cheap and the deduce engine behind it is built once under
    a lock, so two threads racing on the first call at worst make a spare wrapper.
    """
    return DeduceScrubber()


def scrub_conversation(
    texts: Iterable[str], *, scrubber: Scrubber | None = None, context: ScrubContext | None = None
) -> list[ScrubResult]:
    """Scrub the turns of one conversation with one context, so placeholders agree."""
    scrubber = scrubber or get_scrubber()
    context = context or ScrubContext()
    return [scrubber.scrub(t, context=context) for t in texts]
