"""A gentle check, before a role-play message is sent, for what looks like real personal data.

Uses the recognisers of the workbench's Dutch PII detector (`domain.privacy_patterns`: phone,
e-mail, postcode, BSN, IBAN, kenteken, dates, handles, "ik heet ...") plus street addresses.
Deduce (`domain.privacy.get_scrubber()`) is deliberately not used live: building it takes
seconds to over a minute of CPU in the app process, which stalled every role-play on the server
while it loaded (the browser test ran 75 s instead of 24 s). Role-play names are invented
anyway, so a lone first name or the persona's own name is not flagged; a full name is.
Exports still go through the full scrubber.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Types worth a warning; places and ages are fine to mention in a role-play.
WARN_TYPES = frozenset({"PERSOON", "ADRES", "POSTCODE", "TELEFOON", "EMAIL", "BSN", "IBAN",
                        "KENTEKEN", "DATUM", "HANDLE", "NUMMER"})
_STREET = re.compile(
    r"\b[A-Z][a-z]+(?:straat|laan|weg|plein|gracht|kade|dijk|singel|hof|pad|steeg|park)"
    r"[ \t]+\d{1,4}[ \t]?[a-zA-Z]?\b")
_FALLBACK = (  # used only when the detector's module is not importable
    ("TELEFOON", re.compile(r"(?<!\d)(?:\+31|0031|0)[ -]?6[ -]?(?:\d[ -]?){8}(?!\d)")),
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")),
    ("POSTCODE", re.compile(r"\b[1-9]\d{3}[ ]?[A-Z]{2}\b")),
    ("BSN", re.compile(r"(?<!\d)\d{9}(?!\d)")),
)


def _findings(text: str) -> list[tuple[str, str]]:
    try:
        from workbench.domain import privacy_patterns
        from workbench.domain.normalise import normalise
        from workbench.domain.privacy_context import context_findings
    except ImportError:
        return [(kind, m.group(0)) for kind, rx in _FALLBACK for m in rx.finditer(text)]
    # Detect on the normalised view (zero-width characters, full-width digits, "nul zes ...",
    # "(at)", lower-case names and streets), report the text as typed.
    view = normalise(text)
    found = privacy_patterns.find_patterns(view.text) + context_findings(view.text)
    spans = [(f.type, *view.span(f.start, f.end)) for f in found]
    spans += [("ADRES", *view.span(*m.span())) for m in _STREET.finditer(view.text)]
    return [(kind, text[start:end]) for kind, start, end in spans]


def personal_data_types(text: str, *, fictional_names: Iterable[str] = ()) -> list[str]:
    """The kinds of personal data `text` seems to hold (e.g. ["TELEFOON"]), sorted; [] if none."""
    allowed = {w.casefold() for name in fictional_names for w in re.findall(r"\w+", name)}
    kinds: set[str] = set()
    for kind, value in _findings(text):
        if kind not in WARN_TYPES:
            continue
        if kind == "PERSOON":
            words = [w for w in re.findall(r"\w+", value) if w.casefold() not in allowed]
            if len(words) < 2:
                continue
        kinds.add(kind)
    # A phone number also matches the catch-all digit run: say it once.
    if "NUMMER" in kinds and kinds & {"TELEFOON", "BSN", "IBAN"}:
        kinds.discard("NUMMER")
    return sorted(kinds)
