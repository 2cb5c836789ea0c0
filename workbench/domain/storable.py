"""Text that every database can store: no NUL characters and no lone surrogates.

PostgreSQL refuses a NUL in a text column, and no database driver can encode a lone surrogate
(U+D800-U+DFFF outside a pair) as UTF-8; a bot's reply carries either when a tokenizer or a
proxy breaks. Both become U+FFFD, visible to the people who read the reply, and what was
replaced is counted so that the stored row can say so (its provenance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPLACEMENT = "\ufffd"
NUL = "\x00"


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What `clean_text` replaced, by kind, to record with the row."""

    nul: int = 0
    lone_surrogates: int = 0

    def __bool__(self) -> bool:
        return bool(self.nul or self.lone_surrogates)

    def __add__(self, other: Cleaned) -> Cleaned:
        return Cleaned(self.nul + other.nul, self.lone_surrogates + other.lone_surrogates)

    def note(self) -> dict[str, Any]:
        """The provenance note: counts and what they were replaced with."""
        return {"nul": self.nul, "lone_surrogates": self.lone_surrogates,
                "replaced_with": "U+FFFD"}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean_text(text: str) -> tuple[str, Cleaned]:
    """`text` with each NUL and each lone surrogate replaced by U+FFFD, and their counts.

    A high and a low surrogate next to each other (as a UTF-16 decoder that missed a pair
    leaves them) are joined into the character they spell, which loses nothing."""
    nul = text.count(NUL)
    if not nul and (text.isascii() or _encodable(text)):  # the common case: scans in C
        return text, Cleaned()
    if nul:
        text = text.replace(NUL, REPLACEMENT)
    lone = 0
    if not _encodable(text):
        before = text.count(REPLACEMENT)
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        lone = text.count(REPLACEMENT) - before
    return text, Cleaned(nul, lone)


def clean_value(value: Any) -> tuple[Any, Cleaned]:
    """`clean_text` over every string (and mapping key) in a JSON-like value; the value itself
    when nothing needed cleaning."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        total, out = Cleaned(), {}
        for k, v in value.items():
            key, ck = clean_text(k) if isinstance(k, str) else (k, Cleaned())
            out[key], cv = clean_value(v)
            total = total + ck + cv
        return (out, total) if total else (value, total)
    if isinstance(value, list | tuple):
        total, items = Cleaned(), []
        for v in value:
            item, cv = clean_value(v)
            items.append(item)
            total = total + cv
        return (items, total) if total else (value, total)
    return value, Cleaned()


def has_unstorable(text: str) -> bool:
    """Whether `clean_text` would change `text`."""
    return NUL in text or (not text.isascii() and not _encodable(text))


def _needs_cleaning(value: Any) -> bool:
    """The allocation-free check in front of `clean_value`: almost every value passes it."""
    if isinstance(value, str):
        return has_unstorable(value)
    if isinstance(value, dict):
        return any((isinstance(k, str) and has_unstorable(k)) or _needs_cleaning(v)
                   for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_needs_cleaning(v) for v in value)
    return False


def clean_row(row: dict[str, Any], *, fields: tuple[str, ...] | None = None,
              note_field: str = "parameters") -> dict[str, Any]:
    """A row (column name -> value) with its text and JSON values cleaned (only `fields`, when
    given: the runner writes thousands of rows a minute); when anything was replaced,
    `row[note_field]["cleaned"]` says what (added to a note already there). The row itself
    when nothing needed cleaning."""
    names = [n for n in (row if fields is None else fields)
             if n in row and _needs_cleaning(row[n])]
    if not names:
        return row
    total, out = Cleaned(), dict(row)
    for name in names:
        out[name], cleaned = clean_value(row[name])
        total = total + cleaned
    note = dict(out.get(note_field) or {})
    before = note.get("cleaned") or {}
    note["cleaned"] = (total + Cleaned(int(before.get("nul", 0)),
                                       int(before.get("lone_surrogates", 0)))).note()
    out[note_field] = note
    return out
