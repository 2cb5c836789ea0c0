"""A normalised view of a text for PII detection, with a map from every view position back to
the original characters, so a finding on the view replaces exactly what the writer typed.

Three passes, each only where it changes something: characters (NFKC, format characters
dropped, any decimal digit to 0-9, dashes and spaces unified), numbers spelled out in Dutch or
English words to digits, and e-mail addresses written with words ("(at)", "punt") to `@`/`.`.
Pure stdlib.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from workbench.domain.number_words import spelled_number_runs

__all__ = ["MAIL_PROVIDERS", "Normalised", "normalise", "normalise_text"]


@dataclass(frozen=True, slots=True)
class Normalised:
    """`text` is the view; view character i stands for `original[starts[i]:ends[i]]`.

    `starts`/`ends` are None when the view equals the original (most texts), so the common case
    costs one comparison. Spans map monotonically, so non-overlapping findings on the view stay
    non-overlapping on the original.
    """

    original: str
    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind `text[start:end]` (a non-empty span)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


class _Builder:
    """Builds the next view from the current one, composing the maps back to the original."""

    def __init__(self, view: Normalised) -> None:
        self.view = view
        n = len(view.text)
        self._in_starts = view.starts if view.starts is not None else range(n)
        self._in_ends = view.ends if view.ends is not None else range(1, n + 1)
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def copy(self, i: int, j: int) -> None:
        """Keep view[i:j] as it is."""
        if i < j:
            self.parts.append(self.view.text[i:j])
            self.starts.extend(self._in_starts[i:j])
            self.ends.extend(self._in_ends[i:j])

    def put(self, new: str, i: int, j: int) -> None:
        """Write `new` for view[i:j]: every new character stands for the whole span."""
        if new:
            start, end = self._in_starts[i], self._in_ends[j - 1]
            self.parts.append(new)
            self.starts.extend([start] * len(new))
            self.ends.extend([end] * len(new))

    def result(self) -> Normalised:
        return Normalised(self.view.original, "".join(self.parts), tuple(self.starts),
                          tuple(self.ends))  # fmt: skip


# --- characters --------------------------------------------------------------------------------

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_COMBINING = frozenset({"Mn", "Mc", "Me"})


def _fold(cluster: str) -> str:
    """One base character with its combining marks, as the detectors should see it.

    Category Cf (U+00AD soft hyphen, U+200B zero-width space, U+2060 word joiner, U+FEFF BOM,
    bidi marks) is invisible and only hides a number or a word, so it goes. Every decimal digit
    (full-width, Arabic-Indic, mathematical bold) becomes its ASCII digit, which NFKC alone does
    not do for all scripts; dashes and spaces become "-" and " " so one pattern fits them all.
    """
    base = cluster[0]
    category = unicodedata.category(base)
    if category == "Cf":
        return unicodedata.normalize("NFKC", cluster[1:]) if len(cluster) > 1 else ""
    if category == "Nd":
        return str(unicodedata.decimal(base))
    if category == "Pd" or base == "\u2212":
        return "-"
    if category == "Zs":
        return " "
    return "".join(_fold_nfkc(c) for c in unicodedata.normalize("NFKC", cluster))


def _fold_nfkc(char: str) -> str:
    # NFKC can itself produce a digit or dash that needs the mapping above ("①" -> "1").
    category = unicodedata.category(char)
    if category == "Nd":
        return str(unicodedata.decimal(char))
    return "-" if category == "Pd" else char


def _is_stable(char: str) -> bool:
    category = unicodedata.category(char)
    return (
        char != "\u2212"
        and category not in ("Cf", "Nd", "Pd", "Zs")
        and unicodedata.is_normalized("NFKC", char)
        and category not in _COMBINING
    )


def _fold_characters(view: Normalised) -> Normalised:
    text = view.text
    odd = [m.start() for m in _NON_ASCII.finditer(text) if not _is_stable(m.group())]
    if not odd:
        return view
    out = _Builder(view)
    last = 0
    i = odd[0]
    while i < len(text):
        if text[i].isascii() or _is_stable(text[i]):
            i += 1
            continue
        # A mark belongs to the character before it: NFKC composes them together.
        start = i - 1 if unicodedata.category(text[i]) in _COMBINING and i > last else i
        end = i + 1
        while end < len(text) and unicodedata.category(text[end]) in _COMBINING:
            end += 1
        out.copy(last, start)
        out.put(_fold(text[start:end]), start, end)
        last = i = end
    out.copy(last, len(text))
    return out.result()


# --- numbers in words --------------------------------------------------------------------------


def _spelled_numbers(view: Normalised) -> Normalised:
    runs = spelled_number_runs(view.text)
    if not runs:
        return view
    out = _Builder(view)
    last = 0
    for run in runs:
        out.copy(last, run.start)
        for token in run.tokens:
            out.put(token.digits, token.start, token.end)
        last = run.end
    out.copy(last, len(view.text))
    return out.result()


# --- e-mail written with words -----------------------------------------------------------------

# Where the shape of an address results: a local part, an "at", a domain and a known top-level
# domain (or a well-known mail provider). Without that shape "at" and "punt" stay words, so
# "I was at school" and "dat is het punt" are untouched. A spaced "." counts only with spaces on
# both sides ("live . nl"), so "at work. de politie" is no address.
_OPEN, _CLOSE = r"[ \t]*[(\[{<][ \t]*", r"[ \t]*[)\]}>][ \t]*"
_AT = rf"(?:[ \t]*@[ \t]*|{_OPEN}(?:at|apenstaartje){_CLOSE}|[ \t]+(?:at|apenstaartje)[ \t]+)"
_DOT = rf"(?:\.|[ \t]+\.[ \t]+|{_OPEN}(?:dot|punt){_CLOSE}|[ \t]+(?:dot|punt)[ \t]+)"
_LABEL = r"[^\W_][\w+-]*"
_TLD = r"(?:nl|com|org|net|be|eu|de|fr|uk|info|io|me|biz|online|email)"
# Mail providers whose name alone makes an address: "sanne@gmail", "sanne apenstaartje hotmail".
MAIL_PROVIDERS = "gmail|hotmail|outlook|yahoo|icloud|ziggo|kpnmail|xs4all|protonmail|hetnet|msn"
_PROVIDER = f"(?:{MAIL_PROVIDERS})"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.@+-]){_LABEL}(?:{_DOT}{_LABEL})*{_AT}"
    rf"(?:(?:{_LABEL}{_DOT})+{_TLD}|{_PROVIDER})(?![\w@-]|\.\w)",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(rf"{_AT}|{_DOT}", re.IGNORECASE)
_AT_ONLY = re.compile(_AT, re.IGNORECASE)
_MAY_BE_EMAIL = re.compile(r"@|\b(?:at|apenstaartje)\b", re.IGNORECASE)


def _spelled_emails(view: Normalised) -> Normalised:
    text = view.text
    if _MAY_BE_EMAIL.search(text) is None:
        return view
    out = _Builder(view)
    last = 0
    for m in _SPELLED_EMAIL.finditer(text):
        for sep in _SEPARATOR.finditer(text, m.start(), m.end()):
            plain = "@" if _AT_ONLY.fullmatch(sep.group()) else "."
            if sep.group() != plain:
                out.copy(last, sep.start())
                out.put(plain, sep.start(), sep.end())
                last = sep.end()
    if last == 0:
        return view
    out.copy(last, len(text))
    return out.result()


def normalise(text: str) -> Normalised:
    """The view of `text` the detectors read; `.span()` maps a finding back (see module doc)."""
    view = Normalised(text, text)
    for step in (_fold_characters, _spelled_numbers, _spelled_emails):
        view = step(view)
    return view


def normalise_text(text: str) -> str:
    """Just the view: for keys that must agree however a value was written."""
    return normalise(text).text
