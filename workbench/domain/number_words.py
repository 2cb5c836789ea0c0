"""Numbers spelled out in Dutch or English words, as a phone number or BSN is read aloud:
"nul zes, twaalf, vierendertig" and "zero six double one". Pure stdlib.

Only a run long enough to be an identifier is converted (7+ digits from 2+ number words), so
"een, twee, drie keer" and "ik heb twee kinderen" stay words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["NUMBER_WORDS", "NumberRun", "NumberToken", "spelled_number_runs", "word_digits"]

_UNITS_NL = "nul een twee drie vier vijf zes zeven acht negen".split()
_UNITS_EN = "zero one two three four five six seven eight nine".split()
_TEENS_NL = "tien elf twaalf dertien veertien vijftien zestien zeventien achttien negentien".split()
_TEENS_EN = (
    "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
)
_TENS_NL = "twintig dertig veertig vijftig zestig zeventig tachtig negentig".split()
_TENS_EN = "twenty thirty forty fifty sixty seventy eighty ninety".split()

# Every single word with its digits. "één" and "oh" (English, for 0) as people write them.
NUMBER_WORDS: dict[str, str] = {
    **{w: str(i) for i, w in enumerate(_UNITS_NL)},
    **{w: str(i) for i, w in enumerate(_UNITS_EN)},
    **{w: str(10 + i) for i, w in enumerate(_TEENS_NL)},
    **{w: str(10 + i) for i, w in enumerate(_TEENS_EN)},
    **{w: str(20 + 10 * i) for i, w in enumerate(_TENS_NL)},
    **{w: str(20 + 10 * i) for i, w in enumerate(_TENS_EN)},
    "één": "1",
    "oh": "0",
}
_REPEAT = {"dubbel": 2, "double": 2, "tripel": 3, "triple": 3}
# Dutch writes 21-99 as one word, unit first: "vierendertig", "drieëntwintig", "ééntwintig".
_COMPOUND_NL = re.compile(
    rf"(?P<unit>{'|'.join(_UNITS_NL[1:])}|één)(?:en|ën)(?P<tens>{'|'.join(_TENS_NL)})",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[^\W\d_]+|\d+")  # plain classes: far faster than a word alternation
_JOIN = re.compile(r"[ \t]*[,-][ \t]*|[ \t]+")
_ARTICLES = frozenset({"een", "one"})  # "een 06-nummer": an article, not a digit
MIN_DIGITS = 7
MIN_WORDS = 2


def word_digits(word: str) -> str | None:
    """The digits a single number word stands for ("twaalf" -> "12"), or None."""
    lower = word.casefold()
    if lower in NUMBER_WORDS:
        return NUMBER_WORDS[lower]
    if not lower.endswith("tig"):
        return None
    compound = _COMPOUND_NL.fullmatch(lower)
    if compound is None:
        return None
    unit = NUMBER_WORDS[compound["unit"]]
    return str(NUMBER_WORDS[compound["tens"]])[0] + unit


@dataclass(frozen=True, slots=True)
class NumberToken:
    """One word or digit group of a run, and the digits it stands for."""

    start: int
    end: int
    digits: str
    word: bool


@dataclass(frozen=True, slots=True)
class NumberRun:
    """Words and digit groups read as one number; the separators between them drop out."""

    start: int
    end: int
    tokens: tuple[NumberToken, ...]

    @property
    def digits(self) -> str:
        return "".join(t.digits for t in self.tokens)


def _tokens(text: str) -> list[list[tuple[int, int, str]]]:
    """Number words and digit groups, grouped into runs of neighbours joined by separators."""
    groups: list[list[tuple[int, int, str]]] = []
    last_end = -1
    for m in _TOKEN.finditer(text):
        raw = m.group()
        if not raw.isdigit() and raw.casefold() not in _REPEAT and word_digits(raw) is None:
            last_end = -1
            continue
        joined = last_end >= 0 and _JOIN.fullmatch(text, last_end, m.start()) is not None
        if not joined:
            groups.append([])
        groups[-1].append((m.start(), m.end(), raw))
        last_end = m.end()
    return groups


def _read(group: list[tuple[int, int, str]]) -> list[NumberToken]:
    """Digits per token: "double one" -> 11, English "twenty one" -> 21."""
    out: list[NumberToken] = []
    repeat = 1
    i = 0
    while i < len(group):
        start, end, raw = group[i]
        lower = raw.casefold()
        if lower in _REPEAT:
            repeat = _REPEAT[lower]
            i += 1
            continue
        digits = raw if raw.isdigit() else word_digits(raw) or ""
        if lower in _TENS_EN and i + 1 < len(group) and group[i + 1][2].casefold() in _UNITS_EN[1:]:
            end = group[i + 1][1]
            digits = digits[0] + NUMBER_WORDS[group[i + 1][2].casefold()]
            i += 1
        if repeat > 1 and len(digits) == 1:
            start = group[i - 1][0] if i > 0 else start
            digits *= repeat
        repeat = 1
        out.append(NumberToken(start, end, digits, not raw.isdigit()))
        i += 1
    return out


_TO_SPACE = str.maketrans({c: " " for c in "0123456789,.;:!?()[]{}<>/\\\"'-+*#@&%="})


def _enough_words(text: str) -> bool:
    """A cheap necessary condition (a tenth of the cost of tokenising): 2+ number words."""
    hits = 0
    for word in text.lower().translate(_TO_SPACE).split():
        if word in NUMBER_WORDS or word in _REPEAT or word.endswith("tig"):
            hits += 1
            if hits >= MIN_WORDS:
                return True
    return False


def spelled_number_runs(text: str) -> list[NumberRun]:
    """Runs of number words (mixed with digit groups) long enough to be a phone number or BSN."""
    if not _enough_words(text):
        return []
    runs = []
    for group in _tokens(text):
        tokens = _read(group)
        # A leading "een" before a digit group is the article ("een 06-nummer").
        while len(tokens) > 1 and tokens[0].word and not tokens[1].word and (
            text[tokens[0].start : tokens[0].end].casefold() in _ARTICLES
        ):
            tokens.pop(0)
        words = sum(t.word for t in tokens)
        if words >= MIN_WORDS and sum(len(t.digits) for t in tokens) >= MIN_DIGITS:
            runs.append(NumberRun(tokens[0].start, tokens[-1].end, tuple(tokens)))
    return runs
