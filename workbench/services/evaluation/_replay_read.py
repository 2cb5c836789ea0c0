"""Reading production logs for the replay import, streaming and bounded: JSONL in OpenAI
`messages` form (one conversation a line) or CSV `conversation_id,turn,role,content`.

A file is read in chunks, never a line whole beyond `MAX_LINE_BYTES`: a 10 MB line, a line
nested 100,000 levels deep, a NUL, text that is not UTF-8 or that no database can store is
reported with its line number, and the rest is read. A conversation with a problem is left out
whole (a conversation missing a turn would be scored out of context), and so is one without an
assistant reply or, in CSV, with a turn number twice; each is reported, none is dropped
silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from workbench.domain.enums import TurnRole
from workbench.domain.storable import has_unstorable

MAX_LINE_BYTES = 2 * 1024 * 1024  # one line (JSONL) or one physical line or field (CSV)
MAX_META_DEPTH = 16  # levels of nesting in a conversation's metadata
CHUNK_BYTES = 64 * 1024
CSV_COLUMNS = ("conversation_id", "turn", "role", "content")
ROLES = {r.value for r in TurnRole}
PREFIX_BYTES = 512  # kept of an over-long line, to name the CSV conversation it belonged to
_BOM = b"\xef\xbb\xbf"

Problem = Callable[[int, str], None]  # (line number, message)


@dataclass
class Conv:
    """One conversation as read, before scrubbing."""

    line: int  # where it starts in the file
    external_id: str | None  # the id in the source log, if it has one
    messages: list[dict[str, str]]  # role, content; system messages included
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    number: int
    data: bytes | None  # None: longer than the bound, not kept
    size: int
    prefix: bytes = b""  # the first bytes of an over-long line
    quotes: int = 0  # how many `"` an over-long line held (CSV keeps its quoting in step)


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def bounded_lines(fh: BinaryIO, *, limit: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """The physical lines of `fh` (with their line ending), each whole only up to `limit`
    bytes: a longer one is read through in chunks and given as `data=None`."""
    number, buf, size, prefix, quotes, over = 1, bytearray(), 0, b"", 0, False
    first = True
    while chunk := fh.read(CHUNK_BYTES):
        if first:
            chunk, first = chunk.removeprefix(_BOM), False
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end + 1]
            start += len(piece)
            size += len(piece)
            if over:
                quotes += piece.count(b'"')
            elif size > limit:
                over, prefix = True, bytes(buf[:PREFIX_BYTES]) + piece[:PREFIX_BYTES]
                prefix = prefix[:PREFIX_BYTES]
                quotes = buf.count(b'"') + piece.count(b'"')
                buf = bytearray()
            else:
                buf += piece
            if end >= 0:
                yield (Line(number, None, size, prefix, quotes) if over
                       else Line(number, bytes(buf), size))
                number, buf, size, prefix, quotes, over = number + 1, bytearray(), 0, b"", 0, False
    if size:
        yield Line(number, None, size, prefix, quotes) if over else Line(number, bytes(buf), size)


def too_long(line: Line) -> str:
    return (f"longer than the {megabytes(MAX_LINE_BYTES)} a line may hold "
            f"({megabytes(line.size)}); skipped")


def decode_line(line: Line) -> tuple[str | None, str | None]:
    """(text, None) or (None, problem)."""
    assert line.data is not None
    if b"\x00" in line.data:
        return None, "holds a NUL byte, which a database cannot store; skipped"
    try:
        return line.data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 (byte {exc.start + 1} of the line); skipped"


def check_message(m: Any) -> str | None:
    if not isinstance(m, dict):
        return "a message must be an object with role and content"
    if m.get("role") not in ROLES:
        return f"unknown role {str(m.get('role'))[:40]!r} (expected system, user or assistant)"
    content = m.get("content")
    if not isinstance(content, str) or not content.strip():
        return "message content must be non-empty text"
    if has_unstorable(content):
        return "content holds a NUL or a lone surrogate, which a database cannot store"
    return None


def _meta_problem(meta: Any) -> str | None:
    """Metadata must be storable and not absurdly deep (an explicit walk: no recursion)."""
    stack: list[tuple[Any, int]] = [(meta, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_META_DEPTH:
            return f"metadata is nested deeper than {MAX_META_DEPTH} levels"
        if isinstance(value, str) and has_unstorable(value):
            return "metadata holds a NUL or a lone surrogate, which a database cannot store"
        if isinstance(value, dict):
            stack += [(k, depth + 1) for k in value] + [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return None


NO_ASSISTANT = "no assistant message to score (a user-only conversation); left out"


def read_jsonl(path: Path, problem: Problem) -> Iterator[Conv]:
    with path.open("rb") as fh:
        for line in bounded_lines(fh):
            n = line.number
            if line.data is None:
                problem(n, too_long(line))
                continue
            text, bad = decode_line(line)
            if bad or text is None:
                problem(n, bad or "unreadable")
                continue
            if not text.strip():
                continue
            conv = _parse_jsonl_line(n, text, problem)
            if conv is not None:
                yield conv


def _parse_jsonl_line(n: int, text: str, problem: Problem) -> Conv | None:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        problem(n, f"not valid JSON ({exc.msg})")
        return None
    except RecursionError:  # json's C parser stops at the interpreter's recursion limit
        problem(n, "nested too deeply to read")
        return None
    msgs = obj.get("messages") if isinstance(obj, dict) else None
    if not isinstance(msgs, list) or not msgs:
        problem(n, "expected an object with a 'messages' list")
        return None
    bad = next(((i, p) for i, m in enumerate(msgs) if (p := check_message(m))), None)
    if bad:
        problem(n, f"messages[{bad[0]}]: {bad[1]}")
        return None
    messages = [{"role": m["role"], "content": m["content"]} for m in msgs]
    if not any(m["role"] == TurnRole.assistant for m in messages):
        problem(n, NO_ASSISTANT)
        return None
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    if (p := _meta_problem(meta)) is not None:
        problem(n, p)
        return None
    ext = obj.get("id") if obj.get("id") not in (None, "") else meta.get("conversation_id")
    if ext is not None and (not isinstance(ext, str | int) or isinstance(ext, bool)):
        problem(n, "the conversation id must be text or a whole number")
        return None
    if isinstance(ext, str) and has_unstorable(ext):
        problem(n, "the conversation id holds a NUL or a lone surrogate")
        return None
    return Conv(n, None if ext in (None, "") else str(ext), messages, meta)
