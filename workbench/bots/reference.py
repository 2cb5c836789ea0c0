"""The offline reference bot: deterministic Dutch replies from a small curated knowledge base.

No language model: safety rules first (acute danger -> 112, suicidality -> 113, a child writing ->
Kindertelefoon), then keyword matching to one entry of `reference_kb.yaml`. It is the embedded
default so that a training day works without any network, and an honest baseline to beat.

The system prompt steers it deterministically through optional `key: value` lines (any case):

    groet: <text>        (or greeting:)  replaces the greeting on the first turn
    afsluiting: <text>   (or sign_off:)  appended to every reply
    stijl: kort | standaard | uitgebreid   (or style: short | standard | long)
        kort drops the greeting; uitgebreid adds the entry's extra paragraph.

Everything else in the system prompt is ignored, so two prompt versions only differ in the
reference bot's replies when these lines differ.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from workbench.bots.base import BaseBot, ReplyRequest, StreamMeta, split_words
from workbench.domain.enums import BotKind, TurnRole
from workbench.i18n import LANGUAGES, translate

MODEL_NAME = "reference-v1"

# The notice that this bot is an offline baseline, in the one catalogue (i18n/bots.yaml).
BASELINE_LABEL: dict[str, str] = {lang: translate("bots.baseline_label", lang)
                                  for lang in LANGUAGES}

STYLES = ("kort", "standaard", "uitgebreid")
_STYLE_ALIASES = {"short": "kort", "standard": "standaard", "long": "uitgebreid"}
_SETTING_LINE = re.compile(
    r"^\s*(groet|greeting|afsluiting|sign[_-]off|stijl|style)\s*:\s*(.+?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


def normalize(text: str) -> str:
    """Lower-case, drop accents and curly quotes, collapse whitespace: what cues are matched on."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.split())


def _compile(cues: list[str]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(c if c.startswith("^") else r"\b" + c) for c in cues)


@dataclass(frozen=True)
class Trigger:
    """A safety rule: fires on any single cue, or when every `all_of` group has a match."""

    id: str
    cues: tuple[re.Pattern[str], ...]
    all_of: tuple[tuple[re.Pattern[str], ...], ...]
    line: str

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trigger:
        groups = tuple(_compile(group) for group in raw.get("all_of", []))
        return cls(raw.get("id", ""), _compile(raw.get("cues", [])), groups, raw.get("line", ""))

    def fires(self, text: str) -> bool:
        if any(p.search(text) for p in self.cues):
            return True
        return bool(self.all_of) and all(
            any(p.search(text) for p in group) for group in self.all_of
        )


@dataclass(frozen=True)
class Entry:
    """One topic the bot can answer: cues to recognise it and the texts to reply with."""

    id: str
    cues: tuple[re.Pattern[str], ...]
    weight: int
    validate: str
    reply: str
    more: str
    step: str
    generic: bool  # a child writing gets the child entry instead of this one
    transparent: bool  # the reply itself says the bot is an AI

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Entry:
        return cls(
            id=raw["id"],
            cues=_compile(raw.get("cues", [])),
            weight=int(raw.get("weight", 1)),
            validate=raw.get("validate", ""),
            reply=raw["reply"],
            more=raw.get("more", ""),
            step=raw.get("step", ""),
            generic=bool(raw.get("generic", False)),
            transparent=bool(raw.get("transparent", False)),
        )

    def score(self, text: str) -> int:
        return self.weight * sum(1 for p in self.cues if p.search(text))


@dataclass(frozen=True)
class KnowledgeBase:
    version: str
    texts: dict[str, str]
    acute: tuple[Trigger, ...]
    suicide: Trigger
    child_writer: Trigger
    entries: tuple[Entry, ...]
    fallback: Entry

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> KnowledgeBase:
        safety = raw["safety"]
        fallback = {"id": "fallback", **raw["fallback"]}
        return cls(
            version=raw["version"],
            texts=dict(raw["texts"]),
            acute=tuple(Trigger.from_dict(t) for t in safety["acute"]),
            suicide=Trigger.from_dict({"id": "suicide", **safety["suicide"]}),
            child_writer=Trigger.from_dict({"id": "child_writer", **safety["child_writer"]}),
            entries=tuple(Entry.from_dict(e) for e in raw["entries"]),
            fallback=Entry.from_dict(fallback),
        )

    def entry(self, entry_id: str) -> Entry:
        return next(e for e in self.entries if e.id == entry_id)

    def best_entry(self, text: str) -> Entry | None:
        best: Entry | None = None
        best_score = 0
        for entry in self.entries:  # strict '>' keeps the earlier entry on a tie
            if (score := entry.score(text)) > best_score:
                best, best_score = entry, score
        return best


