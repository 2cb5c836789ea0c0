"""Export formats as pure functions: plain (already scrubbed) examples in, records and bytes out.

No SQL and no file system here; `services/export.py` selects, scrubs and writes. Every builder
is deterministic: the same input in the same order gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar


class ExportFormat(StrEnum):
    openai_sft = "openai-sft"
    openai_dpo = "openai-dpo"
    trl_sft = "trl-sft"
    trl_dpo = "trl-dpo"
    fewshot = "fewshot"
    eval_set = "eval-set"
    table = "table"


# Formats with a train/validation split (the others are meant to be read whole).
SPLIT_FORMATS = frozenset({ExportFormat.openai_sft, ExportFormat.openai_dpo,
                           ExportFormat.trl_sft, ExportFormat.trl_dpo})
PREFERENCE_FORMATS = frozenset({ExportFormat.openai_dpo, ExportFormat.trl_dpo})

# A bot reply scored below this (or judged unsafe) is the rejected side of a DPO pair against
# the ideal reply; a reply the experts scored this high or better is not worth un-learning.
DEFAULT_REJECT_BELOW = 4.0
# Tokens ≈ words × 1.3 when no tokenizer is available offline: the usual rule of thumb for
# English BPE vocabularies (OpenAI's "1 token ≈ ¾ word"); Dutch runs a little higher.
WORDS_TO_TOKENS = 1.3
# Cells a spreadsheet would read as a formula (OWASP "CSV injection"); tab and CR too.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Msg:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class Example:
    """One curated reply, texts already scrubbed. `messages` come before the reply."""

    example_id: int
    conversation_id: int
    scenario_id: str | None
    scenario_tags: tuple[str, ...]
    tags: tuple[str, ...]
    state: str
    risk_level: str | None
    system: str | None
    messages: tuple[Msg, ...]
    bot_reply: str
    ideal_reply: str | None
    score: float | None
    unsafe: bool
    prompt_version_id: int | None = None
    rubric_version_id: int | None = None

    @property
    def record_id(self) -> str:
        return f"ex-{self.example_id}"

    @property
    def trainable(self) -> bool:
        """Has an ideal reply and a user message before it (chat formats need one)."""
        return bool(self.ideal_reply and self.ideal_reply.strip()
                    and any(m.role == "user" for m in self.messages))


@dataclass(frozen=True)
class Pair:
    """A preference pair: the same context, a chosen and a rejected assistant reply."""

    record_id: str  # "ex-<example id>" (ideal vs bot reply) or "pw-<turn a>-<turn b>"
    source: str  # "curated" | "pairwise"
    conversation_ids: tuple[int, ...]
    scenario_id: str | None
    system: str | None
    messages: tuple[Msg, ...]
    chosen: str
    rejected: str


def _context(system: str | None, messages: Iterable[Msg], weighted: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        rec: dict[str, Any] = {"role": m.role, "content": m.content}
        if weighted and m.role == "assistant":
            rec["weight"] = 0  # earlier bot turns are context, not something to learn
        out.append(rec)
    return out


def openai_sft(ex: Example) -> dict[str, Any]:
    """OpenAI chat fine-tuning: the ideal reply is the last (trained) assistant message."""
    if not ex.ideal_reply:
        raise ValueError(f"{ex.record_id}: no ideal reply")
    return {"messages": [*_context(ex.system, ex.messages, True),
                         {"role": "assistant", "content": ex.ideal_reply}]}


def trl_sft(ex: Example) -> dict[str, Any]:
    """TRL conversational SFT: `messages` only."""
    if not ex.ideal_reply:
        raise ValueError(f"{ex.record_id}: no ideal reply")
    return {"messages": [*_context(ex.system, ex.messages, False),
                         {"role": "assistant", "content": ex.ideal_reply}]}


def openai_dpo(pair: Pair) -> dict[str, Any]:
    """OpenAI preference fine-tuning (DPO)."""
    return {"input": {"messages": _context(pair.system, pair.messages, False)},
            "preferred_output": [{"role": "assistant", "content": pair.chosen}],
            "non_preferred_output": [{"role": "assistant", "content": pair.rejected}]}


def trl_dpo(pair: Pair) -> dict[str, Any]:
    """TRL conversational preference data with an explicit prompt."""
    return {"prompt": _context(pair.system, pair.messages, False),
            "chosen": [{"role": "assistant", "content": pair.chosen}],
            "rejected": [{"role": "assistant", "content": pair.rejected}]}


def eval_record(ex: Example) -> dict[str, Any]:
    """ragas SingleTurnSample fields (user_input, response, reference) plus where it came from.

    ragas ignores the extra keys; `messages` keeps the earlier turns for multi-turn replays.
    `retrieved_contexts` is left out: it is optional in ragas and this bot retrieves nothing.
    """
    last_user = next((m.content for m in reversed(ex.messages) if m.role == "user"), "")
    return {"id": ex.record_id, "scenario_id": ex.scenario_id or "",
            "user_input": last_user, "response": ex.bot_reply, "reference": ex.ideal_reply or "",
            "messages": [{"role": m.role, "content": m.content} for m in ex.messages]}


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def curated_pairs(examples: Iterable[Example], reject_below: float = DEFAULT_REJECT_BELOW
                  ) -> list[Pair]:
    """Ideal reply (chosen) against the bot's reply (rejected), where the experts scored the
    bot's reply below `reject_below` or judged it unsafe, and the two texts differ."""
    out = []
    for ex in examples:
        if not ex.trainable or _same(ex.ideal_reply or "", ex.bot_reply):
            continue
        if not (ex.unsafe or (ex.score is not None and ex.score < reject_below)):
            continue
        out.append(Pair(ex.record_id, "curated", (ex.conversation_id,), ex.scenario_id,
                        ex.system, ex.messages, ex.ideal_reply or "", ex.bot_reply))
    return out


