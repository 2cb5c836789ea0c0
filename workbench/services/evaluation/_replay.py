"""Replay import: production logs (JSONL in OpenAI `messages` form, or CSV) become conversations
that experts can score. Bad rows are reported by line number; good rows still import."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench.domain.enums import BotKind, ConversationKind, ConversationStatus, TurnRole
from workbench.storage import repo
from workbench.storage.db import session_scope

CSV_COLUMNS = ("conversation_id", "turn", "role", "content")
ROLES = {r.value for r in TurnRole}
UNKNOWN_PROMPT = "(system prompt not recorded in the imported log)"


@dataclass
class ImportReport:
    conversations: int = 0
    turns: int = 0
    problems: list[str] = field(default_factory=list)  # "line N: message"


@dataclass
class _Conv:
    external_id: str
    messages: list[dict[str, str]]
    meta: dict[str, Any]


def import_transcripts(*, engine: sa.Engine, path: Path, target_name: str = "replay",
                       is_demo: bool = False) -> ImportReport:
    report = ImportReport()
    if path.suffix.lower() == ".csv":
        convs = _read_csv(path, report)
    else:
        convs = _read_jsonl(path, report)
    with session_scope(engine) as s:
        try:
            target = repo.get_bot_target(session=s, name=target_name)
        except repo.NotFound:
            target = repo.create_bot_target(session=s, name=target_name, kind=BotKind.replay)
        if target.kind != BotKind.replay:
            raise ValueError(f"'{target_name}' is not a replay target")
        for conv in convs:
            system = next((m["content"] for m in conv.messages if m["role"] == "system"),
                          UNKNOWN_PROMPT)
            pv = repo.set_prompt(session=s, target=target, content=system,
                                 label=str(conv.meta.get("prompt_label", "imported")))
            row = repo.create_conversation(
                session=s, kind=ConversationKind.replay, bot_target_id=target.id,
                prompt_version_id=pv.id, external_id=conv.external_id, meta=conv.meta,
                status=ConversationStatus.finished, is_demo=is_demo,
            )
            for m in conv.messages:
                if m["role"] == "system":
                    continue
                repo.append_turn(session=s, conversation_id=row.id or 0, role=TurnRole(m["role"]),
                                 content=m["content"],
                                 prompt_version_id=pv.id if m["role"] == "assistant" else None)
                report.turns += 1
            report.conversations += 1
        repo.audit(session=s, action="import.transcripts", entity="bot_target",
                   entity_id=target.id, details={"file": path.name,
                                                 "conversations": report.conversations,
                                                 "problems": len(report.problems)})
    return report


def _check_message(m: Any) -> str | None:
    if not isinstance(m, dict):
        return "a message must be an object with role and content"
    if m.get("role") not in ROLES:
        return f"unknown role {m.get('role')!r} (expected system, user or assistant)"
    if not isinstance(m.get("content"), str) or not m["content"].strip():
        return "message content must be non-empty text"
    return None


def _read_jsonl(path: Path, report: ImportReport) -> list[_Conv]:
    out: list[_Conv] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                report.problems.append(f"line {n}: not valid JSON ({exc.msg})")
                continue
            msgs = obj.get("messages") if isinstance(obj, dict) else None
            if not isinstance(msgs, list) or not msgs:
                report.problems.append(f"line {n}: expected an object with a 'messages' list")
                continue
            bad = next(((i, p) for i, m in enumerate(msgs) if (p := _check_message(m))), None)
            if bad:
                report.problems.append(f"line {n}: messages[{bad[0]}]: {bad[1]}")
                continue
            if not any(m["role"] == "assistant" for m in msgs):
                report.problems.append(f"line {n}: no assistant message to score")
                continue
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            ext = str(obj.get("id") or meta.get("conversation_id") or f"{path.name}:{n}")
            out.append(_Conv(ext, [{"role": m["role"], "content": m["content"]} for m in msgs],
                             meta))
    return out


def _read_csv(path: Path, report: ImportReport) -> list[_Conv]:
    rows: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            report.problems.append(f"line 1: missing column(s): {', '.join(missing)}")
            return []
        for rec in reader:
            n = reader.line_num
            try:
                turn = int(rec["turn"])
            except (TypeError, ValueError):
                report.problems.append(f"line {n}: turn must be a whole number, got "
                                       f"{rec['turn']!r}")
                continue
            msg = {"role": (rec["role"] or "").strip(), "content": rec["content"] or ""}
            if (problem := _check_message(msg)) is not None:
                report.problems.append(f"line {n}: {problem}")
                continue
            rows[rec["conversation_id"]].append((turn, msg))
    out = []
    for ext, items in rows.items():
        msgs = [m for _, m in sorted(items, key=lambda x: x[0])]
        if any(m["role"] == "assistant" for m in msgs):
            out.append(_Conv(ext, msgs, {}))
    return out
