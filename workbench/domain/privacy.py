"""Dutch PII scrubber for exports: deduce for names and places, regexes for identifiers and
context cues for names and streets in lower case, all reading a normalised view of the text.

`get_scrubber()` gives the shared `DeduceScrubber`; `residual_pii()` (privacy_gate.py) is the
export gate's independent second pass; `warm_deduce_cache()` (privacy_cache.py) builds deduce's
lookup cache. Placeholders are typed and numbered per conversation: `[PERSOON-1]`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from workbench.domain.normalise import Normalised, normalise, normalise_text
from workbench.domain.privacy_cache import warm_deduce_cache
from workbench.domain.privacy_context import context_findings
from workbench.domain.privacy_deduce import (
    COMMON_WORDS,
    SAFE_CAPITALISED,
    deduce_engine,
    deduce_findings,
    deduce_loaded,
    major_places,
    may_hold_names,
)
from workbench.domain.privacy_gate import residual_pii
from workbench.domain.privacy_names import name_lists
from workbench.domain.privacy_patterns import (
    Finding,
    digits,
    find_patterns,
    normalise_phone,
    organisation_spans,
)

__all__ = [
    "COMMON_WORDS", "FINDING_TYPES", "SAFE_CAPITALISED", "SCRUBBER_VERSION", "DeduceScrubber",
    "Finding", "ScrubContext", "ScrubResult", "Scrubber", "apply_placeholders", "deduce_engine",
    "get_scrubber", "major_places", "may_hold_names", "merge_findings", "residual_pii",
    "scrub_conversation", "warm_deduce_cache", "warm_in_background",
]  # fmt: skip

# Bump when a rule changes what gets scrubbed: export manifests record it.
# 1.1: detection on a normalised view (zero-width characters, look-alike digits, spelled-out
# numbers and e-mail), lower-case names and streets from context.
SCRUBBER_VERSION = "nl-1.1+deduce3"

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


def _normalise(type_: str, original: str) -> str:
    """The key under which a ScrubContext remembers an original: spelling variants collapse,
    including those the normaliser sees through (a U+200B inside a number, "nul zes ...")."""
    text = normalise_text(original)
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



def _on_original(finding: Finding, view: Normalised) -> Finding:
    """A finding on the normalised view, moved to the characters the writer typed: a zero-width
    character inside a phone number, or "(at)" inside an address, is replaced along with it."""
    start, end = view.span(finding.start, finding.end)
    if (start, end) == (finding.start, finding.end) and view.starts is None:
        return finding
    return Finding(finding.type, start, end, view.original[start:end])


class DeduceScrubber:
    """deduce for names, streets and places; regexes (privacy_patterns) for the rest; context
    cues (privacy_context) for names and streets in lower case. All of them read the normalised
    view of a text (normalise.py) and their findings are mapped back to the original.

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
        """Build deduce and read the name lists now rather than on the first text (e.g. at app
        start, or before an export forks its workers, which then share them)."""
        self._engine()
        name_lists()

    @property
    def loaded(self) -> bool:
        """True once scrubbing costs milliseconds (deduce is in this process's memory)."""
        return self._engine is not deduce_engine or deduce_loaded()

    def deduce_findings(self, text: str) -> list[Finding]:
        """Names and places by deduce, with common words at a sentence start left out."""
        return deduce_findings(text, self._engine, prefilter=self._prefilter)

    def _find_uncached(self, text: str) -> tuple[Finding, ...]:
        view = normalise(text)
        v = view.text
        candidates = self.deduce_findings(v) + find_patterns(v) + context_findings(v)
        if self._scrub_ages:
            candidates += _age_findings(v)
        merged = merge_findings(_without_organisations(candidates, v), v)
        return tuple(_on_original(f, view) for f in merged)

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


_WARMING: list[threading.Thread] = []
_WARMING_LOCK = threading.Lock()


def warm_in_background() -> threading.Thread:
    """Load the shared scrubber on a daemon thread, once per process (the app calls this when
    it starts, so no person's request waits the seconds deduce takes to load; an export's
    forked workers then inherit it)."""
    with _WARMING_LOCK:
        if not _WARMING:
            thread = threading.Thread(target=get_scrubber().load, name="scrubber-warm-up",
                                      daemon=True)
            thread.start()
            _WARMING.append(thread)
        return _WARMING[0]


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
