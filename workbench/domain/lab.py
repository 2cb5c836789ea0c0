"""The prompt lab's rules, pure: what a candidate prompt text may be, its diff against the
current version, where a few-shot block goes in it, and which expectation checks flipped
between two runs."""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

MAX_PROMPT_CHARS = 50_000  # far above any useful system prompt; a paste accident stops here
MAX_REASON_CHARS = 2_000
MAX_LABEL_CHARS = 80
# The few-shot block sits between these lines, so a second insert replaces the first instead
# of stacking two blocks (and a reader of the prompt sees where it came from).
FEWSHOT_BEGIN = "<!-- voorbeelden uit de promptlab: begin -->"
FEWSHOT_END = "<!-- voorbeelden uit de promptlab: einde -->"


def text_problem(text: str, *, limit: int) -> str | None:
    """The catalogue key of what is wrong with a text a person typed, or None.

    A NUL is refused, not cleaned: in a system prompt it is always an accident, and a
    cleaned text would not be the one the person reviewed in the diff."""
    if not text.strip():
        return "lab.error.empty"
    if len(text) > limit:
        return "lab.error.too_long"
    if "\x00" in text:
        return "lab.error.nul"
    return None


def prompt_diff(current: str, candidate: str, *, current_name: str = "huidig",
                candidate_name: str = "kandidaat") -> str:
    """A unified diff of the candidate against the current text ('' when they are equal)."""
    lines = difflib.unified_diff(current.splitlines(), candidate.splitlines(),
                                 fromfile=current_name, tofile=candidate_name, lineterm="")
    return "\n".join(lines)


def with_fewshot(text: str, block: str) -> str:
    """`text` with `block` between the few-shot markers: in place of an earlier block, else
    appended after a blank line. An empty block removes an earlier one."""
    begin, end = text.find(FEWSHOT_BEGIN), text.find(FEWSHOT_END)
    if begin != -1 and end > begin:
        before, after = text[:begin].rstrip(), text[end + len(FEWSHOT_END):].lstrip("\n")
    else:
        before, after = text.rstrip(), ""
    if not block.strip():
        return before + ("\n\n" + after if after else "\n")
    inserted = f"{before}\n\n{FEWSHOT_BEGIN}\n{block.strip()}\n{FEWSHOT_END}\n"
    return inserted + ("\n" + after if after else "")


@dataclass(frozen=True)
class Flip:
    key: Hashable
    before: bool  # in the current version's run
    after: bool  # in the candidate's run

    @property
    def direction(self) -> str:
        return "pass_to_fail" if self.before and not self.after else "fail_to_pass"


def flips(before: Mapping[Hashable, bool | None], after: Mapping[Hashable, bool | None]
          ) -> list[Flip]:
    """The checks present on both sides, decided on both (a check only a person can judge is
    None), whose outcome differs, in the order of `before`."""
    out = []
    for key, a in before.items():
        b = after.get(key)
        if a is not None and b is not None and a != b:
            out.append(Flip(key, a, b))
    return out
