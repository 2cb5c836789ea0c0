"""CSV for the replay import (`conversation_id,turn,role,content`), streaming in two passes.

A conversation's rows may lie anywhere in the file, and its turns may come in any order. The
first pass keeps no text, only where each conversation ends and what is wrong with it; the
second keeps the rows of the conversations still open at its position and hands each one on
at its last row. So a file sorted by conversation holds one conversation in memory at a time.
Physical lines are bounded as in JSONL; a line left out is replaced by one that keeps the
reader's quoting in step, so the records after it are read as they were written.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from workbench.domain.storable import has_unstorable
from workbench.services.evaluation._replay_read import (
    CSV_COLUMNS,
    MAX_LINE_BYTES,
    NO_ASSISTANT,
    PREFIX_BYTES,
    Conv,
    Problem,
    bounded_lines,
    check_message,
    decode_line,
    megabytes,
    too_long,
)


@dataclass(frozen=True)
class _Record:
    start: int
    end: int
    fields: list[str] | None
    problem: str | None
    head: str | None  # the start of its first line, when that line was left out


def _conversation_of(rec: _Record, index: int) -> str | None:
    """The record's conversation id, as far as it could be read."""
    fields = rec.fields
    if rec.head is not None:
        fields = next(csv.reader([rec.head]), None)
    if not fields or len(fields) <= index:
        return None
    return fields[index].strip() or None


@dataclass
class _Plan:
    """What the first pass learnt about one conversation."""

    first: int
    last: int = 0  # the line its last record ends on
    turns: dict[int, int] = field(default_factory=dict)  # turn number -> line
    good_rows: int = 0
    bad_lines: list[int] = field(default_factory=list)
    has_assistant: bool = False
    left_out: bool = False


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    # The csv module's limit is process-wide (128 KiB by default, which made a long message
    # crash the whole import); it is set for the read and put back.
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _records(path: Path) -> Iterator[_Record]:
    bad: dict[int, str] = {}
    prefixes: dict[int, bytes] = {}
    record = {"bytes": 0, "flagged": 0}  # of the record being read; reset at its end

    def stand_in(number: int, problem: str, head: bytes, quotes: int) -> str:
        # Leaves the reader's quoting where the real line would have: a record that spans
        # lines still ends where it was written to end. One problem per record is kept, and
        # a head only of a line that may begin one, so memory stays bounded here too.
        if not record["flagged"]:
            bad[number], record["flagged"] = problem, 1
        if not record["bytes"]:
            prefixes[number] = head[:PREFIX_BYTES]
        record["bytes"] += 1
        return '"' * (quotes % 2) + "\n"

    with path.open("rb") as fh, _field_limit(2 * MAX_LINE_BYTES):
        def source() -> Iterator[str]:
            for line in bounded_lines(fh):
                if line.data is None:
                    yield stand_in(line.number, too_long(line), line.prefix, line.quotes)
                    continue
                text, problem = decode_line(line)
                if problem or text is None:
                    yield stand_in(line.number, problem or "unreadable", line.data,
                                   line.data.count(b'"'))
                elif record["bytes"] + line.size > MAX_LINE_BYTES:  # a field over many lines
                    limit = megabytes(MAX_LINE_BYTES)
                    yield stand_in(line.number, f"a record longer than {limit}; skipped",
                                   line.data, line.data.count(b'"'))
                else:
                    record["bytes"] += line.size
                    yield text

        reader = csv.reader(source())
        last = 0
        while True:
            try:
                row: list[str] | None = next(reader)
                problem = None
            except StopIteration:
                return
            except csv.Error as exc:
                row, problem = None, f"not valid CSV ({exc}); skipped"
            record["bytes"] = record["flagged"] = 0
            start, last = last + 1, reader.line_num
            flagged = [bad.pop(i) for i in range(start, last + 1) if i in bad]
            if row == [] and not flagged and problem is None:
                continue  # a blank line
            # A record that began on a line left out is named by what that line began with.
            head = prefixes[start].decode("utf-8", "replace").replace("\x00", "") \
                if start in prefixes else None
            for i in range(start, last + 1):
                prefixes.pop(i, None)
            yield _Record(start, last, row, problem or (flagged[0] if flagged else None), head)


