"""The deduce side of the scrubber: loading the engine, its findings on a text, and the word
lists that keep ordinary capitalised words from being taken for names or places.
"""

from __future__ import annotations

import functools
import gc
import re
import threading
from collections.abc import Callable
from typing import Any

from workbench.domain.privacy_cache import load_engine
from workbench.domain.privacy_patterns import Finding

__all__ = [
    "COMMON_WORDS", "SAFE_CAPITALISED", "deduce_engine", "deduce_findings", "major_places",
    "may_hold_names",
]  # fmt: skip


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
    """Build deduce once: seconds from the cache, which `privacy_cache` builds (minutes) if it is
    missing or damaged, under a lock and atomically."""
    engine = load_engine()
    # Its lookup tables are millions of long-lived objects: moving them out of the collector's
    # generations keeps every later collection, and the interpreter's exit, from walking them
    # (exit took ~13 s, so a two-line `workbench scrub` took over 20 s).
    gc.freeze()
    return engine


def deduce_engine() -> Any:
    """The shared deduce instance, built by exactly one thread."""
    with _DEDUCE_LOCK:
        return _load_deduce()


def deduce_loaded() -> bool:
    """Whether this process has deduce in memory already (scrubbing then costs milliseconds;
    before, the first scrub waits seconds for it)."""
    return _load_deduce.cache_info().currsize > 0


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


def _is_ordinary_word(text: str, finding: Finding, first_names: Any) -> bool:
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
        return [word] not in first_names
    places = major_places()
    return finding.type == "PLAATS" and "*" not in places and word not in places


def deduce_findings(
    text: str, engine: Callable[[], Any], *, prefilter: bool = True
) -> list[Finding]:
    """Names and places by deduce, with common words at a sentence start left out."""
    if prefilter and not may_hold_names(text):
        return []
    deduce = engine()
    with _CALL_LOCK:
        doc = deduce.deidentify(text, disabled=_DEDUCE_DISABLED)
    found = []
    for a in doc.annotations:
        type_ = _deduce_type(a.tag, a.text)
        if type_ is None:
            continue
        end = a.end_char
        if type_ == "PERSOON" and (tail := _APOSTROPHE_NAME.match(text, end)):
            end = tail.end()  # deduce splits "Tom O'Brien" at the apostrophe
        finding = Finding(type_, a.start_char, end, text[a.start_char : end])
        if not _is_ordinary_word(text, finding, deduce.lookup_structs["first_name"]):
            found.append(finding)
    return found
