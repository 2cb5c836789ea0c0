"""The queue itself: a huey instance built from a URL (never at import), carrying only job ids.

- `sqlite:///FILE`: huey's SQLite storage, the embedded default (`queue.db` beside the
  database), for one machine: `workbench start` runs its worker;
- `redis://HOST:PORT/DB` (or `rediss://`): huey's Redis storage, for workers on many machines;
- `memory://`: in-process only (tests).

A message is one job id; everything else lives in the job's row, which decides who runs it.
huey deletes a message when a worker takes it, so a worker killed mid-job loses the message:
recovery comes from the rows (see _worker.py), and a duplicate message is harmless because
taking a job is a conditional UPDATE. Messages are JSON, not huey's default pickle, so whoever
can write to the queue still cannot make a worker run code of their choosing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer

log = logging.getLogger(__name__)
QUEUE_NAME = "workbench"
SCHEMES = ("sqlite:///", "redis://", "rediss://", "memory://")


class JsonSerializer(Serializer):
    """huey's message tuple as a JSON list. Only plain tasks travel here (no eta, chains or
    chords), so every field is a string, a number, a list or null."""

    def _serialize(self, data: Any) -> bytes:
        if isinstance(data, Message):
            data = list(data)
        return json.dumps(data, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        fields = json.loads(bytes(data).decode())
        if not isinstance(fields, list) or len(fields) > len(Message._fields):
            raise ValueError("not a workbench queue message")
        message = Message(*fields)
        return message._replace(args=tuple(message.args or ()), kwargs=message.kwargs or {})


def redact(url: str) -> str:
    """The URL without its password (for logs, `workbench jobs` and the worker's row)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class Queue:
    """One queue: `send(job_id)` from anywhere; a worker sets `handler` and consumes `huey`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.display = redact(url)
        self.huey = _make_huey(url)
        self.handler: Callable[[int], None] | None = None
        self._task = self.huey.task(name="job")(self._on_message)

    def _on_message(self, job_id: object) -> None:
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            log.warning("dropped a queue message that names no job: %r", job_id)
            return
        if self.handler is None:
            log.error("job %s: this process consumes the queue without a worker", job_id)
            return
        self.handler(job_id)

    def send(self, job_id: int) -> None:
        self._task(job_id)

    def size(self) -> int:
        return int(self.huey.pending_count())

    def flush(self) -> None:
        """Drop every message (tests and benchmarks only)."""
        self.huey.flush()


def _make_huey(url: str) -> Huey:
    common: dict[str, Any] = dict(results=False, serializer=JsonSerializer(), utc=True)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), timeout=10, **common)
    if url.startswith(("redis://", "rediss://")):
        # Blocking pops wake a worker the moment a job arrives; read_timeout bounds how long a
        # stopping worker waits for its pop to return.
        return RedisHuey(QUEUE_NAME, url=url, blocking=True, read_timeout=1, **common)
    if url.startswith("memory://"):
        return MemoryHuey(QUEUE_NAME, **common)
    raise ValueError(f"queue URL {redact(url)!r}: it must start with one of "
                     f"{', '.join(SCHEMES)}")


@lru_cache(maxsize=8)
def queue_for(url: str) -> Queue:
    """The process's queue for this URL (built once; huey's storage is thread-safe)."""
    return Queue(url)