def _row(rec: _Record, columns: dict[str, int]) -> tuple[int, dict[str, str]] | str:
    """(turn, message) of a data record, or what is wrong with it."""
    if rec.problem is not None:
        return rec.problem
    fields = rec.fields or []
    if len(fields) < len(columns):
        return f"expected {len(CSV_COLUMNS)} columns ({', '.join(CSV_COLUMNS)}), got {len(fields)}"
    value = fields[columns["turn"]].strip()
    try:
        turn = int(value)
    except ValueError:
        return f"turn must be a whole number, got {value[:40]!r}"
    if not fields[columns["conversation_id"]].strip():
        return "conversation_id is empty"
    if has_unstorable(fields[columns["conversation_id"]]):
        return "conversation_id holds a NUL or a lone surrogate"
    msg = {"role": fields[columns["role"]].strip(), "content": fields[columns["content"]]}
    return problem if (problem := check_message(msg)) is not None else (turn, msg)


def read_csv(path: Path, problem: Problem) -> Iterator[Conv]:
    records = _records(path)
    header = next(records, None)
    names = [] if header is None or header.fields is None else [f.strip() for f in header.fields]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        problem(1, f"missing column(s): {', '.join(missing)}")
        return
    columns = {c: names.index(c) for c in CSV_COLUMNS}
    plans = _first_pass(records, columns, problem)
    yield from _second_pass(path, columns, plans)


def _first_pass(records: Iterator[_Record], columns: dict[str, int], problem: Problem
                ) -> dict[str, _Plan]:
    plans: dict[str, _Plan] = {}
    for rec in records:
        row = _row(rec, columns)
        conv_id = _conversation_of(rec, columns["conversation_id"])
        plan = plans.setdefault(conv_id, _Plan(rec.start)) if conv_id else None
        if isinstance(row, str):
            problem(rec.start, row)
            if plan is not None:
                plan.bad_lines.append(rec.start)
            continue
        assert plan is not None and conv_id is not None  # a good row names its conversation
        turn, msg = row
        plan.last, plan.good_rows = rec.end, plan.good_rows + 1
        plan.has_assistant |= msg["role"] == "assistant"
        if turn in plan.turns:
            problem(rec.start, f"conversation {conv_id[:40]!r} has turn {turn} twice (also line "
                               f"{plan.turns[turn]}); the conversation is left out")
            plan.left_out = True
        plan.turns.setdefault(turn, rec.start)
    for conv_id, plan in plans.items():
        if not plan.good_rows or plan.left_out:
            plan.left_out = True
            continue
        if plan.bad_lines:
            lines = ", ".join(str(n) for n in plan.bad_lines[:5])
            problem(plan.first, f"conversation {conv_id[:40]!r} is left out: line(s) {lines} "
                                "could not be read")
            plan.left_out = True
        elif not plan.has_assistant:
            problem(plan.first, f"conversation {conv_id[:40]!r}: {NO_ASSISTANT}")
            plan.left_out = True
    return plans


def _second_pass(path: Path, columns: dict[str, int], plans: dict[str, _Plan]
                 ) -> Iterator[Conv]:
    open_rows: dict[str, list[tuple[int, dict[str, str]]]] = {}
    records = _records(path)
    next(records, None)  # the header
    for rec in records:
        row = _row(rec, columns)
        if isinstance(row, str):
            continue
        conv_id = _conversation_of(rec, columns["conversation_id"]) or ""
        plan = plans.get(conv_id)
        if plan is None or plan.left_out:
            continue
        open_rows.setdefault(conv_id, []).append(row)
        if rec.end == plan.last:
            rows = sorted(open_rows.pop(conv_id), key=lambda r: r[0])
            yield Conv(plan.first, conv_id, [m for _, m in rows], {})
