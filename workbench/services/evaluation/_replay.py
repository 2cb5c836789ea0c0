"""Replay import: production logs (JSONL in OpenAI `messages` form, or CSV) become conversations
that experts can score.

Guarantees:
- the raw text never reaches the database: every message, the metadata (keys and values) and
  an identifying conversation id are scrubbed first, one ScrubContext per conversation so that
  its placeholders agree, unless the importer declares the file already de-identified
  (`scrub=False`); the choice is audited before anything is stored;
- importing a file again adds nothing: each conversation's sha256 (of its id and messages as
  read) is unique per replay target, and one seen before is counted as already imported;
- the file is read as a stream (_replay_read.py) and committed per batch, so a killed import
  keeps what it finished and running it again completes it; bad lines are reported with their
  line number and the rest imports.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import BotKind, ConversationKind, ConversationStatus, TurnRole
from workbench.domain.privacy import SCRUBBER_VERSION, Scrubber, ScrubContext, get_scrubber
from workbench.services.evaluation._replay_csv import read_csv
from workbench.services.evaluation._replay_read import Conv, read_jsonl
from workbench.storage import repo, repo_eval, repo_runs
from workbench.storage.db import session_scope
from workbench.storage.tables import BotTarget

UNKNOWN_PROMPT = "(system prompt not recorded in the imported log)"
BATCH = 100  # conversations per transaction
_ATTEMPTS = 3  # a batch that collides with a concurrent import is read again and retried


@dataclass
class ImportReport:
    conversations: int = 0  # newly stored
    turns: int = 0
    already_imported: int = 0  # stored by an earlier import: skipped
    scrubbed: bool = True
    findings: dict[str, int] = field(default_factory=dict)  # what the scrubber replaced, by type
    problems: list[str] = field(default_factory=list)  # "line N: message", in line order


@dataclass
class _Ready:
    """A conversation as it will be stored: scrubbed (unless opted out), with its hash."""

    line: int
    sha256: str
    external_id: str | None
    system: str
    messages: list[dict[str, str]]
    meta: dict[str, Any]


def content_hash(conv: Conv) -> str:
    """sha256 of the conversation as read, so the same one hashes the same in any file: its id
    (when the log has one) and its messages, NFC-normalised with line ends and outer
    whitespace evened out. Metadata is left out: an export date must not make it new."""
    def norm(text: str) -> str:
        return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()

    canonical = json.dumps({"id": conv.external_id,
                            "messages": [[m["role"], norm(m["content"])] for m in conv.messages]},
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Scrub:
    """Scrubs one conversation's texts with one context, counting what it replaced."""

    def __init__(self, scrubber: Scrubber | None, findings: dict[str, int]) -> None:
        self._scrubber = scrubber
        self._findings = findings
        self.context = ScrubContext()

    def text(self, text: str) -> str:
        if self._scrubber is None:
            return text
        result = self._scrubber.scrub(text, context=self.context)
        for f in result.findings:
            self._findings[f.type] = self._findings.get(f.type, 0) + 1
        return result.text

    def value(self, value: Any) -> Any:
        """Metadata: strings scrubbed, and numbers too (a phone number stored as a number)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | float):
            scrubbed = self.text(str(value))
            return value if scrubbed == str(value) else scrubbed
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                key = self.text(str(k))
                while key in out:  # two keys that scrub alike stay two
                    key += "'"
                out[key] = self.value(v)
            return out
        return self.text(str(value))


def _prepare(conv: Conv, sha256: str, scrubber: Scrubber | None, findings: dict[str, int],
             source: str) -> _Ready:
    scrub = _Scrub(scrubber, findings)
    system = next((m["content"] for m in conv.messages if m["role"] == TurnRole.system),
                  UNKNOWN_PROMPT)
    ext = None if conv.external_id is None else scrub.text(conv.external_id)
    messages = [{"role": m["role"], "content": scrub.text(m["content"])}
                for m in conv.messages if m["role"] != TurnRole.system]
    meta = scrub.value(conv.meta)
    meta["workbench_import"] = {
        "file": source, "line": conv.line, "scrubbed": scrubber is not None,
        **({"scrubber": SCRUBBER_VERSION} if scrubber is not None else {})}
    return _Ready(conv.line, sha256, ext,
                  scrub.text(system) if system != UNKNOWN_PROMPT else system, messages, meta)


def import_transcripts(*, engine: sa.Engine, path: Path, target_name: str = "replay",
                       is_demo: bool = False, scrub: bool = True, actor: str | None = None,
                       scrubber: Scrubber | None = None, batch_size: int = BATCH
                       ) -> ImportReport:
    """Import a JSONL or CSV log under a replay target, scrubbed unless `scrub=False` (for a
    dataset that is already de-identified; audited with `actor`); see the module docstring."""
    report = ImportReport(scrubbed=scrub)
    problems: list[tuple[int, str]] = []
    use = (scrubber or get_scrubber()) if scrub else None
    # The file's name goes into the audit trail and the conversations' metadata: scrubbed too.
    source = use.scrub(path.name).text if use is not None else path.name
    import_id = secrets.token_hex(6)
    target_id = _target(engine=engine, name=target_name)
    choice = {"import_id": import_id, "file": source, "scrubbed": scrub,
              **({"scrubber": SCRUBBER_VERSION} if scrub else
                 {"scrubbing": "skipped: the importer declared the file already de-identified"})}
    with session_scope(engine) as s:  # the choice is on record before any text is stored
        repo.audit(session=s, action="import.transcripts.start", actor=actor,
                   entity="bot_target", entity_id=target_id, details=choice)
    reader = read_csv if path.suffix.lower() == ".csv" else read_jsonl
    convs = reader(path, lambda n, message: problems.append((n, message)))
    for batch in _batches(convs, batch_size):
        hashed = [(c, content_hash(c)) for c in batch]
        # Twice in one batch is named; twice further apart counts as already imported (the
        # database knows it then), so memory does not grow with the file.
        first_line: dict[str, int] = {}
        with session_scope(engine) as s:  # skip what is stored before paying for scrubbing
            known = repo_runs.imported_hashes(session=s, bot_target_id=target_id,
                                              hashes={h for _, h in hashed})
        fresh = []
        for conv, sha in hashed:
            if sha in first_line:
                problems.append((conv.line, f"the same conversation as line {first_line[sha]}; "
                                            "left out"))
                continue
            first_line[sha] = conv.line
            if sha in known:
                report.already_imported += 1
                continue
            fresh.append(_prepare(conv, sha, use, report.findings, source))
        _store_batch(engine=engine, target_id=target_id, ready=fresh, is_demo=is_demo,
                     report=report)
    report.problems = [f"line {n}: {m}" for n, m in sorted(problems, key=lambda p: p[0])]
    with session_scope(engine) as s:
        repo.audit(session=s, action="import.transcripts", actor=actor, entity="bot_target",
                   entity_id=target_id, details={
                       **choice, "conversations": report.conversations, "turns": report.turns,
                       "already_imported": report.already_imported,
                       "problems": len(report.problems), "findings": report.findings})
    return report


def _batches(items: Iterable[Conv], size: int) -> Iterator[list[Conv]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _target(*, engine: sa.Engine, name: str) -> int:
    for attempt in range(_ATTEMPTS):
        try:
            with session_scope(engine) as s:
                try:
                    target = repo.get_bot_target(session=s, name=name)
                except repo.NotFound:
                    target = repo.create_bot_target(session=s, name=name, kind=BotKind.replay)
                if target.kind != BotKind.replay:
                    raise ValueError(f"'{name}' is not a replay target")
                return int(target.id or 0)
        except sa.exc.IntegrityError:  # another import created it at the same moment
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _store_batch(*, engine: sa.Engine, target_id: int, ready: list[_Ready], is_demo: bool,
                 report: ImportReport) -> None:
    """One transaction for the batch; one that collides with a concurrent import of the same
    conversations (the unique index) is rolled back and done again, skipping those."""
    if not ready:
        return
    for attempt in range(_ATTEMPTS):
        try:
            with session_scope(engine) as s:
                stored, turns, seen = _insert(session=s, target_id=target_id, ready=ready,
                                              is_demo=is_demo)
        except sa.exc.IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
            continue
        report.conversations += stored
        report.turns += turns
        report.already_imported += seen
        return


def _insert(*, session: Session, target_id: int, ready: list[_Ready], is_demo: bool
            ) -> tuple[int, int, int]:
    """(conversations stored, turns stored, conversations another import stored meanwhile)."""
    target = session.get(BotTarget, target_id)
    assert target is not None
    known = repo_runs.imported_hashes(session=session, bot_target_id=target_id,
                                      hashes={r.sha256 for r in ready})
    rows: list[dict[str, Any]] = []
    stored = seen = 0
    prompts: dict[tuple[str, str], int] = {}
    for r in ready:
        if r.sha256 in known:
            seen += 1
            continue
        label = str(r.meta.get("prompt_label", "imported"))
        if (r.system, label) not in prompts:
            pv = repo.set_prompt(session=session, target=target, content=r.system, label=label)
            prompts[(r.system, label)] = int(pv.id or 0)
        pv_id = prompts[(r.system, label)]
        conv = repo.create_conversation(
            session=session, kind=ConversationKind.replay, bot_target_id=target_id,
            prompt_version_id=pv_id, external_id=r.external_id, meta=r.meta,
            status=ConversationStatus.finished, is_demo=is_demo, content_sha256=r.sha256)
        rows += [repo_eval.turn_row(
            conversation_id=conv.id, index=i, role=TurnRole(m["role"]), content=m["content"],
            prompt_version_id=pv_id if m["role"] == TurnRole.assistant else None)
            for i, m in enumerate(r.messages)]
        stored += 1
    repo_eval.insert_turn_rows(session=session, rows=rows)
    return stored, len(rows), seen