@functools.cache
def load_knowledge_base() -> KnowledgeBase:
    """The knowledge base shipped with the package (parsed once per process)."""
    raw = resources.files("workbench.bots").joinpath("reference_kb.yaml").read_text("utf-8")
    return KnowledgeBase.from_dict(yaml.safe_load(raw))


@dataclass(frozen=True)
class PromptSettings:
    """What the reference bot takes from a system prompt (see the module docstring)."""

    greeting: str | None = None
    sign_off: str | None = None
    style: str = "standaard"

    @classmethod
    def parse(cls, system_prompt: str) -> PromptSettings:
        found: dict[str, str] = {}
        for key, value in _SETTING_LINE.findall(system_prompt):
            key = key.lower()
            name = {"groet": "greeting", "afsluiting": "sign_off", "stijl": "style"}.get(key, key)
            found.setdefault(name.replace("-", "_"), value)  # the first line for a key wins
        style = found.get("style", "standaard").lower()
        style = _STYLE_ALIASES.get(style, style)
        return cls(
            greeting=found.get("greeting"),
            sign_off=found.get("sign_off"),
            style=style if style in STYLES else "standaard",
        )


class ReferenceBot(BaseBot):
    """Deterministic, offline, Dutch: same request in, same reply out."""

    kind = BotKind.reference
    model = MODEL_NAME

    def __init__(self, *, knowledge_base: KnowledgeBase | None = None) -> None:
        self.kb = knowledge_base or load_knowledge_base()
        self.parameters = {"knowledge_base": self.kb.version}

    def __repr__(self) -> str:
        return f"ReferenceBot(knowledge_base={self.kb.version!r})"

    def _iter_chunks(self, request: ReplyRequest, meta: StreamMeta) -> Iterator[str]:
        # Token counts stay None: there is no tokenizer, and word counts would mislead.
        yield from split_words(self.reply_text(request))

    def _provenance_parameters(self, request: ReplyRequest) -> dict[str, Any]:
        return {**self.parameters, "style": PromptSettings.parse(request.system_prompt).style}

    def reply_text(self, request: ReplyRequest) -> str:
        """The whole reply for `request`, as one string."""
        settings = PromptSettings.parse(request.system_prompt)
        user_texts = [normalize(t) for t in request.user_texts()]
        latest = user_texts[-1] if user_texts else ""
        earlier_replies = [
            m["content"] for m in request.messages if m["role"] == TurnRole.assistant
        ]
        first_turn = not earlier_replies
        texts = self.kb.texts

        child = any(self.kb.child_writer.fires(t) for t in user_texts)
        acute = [t for t in self.kb.acute if t.fires(latest)]
        suicidal = self.kb.suicide.fires(latest)

        parts: list[str] = []
        if acute:
            # 112 before anything else, then only what helps right now.
            parts.append(texts["acute_opener"])
            parts.extend(t.line for t in acute)
            if suicidal:
                parts.append(self.kb.suicide.line)
            if child:
                parts.append(texts["child_line"])
            parts.append(texts["acute_after"])
            if first_turn:
                parts.append(texts["transparency"])
            parts.append(texts["acute_step"])
        else:
            entry = self._choose_entry(latest, child)
            if first_turn and settings.style != "kort":
                parts.append(settings.greeting or texts["greeting"])
            if suicidal:
                parts += [texts["suicide_validate"], self.kb.suicide.line]
            if not (suicidal and entry is self.kb.fallback):  # the 113 line is the answer then
                parts.extend(self._entry_parts(entry, settings, earlier_replies, suicidal))
            if child and "0800-0432" not in " ".join(parts):
                parts.append(texts["child_line"])
            if first_turn and not entry.transparent:
                parts.append(texts["transparency"])
            step = texts["suicide_step"] if suicidal else entry.step
            if step and _already_said(step, earlier_replies):
                step = self.kb.fallback.step
            parts.append(step)
        if settings.sign_off:
            parts.append(settings.sign_off)
        return " ".join(p for p in parts if p)

    def _choose_entry(self, text: str, child: bool) -> Entry:
        entry = self.kb.best_entry(text)
        if child and (entry is None or entry.generic):
            return self.kb.entry("child_writer")
        return entry or self.kb.fallback

    def _entry_parts(
        self, entry: Entry, settings: PromptSettings, earlier: list[str], suicidal: bool
    ) -> list[str]:
        """Validation, the answer and (style `uitgebreid`) more; moves on instead of repeating."""
        if not _already_said(entry.reply, earlier):
            parts = [entry.validate, entry.reply]
            if settings.style == "uitgebreid" and not suicidal:
                parts.append(entry.more)
            return parts
        if entry.more and not _already_said(entry.more, earlier):
            return [entry.more]
        return [self.kb.fallback.reply]


def _already_said(text: str, earlier_replies: list[str]) -> bool:
    return any(text in reply for reply in earlier_replies)
