"""A gentle check, before a role-play message is sent, for what looks like real personal data.

Uses the workbench's Dutch PII detector: its regexes (phone, e-mail, postcode, BSN, IBAN,
kenteken, dates, handles) always, and deduce's names and addresses once deduce has been loaded
in the background (loading takes seconds; a message is never held up for it). Role-play names
are invented, so a lone first name or the persona's own name is not flagged; a full name is.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

log = logging.getLogger(__name__)

# Types worth a warning; places and ages are fine to mention in a role-play.
WARN_TYPES = frozenset({"PERSOON", "ADRES", "POSTCODE", "TELEFOON", "EMAIL", "BSN", "IBAN",
                        "KENTEKEN", "DATUM", "HANDLE", "NUMMER"})
_STREET = re.compile(
    r"\b[A-Z][a-z]+(?:straat|laan|weg|plein|gracht|kade|dijk|singel|hof|pad|steeg|park)"
    r"[ \t]+\d{1,4}[ \t]?[a-zA-Z]?\b")
_FALLBACK = (  # used only when the privacy module is not importable
    ("TELEFOON", re.compile(r"(?<!\d)(?:\+31|0031|0)[ -]?6[ -]?(?:\d[ -]?){8}(?!\d)")),
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")),
    ("POSTCODE", re.compile(r"\b[1-9]\d{3}[ ]?[A-Z]{2}\b")),
    ("BSN", re.compile(r"(?<!\d)\d{9}(?!\d)")),
)

_ready = threading.Event()
_started = threading.Lock()
_warming = False


def warm_up() -> None:
    """Load deduce in a background thread (once per process)."""
    global _warming
    with _started:
        if _warming:
            return
        _warming = True

    def load() -> None:
        try:
            from workbench.domain.privacy import get_scrubber

            get_scrubber().load()
            _ready.set()
        except Exception:  # the regexes still work; the check is a courtesy, not a gate
            log.exception("deduce could not be loaded; names are not checked in role-play")

    threading.Thread(target=load, name="pii-warm-up", daemon=True).start()


def _findings(text: str) -> list[tuple[str, str]]:
    try:
        from workbench.domain import privacy_patterns
    except ImportError:
        return [(kind, m.group(0)) for kind, rx in _FALLBACK for m in rx.finditer(text)]
    found = [(f.type, f.text) for f in privacy_patterns.find_patterns(text)]
    found += [("ADRES", m.group(0)) for m in _STREET.finditer(text)]
    if _ready.is_set():
        from workbench.domain.privacy import get_scrubber

        found += [(f.type, f.text) for f in get_scrubber().find(text)]
    return found


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
