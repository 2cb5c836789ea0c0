"""Names and street addresses found from their context, in any case: "ik ben fatima el amrani",
"mijn ex heet dylan", "we wonen op de goyenstraat 21". deduce needs capitals; these do not.

The scrubber's first pass runs these on the normalised view next to deduce and the regexes.
"""

from __future__ import annotations

import re

from workbench.domain.privacy_names import NameLists, name_lists
from workbench.domain.privacy_patterns import Finding

__all__ = ["STREET_SUFFIXES", "context_findings", "name_findings", "street_findings"]

_RELATIVES = (
    "ex|vriend|vriendje|vriendin|man|vrouw|partner|vader|moeder|stiefvader|stiefmoeder|broer|zus"
    "|zoon|dochter|oom|tante|buurman|buurvrouw|neef|nicht|opa|oma|baas|leraar|juf|meester|mentor"
    "|collega|schoonmoeder|schoonvader|zwager|schoonzus|pooier|vader van mijn kinderen"
)
# After a strong cue any word is taken for a name unless it is a common word ("ik heet
# xiomara"); after a weak cue ("ik ben ...") only a first name from deduce's list is, so
# "ik ben bang" and "i am scared" stay.
_STRONG_CUE = re.compile(
    rf"\b(?:ik[ \t]+heet|mijn[ \t]+naam[ \t]+is|(?:hij|zij|ze)[ \t]+heet|my[ \t]+name[ \t]+is"
    rf"|i'?m[ \t]+called|(?:his|her)[ \t]+name[ \t]+is|(?:zijn|haar)[ \t]+naam[ \t]+is"
    rf"|(?:mijn|haar|zijn|onze|m'n)[ \t]+(?:{_RELATIVES})[ \t]+heet"
    rf"|(?:he|she)[ \t]+is[ \t]+called)[ \t]*[:,]?[ \t]+",
    re.IGNORECASE,
)
_WEAK_CUE = re.compile(
    r"\b(?:ik[ \t]+ben|i[ \t]+am|i'?m|noem[ \t]+me|call[ \t]+me|dit[ \t]+is|this[ \t]+is)"
    r"[ \t]+",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_GAP = re.compile(r"[ \t]+")


def _word_at(text: str, pos: int) -> re.Match[str] | None:
    m = _NAME_WORD.match(text, pos)
    return m if m and not text[m.end() : m.end() + 1].isdigit() else None


def _interfix_at(text: str, pos: int, lists: NameLists) -> int | None:
    """The end of a tussenvoegsel ("van der ", "el ") starting at `pos`, space included."""
    lower = text[pos : pos + 12].casefold()
    for interfix in lists.interfixes:
        if lower.startswith(interfix) and (gap := _GAP.match(text, pos + len(interfix))):
            return gap.end()
    return None


def _full_name(text: str, start: int, lists: NameLists, *, strong: bool) -> tuple[int, int] | None:
    """The span of a first name (and surname, with tussenvoegsel) starting at `start`."""
    first = _word_at(text, start)
    if first is None:
        return None
    word = first.group()
    lower = word.casefold()
    if strong:
        if lower in lists.common or len(word) < 2:
            return None
    elif not lists.is_first_name(word) or lower in lists.chat:
        return None
    end = first.end()
    gap = _GAP.match(text, end)
    if gap is None:
        return start, end
    after_interfix = _interfix_at(text, gap.end(), lists)
    surname = _word_at(text, after_interfix or gap.end())
    if surname is not None and lists.is_surname(surname.group()):
        return start, surname.end()
    return start, end


def name_findings(text: str, lists: NameLists | None = None) -> list[Finding]:
    """Names after "ik ben", "ik heet", "mijn ex heet", "my name is" and the like, any case."""
    lists = lists or name_lists()
    found = []
    lower = text.lower()
    # Substring tests are a hundredth of the cost of the cue regexes, which most texts fail.
    strong_hint = any(k in lower for k in ("heet", "naam", "name", "called"))
    weak_hint = any(k in lower for k in ("ben", "am", "'m", "im", "noem", "call", "is"))
    for cue, strong, hint in ((_STRONG_CUE, True, strong_hint), (_WEAK_CUE, False, weak_hint)):
        if not hint:
            continue
        for m in cue.finditer(text):
            span = _full_name(text, m.end(), lists, strong=strong)
            if span is not None:
                found.append(Finding("PERSOON", *span, text[span[0] : span[1]]))
    return found


STREET_SUFFIXES = (
    "straat", "laan", "weg", "plein", "gracht", "kade", "singel", "dijk", "hof", "steeg", "pad",
    "dreef", "plantsoen", "straatje", "laantje", "pleintje",
)  # fmt: skip
# Words with a street suffix that are ordinary nouns ("over de snelweg 130 km").
_NOT_STREETS = frozenset(
    """snelweg autoweg spoorweg rijweg zijweg uitweg omweg onderweg halfweg heenweg terugweg
    thuisweg fietspad voetpad wandelpad zandpad tuinpad schoolplein speelplein marktplein
    kerkhof binnenhof gerechtshof hof plein weg straat laan pad""".split()
)
_HOUSE_NUMBER = r"\d{1,4}(?:[ \t]?[a-zA-Z](?![\w])|-\d{1,3}(?!\d)|-?[a-zA-Z]{2}(?![\w]))?"
# A number followed by a unit or a count is no house number ("schoolplein 2 keer").
_NOT_HOUSE = (
    r"(?![ \t]*(?:km|kilometer|m|meter|keer|x|uur|u|min|minuten|sec|seconden|jaar|dagen|weken"
    r"|maanden|euro|eur|%|procent|kg|cm|graden|stuks|mensen|kinderen)\b)"
)
# Found from the suffix and the number after it, then extended back to the start of the word:
# scanning every word for a suffix would cost more than all other recognisers together.
_TAIL = rf"(?:{'|'.join(STREET_SUFFIXES)})[ \t]+{_HOUSE_NUMBER}{_NOT_HOUSE}(?!\d)"
# Run case-sensitively on the lower-cased text (three times faster: re can scan for the
# literals); IGNORECASE only where lower-casing changes the length ("İ").
_STREET_TAIL_LOWER = re.compile(_TAIL)
_STREET_TAIL = re.compile(_TAIL, re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_WORD_BEFORE = re.compile(r"(?:[^\W\d_]+-)*[^\W\d_]+$")
# "we wonen aan de dam 7": a street without a suffix, found from the verb before it.
_LIVES_AT = re.compile(
    r"\b(?:woon|woont|wonen|woonde|woonden|verblijf|verblijft|verblijven|mijn[ \t]+adres[ \t]+is)"
    r"[ \t]+(?:nu[ \t]+|al[ \t]+|sinds[ \t]+kort[ \t]+)?(?:op|aan)[ \t]+(?:de|het|'t)[ \t]+"
    rf"((?:[^\W\d_]{{2,}}[ \t]+){{1,3}}{_HOUSE_NUMBER}){_NOT_HOUSE}(?!\d)",
    re.IGNORECASE,
)
_POSTCODE_CUE = re.compile(r"\bpostcode[ \t]*(?:is[ \t]+|:[ \t]*)?([1-9]\d{3}[ \t]?[a-zA-Z]{2})\b",
                           re.IGNORECASE)  # fmt: skip


def street_findings(text: str, lists: NameLists | None = None) -> list[Finding]:
    """Street + house number in any case ("goyenstraat 21"), and a postcode after "postcode"."""
    if _DIGIT.search(text) is None:
        return []
    found = []
    lower = text.lower()
    same = len(lower) == len(text)
    for m in (_STREET_TAIL_LOWER.finditer(lower) if same else _STREET_TAIL.finditer(text)):
        suffix_end = m.start() + len(m.group().split(None, 1)[0])
        word = _WORD_BEFORE.search(text, max(0, m.start() - 60), suffix_end)
        if word is None or word.start() > m.start() - 2:
            continue  # the suffix must follow at least two letters: "weg 12" alone is no street
        if word.group().casefold() not in _NOT_STREETS:
            found.append(Finding("ADRES", word.start(), m.end(), text[word.start() : m.end()]))
    common = (lists or name_lists()).common
    cued = any(k in lower for k in ("won", "verblijf", "adres"))
    for m in _LIVES_AT.finditer(text) if cued else ():
        words = m.group(1).split()[:-1]
        if not any(w.casefold() in common for w in words):
            found.append(Finding("ADRES", m.start(1), m.end(1), m.group(1)))
    if "postcode" in lower:
        found += [Finding("POSTCODE", *m.span(1), m.group(1)) for m in _POSTCODE_CUE.finditer(text)]
    return found


def context_findings(text: str) -> list[Finding]:
    """Every context finding in `text`, overlaps included (the scrubber merges them)."""
    lists = name_lists()
    return name_findings(text, lists) + street_findings(text, lists)
