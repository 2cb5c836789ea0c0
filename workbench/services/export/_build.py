"""From selected rows to the files of one export: scrub (in a fixed order), build the records
of the format, split, and run every output text through the gate. Nothing is written here.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.domain import export_formats as ef
from workbench.domain.export_formats import Example, ExportFormat, Msg, Pair
from workbench.services.export._examples import ExportExample
from workbench.services.export._scrub import Gate, ScrubSession
from workbench.services.export._select import PairwiseSelection, RatingSelection

INDEX_COLUMNS = ("file", "line", "record_id", "source", "state", "scenario_id",
                 "conversation_ids")
RATING_COLUMNS = (
    "rating_id", "turn_id", "conversation_id", "conversation_kind", "training_day_id",
    "scenario_id", "scenario_tags", "risk_level", "prompt_version_id", "prompt_label",
    "rubric_id", "rubric_version", "rubric_version_id", "rater_id", "rater_group", "source",
    "overall", "unsafe", "unsafe_flag", "curated_state", "curated_tags", "submitted_at",
    "time_spent_s", "comment", "unsafe_span", "ideal_reply",
)
RATING_TEXT_COLUMNS = ("comment", "unsafe_span", "ideal_reply")


@dataclass(frozen=True)
class BuildSettings:
    validation_fraction: float
    seed: int
    reject_below: float
    include_pairwise: bool
    fewshot_per_tag: int
    fewshot_token_budget: int
    count_tokens: Callable[[str], int]
    token_counter: str


@dataclass
class Built:
    files: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] | None = None
    rubric_version_ids: set[int] = field(default_factory=set)
    prompt_version_ids: set[int] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)
    example_ids: tuple[int, ...] = ()  # few-shot: the examples in the snippet (for the lab)


# --- scrubbing in a fixed order ----------------------------------------------------------------


def scrub_examples(selected: Sequence[ExportExample], ss: ScrubSession) -> list[Example]:
    """Scrubbed domain examples in example id order. Within a conversation, texts are scrubbed
    in reading order (earlier replies first), so [PERSOON-1] is whoever is named first."""
    order = sorted(selected, key=lambda e: (e.conversation_id, len(e.messages), e.example_id))
    out = []
    for ex in order:
        key = ex.conversation_id
        msgs = tuple(Msg(m.role, ss.text(key, m.content)) for m in ex.messages)
        reply = ss.text(key, ex.bot_reply)
        ideal = ss.optional(key, ex.ideal_reply)
        system = ss.optional(("prompt", ex.prompt_version_id), ex.system_prompt)
        out.append(Example(
            example_id=ex.example_id, conversation_id=ex.conversation_id,
            scenario_id=ex.scenario_id, scenario_tags=tuple(ex.scenario_tags),
            tags=tuple(ex.tags), state=str(ex.state), risk_level=ex.risk_level, system=system,
            messages=msgs, bot_reply=reply, ideal_reply=ideal, score=ex.score, unsafe=ex.unsafe,
            prompt_version_id=ex.prompt_version_id, rubric_version_id=ex.rubric_version_id))
    return sorted(out, key=lambda e: e.example_id)


def scrub_pairs(selected: Sequence[PairwiseSelection], ss: ScrubSession) -> list[Pair]:
    """Pairwise pairs, scrubbed in the winner's conversation context (one record, one
    numbering), in (turn a, turn b) order."""
    out = []
    for p in sorted(selected, key=lambda p: (p.turn_a_id, p.turn_b_id)):
        key = p.winner_conversation_id
        msgs = tuple(Msg(m.role, ss.text(key, m.content)) for m in p.messages)
        out.append(Pair(
            record_id=f"pw-{p.turn_a_id}-{p.turn_b_id}", source="pairwise",
            conversation_ids=tuple(sorted({p.winner_conversation_id, p.loser_conversation_id})),
            scenario_id=p.scenario_id,
            system=ss.optional(("prompt", p.prompt_version_id), p.system_prompt),
            messages=msgs, chosen=ss.text(key, p.chosen), rejected=ss.text(key, p.rejected)))
    return out


def texts_of(examples: Iterable[ExportExample], pairs: Iterable[PairwiseSelection] = (),
             ratings: Iterable[RatingSelection] = ()) -> list[str]:
    """Every text an export may scrub (for the pool's prefetch)."""
    out: list[str] = []
    for e in examples:
        out += [m.content for m in e.messages] + [e.bot_reply, e.ideal_reply or "",
                                                   e.system_prompt or ""]
    for p in pairs:
        out += [m.content for m in p.messages] + [p.chosen, p.rejected, p.system_prompt or ""]
    for r in ratings:
        out += [r.comment or "", r.unsafe_span or "", r.ideal_reply or ""]
    return out


# --- formats -------------------------------------------------------------------------------------


def _tally(items: Iterable[tuple[str | None, Sequence[str], Sequence[str], str]]
           ) -> dict[str, Any]:
    """Counts per scenario, scenario tag (form of violence), curator tag and state."""
    scen: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    ctags: Counter[str] = Counter()
    states: Counter[str] = Counter()
    n = 0
    for scenario, scenario_tags, curator_tags, state in items:
        n += 1
        scen[scenario or "(none)"] += 1
        tags.update(scenario_tags)
        ctags.update(curator_tags)
        states[state] += 1
    return {"records": n, "by_scenario": dict(sorted(scen.items())),
            "by_tag": dict(sorted(tags.items())), "by_curator_tag": dict(sorted(ctags.items())),
            "by_state": dict(sorted(states.items()))}


def _jsonl_split(built: Built, gate: Gate, items: Sequence[Any], record: Callable[[Any], dict],
                 meta: Callable[[Any], tuple[str, str, str, str]], bs: BuildSettings) -> None:
    def keys(item: Example | Pair) -> list[str]:
        return ef.split_keys(item.scenario_id, _convs(item))

    train, val = ef.split(items, keys, bs.validation_fraction, bs.seed)
    index: list[dict[str, Any]] = []
    for name, part in (("train.jsonl", train), ("validation.jsonl", val)):
        records = []
        for line, item in enumerate(part, start=1):
            rec = record(item)
            rid, source, state, scenario = meta(item)
            for path, text in ef.text_leaves(rec):
                gate.check(name, rid, path, text)
            records.append(rec)
            index.append({"file": name, "line": line, "record_id": rid, "source": source,
                          "state": state, "scenario_id": scenario,
                          "conversation_ids": " ".join(map(str, _convs(item)))})
        built.files[name] = ef.jsonl_bytes(records)
    built.files["index.csv"] = ef.csv_bytes(index, INDEX_COLUMNS)
    built.split = {
        "by": "scenario and conversation: no scenario or conversation is on both sides",
        "seed": bs.seed, "validation_fraction": bs.validation_fraction,
        "train": len(train), "validation": len(val),
        "train_scenarios": sorted({i.scenario_id for i in train if i.scenario_id}),
        "validation_scenarios": sorted({i.scenario_id for i in val if i.scenario_id}),
    }


def _convs(item: Example | Pair) -> tuple[int, ...]:
    return (item.conversation_id,) if isinstance(item, Example) else item.conversation_ids


def build_sft(fmt: ExportFormat, examples: list[Example], gate: Gate, bs: BuildSettings
              ) -> Built:
    usable = [e for e in examples if e.trainable]
    built = Built(counts=_tally((e.scenario_id, e.scenario_tags, e.tags, e.state)
                                for e in usable))
    built.counts["skipped"] = _skipped(examples)
    record = ef.openai_sft if fmt == ExportFormat.openai_sft else ef.trl_sft
    _jsonl_split(built, gate, usable, record,
                 lambda e: (e.record_id, "curated", e.state, e.scenario_id or ""), bs)
    _versions(built, usable)
    return built


def build_dpo(fmt: ExportFormat, examples: list[Example], pairs: list[Pair], gate: Gate,
              bs: BuildSettings) -> Built:
    curated = ef.curated_pairs(examples, bs.reject_below)
    chosen = curated + (pairs if bs.include_pairwise else [])
    by_id = {e.record_id: e for e in examples}

    def meta(p: Pair) -> tuple[str | None, Sequence[str], Sequence[str], str]:
        ex = by_id.get(p.record_id) if p.source == "curated" else None
        return (p.scenario_id, ex.scenario_tags if ex else (), ex.tags if ex else (),
                ex.state if ex else "pairwise")

    built = Built(counts=_tally(meta(p) for p in chosen))
    built.counts["from_curated"] = len(curated)
    built.counts["from_pairwise"] = len(chosen) - len(curated)
    built.counts["skipped"] = {"curated_without_pair": len(examples) - len(curated)}
    record = ef.openai_dpo if fmt == ExportFormat.openai_dpo else ef.trl_dpo
    _jsonl_split(built, gate, chosen, record,
                 lambda p: (p.record_id, p.source, str(meta(p)[3]), p.scenario_id or ""), bs)
    _versions(built, [by_id[p.record_id] for p in curated])
    built.extra["reject_below"] = bs.reject_below
    return built


def build_eval(examples: list[Example], gate: Gate) -> Built:
    usable = [e for e in examples if e.trainable]
    built = Built(counts=_tally((e.scenario_id, e.scenario_tags, e.tags, e.state)
                                for e in usable))
    built.counts["skipped"] = _skipped(examples)
    records = [ef.eval_record(e) for e in usable]
    for rec in records:
        for path, text in ef.text_leaves(rec):
            if path not in ("id", "scenario_id"):
                gate.check("eval.jsonl", rec["id"], path, text)
    built.files["eval.jsonl"] = ef.jsonl_bytes(records)
    built.files["eval.csv"] = ef.csv_bytes(
        [{**r, "messages": json.dumps(r["messages"], ensure_ascii=False)} for r in records],
        ("id", "scenario_id", "user_input", "response", "reference", "messages"))
    _versions(built, usable)
    return built


def build_fewshot(examples: list[Example], gate: Gate, bs: BuildSettings) -> Built:
    shot = ef.fewshot(examples, per_tag=bs.fewshot_per_tag, token_budget=bs.fewshot_token_budget,
                      count_tokens=bs.count_tokens)
    for line_no, line in enumerate(shot.text.splitlines(), start=1):
        gate.check("fewshot.md", f"line {line_no}", "text", line)
    picked = [e for e in examples if e.example_id in set(shot.example_ids)]
    built = Built(files={"fewshot.md": shot.text.encode("utf-8")},
                  counts=_tally((e.scenario_id, e.scenario_tags, e.tags, e.state)
                                for e in picked))
    built.files["index.csv"] = ef.csv_bytes(
        [{"file": "fewshot.md", "line": "", "record_id": e.record_id, "source": "curated",
          "state": e.state, "scenario_id": e.scenario_id or "",
          "conversation_ids": str(e.conversation_id)} for e in picked], INDEX_COLUMNS)
    built.extra["fewshot"] = {"per_tag": bs.fewshot_per_tag,
                              "token_budget": bs.fewshot_token_budget, "tokens": shot.tokens,
                              "token_counter": bs.token_counter, "examples_per_tag": shot.per_tag}
    built.example_ids = shot.example_ids
    _versions(built, picked)
    return built


def build_table(ratings: Sequence[RatingSelection], ss: ScrubSession, gate: Gate) -> Built:
    criteria = sorted({k for r in ratings for k in r.values})
    columns = list(RATING_COLUMNS) + [f"score_{k}" for k in criteria]
    rows: list[dict[str, Any]] = []
    for r in ratings:  # already in rating id order
        row: dict[str, Any] = {c: getattr(r, c) for c in RATING_COLUMNS}
        row["scenario_tags"] = ";".join(r.scenario_tags)
        row["curated_tags"] = ";".join(r.curated_tags)
        for c in RATING_TEXT_COLUMNS:
            row[c] = ss.optional(r.conversation_id, getattr(r, c))
            gate.check("ratings.csv", f"r-{r.rating_id}", c, row[c])
        for k in criteria:  # yes/no as 1/0, as in rating_score
            v = r.values.get(k)
            row[f"score_{k}"] = None if v is None else int(v)
        rows.append(row)
    built = Built(counts=_tally((r.scenario_id, r.scenario_tags, r.curated_tags,
                                 r.curated_state or "(not curated)") for r in ratings))
    built.counts["by_source"] = dict(sorted(Counter(r.source for r in ratings).items()))
    built.files["ratings.csv"] = ef.csv_bytes(rows, columns)
    built.files["ratings.parquet"] = _parquet(rows, columns, criteria)
    built.rubric_version_ids = {r.rubric_version_id for r in ratings}
    built.prompt_version_ids = {r.prompt_version_id for r in ratings if r.prompt_version_id}
    return built


_INT = ("rating_id", "turn_id", "conversation_id", "training_day_id", "prompt_version_id",
        "rubric_version", "rubric_version_id", "rater_id")


def _parquet(rows: list[dict[str, Any]], columns: list[str], criteria: list[str]) -> bytes:
    """Typed columns (no pandas metadata), so the bytes depend only on the data."""
    types: dict[str, pa.DataType] = {c: pa.string() for c in columns}
    types.update({c: pa.int64() for c in _INT})
    types.update({f"score_{k}": pa.int64() for k in criteria})
    types.update({"overall": pa.float64(), "time_spent_s": pa.float64(), "unsafe": pa.bool_(),
                  "unsafe_flag": pa.bool_()})
    schema = pa.schema([(c, types[c]) for c in columns])
    table = pa.Table.from_pydict({c: [row[c] for row in rows] for c in columns}, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def _skipped(examples: Sequence[Example]) -> dict[str, int]:
    no_ideal = sum(1 for e in examples if not (e.ideal_reply and e.ideal_reply.strip()))
    no_user = sum(1 for e in examples if not e.trainable) - no_ideal
    return {"no_ideal_reply": no_ideal, "no_user_message": no_user}


def _versions(built: Built, examples: Iterable[Example]) -> None:
    for e in examples:
        if e.rubric_version_id is not None:
            built.rubric_version_ids.add(e.rubric_version_id)
        if e.prompt_version_id is not None:
            built.prompt_version_ids.add(e.prompt_version_id)
