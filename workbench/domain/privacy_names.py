"""deduce's own name lists, casefolded, for names written in lower case ("ik ben fatima").

deduce matches names case-sensitively, so "fatima el amrani" slips through it. These sets come
straight from deduce's source lists (items minus exceptions, as deduce reads them), not from its
built lookup structures, so they load in a fraction of a second without building deduce.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["NOT_NAMES", "NameLists", "name_lists"]

# Words that follow "ik heet" / "my name is" without being a name ("ik heet eigenlijk ...").
NOT_NAMES = frozenset(
    """eigenlijk niet geen echt gewoon anders dus zo ook nog maar not just really actually also
    still so none nobody unimportant secret geheim whatever""".split()
)

# Words that deduce lists as first names but that follow "i am" / "ik ben" as ordinary words in
# a chat ("i am fine", "i am just scared"). Measured against a list of the words that follow
# these cues in chat; only used after those weak cues, so "my name is Grace" is still a name.
_CHAT_WORDS = frozenset(
    """fine just done frank hope may will grace joy faith rose sunny summer dawn sky star angel
    lucky honey happy""".split()
)


@dataclass(frozen=True, slots=True)
class NameLists:
    """Casefolded sets: first names and surnames minus deduce's whitelist of common words."""

    first: frozenset[str]
    surname: frozenset[str]  # includes the surnames deduce keeps for after an interfix
    interfixes: tuple[str, ...]  # "van der", "el", ...: longest first, for greedy matching
    common: frozenset[str]  # deduce's whitelist: stop words, frequent words, medical terms
    stop: frozenset[str]  # deduce's stop words only ("en", "zijn", "maar")
    chat: frozenset[str] = _CHAT_WORDS

    def is_first_name(self, word: str) -> bool:
        lower = word.casefold()
        return lower in self.first and lower not in self.common

    def is_surname(self, word: str) -> bool:
        """After a first name a frequent word can still be a surname ("sanne bakker"); a stop
        word ("sanne en ...") cannot."""
        lower = word.casefold()
        return lower in self.surname and lower not in self.stop


def _items(folder: Traversable) -> set[str]:
    def read(name: str) -> set[str]:
        try:
            text = (folder / name).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return set()
        return {line.strip().casefold() for line in text.splitlines() if line.strip()}

    found = read("items.txt") - read("exceptions.txt")
    for sub in folder.iterdir():
        if sub.name.startswith("lst_") and sub.is_dir():
            found |= _items(sub)
    return found


@functools.lru_cache(maxsize=1)
def name_lists() -> NameLists:
    """The lists, read once per process (about 0.1 s)."""
    src = files("deduce") / "data" / "lookup" / "src"
    names, whitelist = src / "names", src / "whitelist"
    stop = _items(whitelist / "lst_stop_word")
    common = stop | _items(whitelist / "lst_common_word") | _items(whitelist / "lst_medical_term")
    first = {n for n in _items(names / "lst_first_name") if len(n) >= 2}
    surname = _items(names / "lst_surname") | _items(names / "lst_interfix_surname")
    interfixes = sorted(_items(names / "lst_interfix"), key=len, reverse=True)
    return NameLists(
        first=frozenset(first - common),
        surname=frozenset(surname),
        interfixes=tuple(i for i in interfixes if i[-1].isalpha() and "/" not in i),
        common=frozenset(common | NOT_NAMES),
        stop=frozenset(stop),
    )