# --- split ------------------------------------------------------------------------------------

T = TypeVar("T")


def split_keys(scenario_id: str | None, conversation_ids: Sequence[int]) -> list[str]:
    """What ties a record to others: its scenario and its conversation(s)."""
    keys = [f"conversation:{c}" for c in sorted(conversation_ids)]
    return [f"scenario:{scenario_id}", *keys] if scenario_id else keys


def _components(keys: Sequence[Sequence[str]]) -> list[str]:
    """For each item, the name of its group: items that share any key (transitively) share a
    group, so a conversation or scenario can never be on both sides. Union-find."""
    parent: dict[str, str] = {}

    def root(k: str) -> str:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for ks in keys:
        for k in ks[1:]:
            a, b = root(ks[0]), root(k)
            if a != b:
                parent[max(a, b)] = min(a, b)  # the smallest key names the group
    return [root(ks[0]) if ks else "" for ks in keys]


def split(items: Sequence[T], keys_of: Callable[[T], Sequence[str]],
          validation_fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """Train/validation by whole groups (see `_components`): groups are sorted, shuffled with
    `seed` and go to validation until it holds about `validation_fraction` of the items, so
    the database order does not matter. Item order within each side is kept."""
    if not 0 <= validation_fraction < 1:
        raise ValueError("validation_fraction must be in [0, 1)")
    group_of = _components([list(keys_of(i)) for i in items])
    sizes: dict[str, int] = {}
    for g in group_of:
        sizes[g] = sizes.get(g, 0) + 1
    groups = sorted(sizes)
    random.Random(seed).shuffle(groups)
    target = validation_fraction * len(items)
    val_groups: set[str] = set()
    taken = 0
    for g in groups:
        # Never empty the training side: with one group, everything is training data.
        if taken >= target or len(val_groups) + 1 >= len(groups):
            break
        val_groups.add(g)
        taken += sizes[g]
    train = [i for i, g in zip(items, group_of, strict=True) if g not in val_groups]
    val = [i for i, g in zip(items, group_of, strict=True) if g in val_groups]
    return train, val


# --- few-shot ---------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """Words × 1.3, rounded up: the documented fallback when no tokenizer file is at hand."""
    return math.ceil(len(text.split()) * WORDS_TO_TOKENS)


@dataclass(frozen=True)
class FewShot:
    text: str
    tokens: int
    example_ids: tuple[int, ...]
    per_tag: dict[str, int]


def _rank(ex: Example) -> tuple[int, float, int]:
    # Gold before accepted, then the experts' score of the conversation, then the oldest.
    return (0 if ex.state == "gold" else 1, -(ex.score if ex.score is not None else -1.0),
            ex.example_id)


def _block(ex: Example) -> str:
    question = next((m.content for m in reversed(ex.messages) if m.role == "user"), "")
    return (f"Vraag: {_one_line(question)}\nGoed antwoord: {_one_line(ex.ideal_reply or '')}\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def fewshot(examples: Iterable[Example], *, per_tag: int, token_budget: int,
            count_tokens: Callable[[str], int] = estimate_tokens) -> FewShot:
    """The `per_tag` best examples per scenario tag as a Markdown snippet for a system prompt.

    Tags are filled round-robin (every tag's best example before any tag's second), and an
    example that would break `token_budget` is skipped; an example with several tags appears
    once, under the first tag (alphabetical) it is picked for.
    """
    usable = [e for e in examples if e.trainable]
    by_tag: dict[str, list[Example]] = {}
    for ex in usable:
        for tag in sorted(set(ex.scenario_tags) or {"overig"}):
            by_tag.setdefault(tag, []).append(ex)
    for exs in by_tag.values():
        exs.sort(key=_rank)
    header = ("## Voorbeelden van goede antwoorden\n\nDeze voorbeelden zijn door experts en "
              "ervaringsdeskundigen gekozen of herschreven. Volg de toon en de aanpak, niet de "
              "letterlijke tekst.\n")
    used = count_tokens(header)
    picked: dict[str, list[Example]] = {tag: [] for tag in sorted(by_tag)}
    seen: set[int] = set()
    cursor = dict.fromkeys(by_tag, 0)
    for _ in range(per_tag):
        for tag in sorted(by_tag):
            while cursor[tag] < len(by_tag[tag]):
                ex = by_tag[tag][cursor[tag]]
                cursor[tag] += 1
                if ex.example_id in seen:
                    continue
                heading = 0 if picked[tag] else count_tokens(f"\n### {tag}\n\n")
                cost = count_tokens(_block(ex)) + heading
                if used + cost > token_budget:
                    continue
                picked[tag].append(ex)
                seen.add(ex.example_id)
                used += cost
                break
    parts = [header]
    for tag, exs in picked.items():
        if exs:
            parts.append(f"\n### {tag}\n\n" + "\n".join(_block(e) for e in exs))
    text = "".join(parts)
    return FewShot(text, count_tokens(text), tuple(sorted(seen)),
                   {tag: len(exs) for tag, exs in picked.items() if exs})


# --- bytes --------------------------------------------------------------------------------------


def jsonl_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    """One JSON object per line, UTF-8 (Dutch stays readable), LF line ends."""
    return b"".join(json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in records)


def neutralise(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """CSV (RFC 4180: CRLF line ends, so any field holding CR or LF is quoted) with a header,
    every text cell neutralised and None as an empty cell."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, list | tuple | dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return neutralise(value)


def text_leaves(node: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """(field path, text) of every string in a record, e.g. ("messages[2].content", "...")."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from text_leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from text_leaves(value, f"{path}[{i}]")
