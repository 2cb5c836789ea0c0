"""Group commit for the batch runner: exchanges that finish at about the same time are written
in one transaction on one writer thread.

Commits are in queue order, so a conversation's exchanges land in the order they happened and
a later one is never stored without the earlier ones. The runner lets an exchange's commit
overlap the next request of its conversation and waits for it before queueing the next one,
so a SIGKILL loses at most the exchanges in flight; batching shares the cost of a transaction
among the conversations that finish at about the same time.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from workbench.domain.enums import ConversationStatus
from workbench.storage.db import session_scope
from workbench.storage.tables import Conversation, Turn, utcnow

_ENDED = {ConversationStatus.finished, ConversationStatus.stopped, ConversationStatus.skipped,
          ConversationStatus.failed}


_TURN: sa.Table = Turn.__table__  # type: ignore[attr-defined]
_TURN_FIELDS = {name: info for name, info in Turn.model_fields.items() if name != "id"}


def turn_row(**fields: Any) -> dict[str, Any]:
    """A full row for the turn table: the given fields plus the model's own defaults (every
    row of an executemany needs the same columns)."""
    unknown = fields.keys() - _TURN_FIELDS.keys()
    if unknown:
        raise TypeError(f"turn has no field(s) {sorted(unknown)}")
    row: dict[str, Any] = {}
    for name, info in _TURN_FIELDS.items():
        if name in fields:
            row[name] = fields[name]
        elif info.is_required():
            raise TypeError(f"turn field {name!r} is required")
        else:
            row[name] = info.get_default(call_default_factory=True)
    return row


@dataclass
class _Item:
    conversation_id: int
    turns: list[dict[str, Any]]
    status: ConversationStatus | None
    done: asyncio.Future[None]


class TurnWriter:
    """Queue exchanges with `await store(...)`; run `serve()` as a task; `close()` at the end."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._pending: list[_Item] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-writer")
        # The runner owns its conversations while it runs, so their next turn index can be
        # counted here instead of asked of the database for every turn.
        self._next_index: dict[int, int] = {}

    def enqueue(self, conversation_id: int, turns: list[dict[str, Any]],
                status: ConversationStatus | None = None) -> asyncio.Future[None]:
        """Queue an exchange; the future resolves once it is committed (FIFO per writer)."""
        done = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(conversation_id, turns, status, done))
        self._wake.set()
        return done

    async def store(self, conversation_id: int, turns: list[dict[str, Any]],
                    status: ConversationStatus | None = None) -> None:
        await self.enqueue(conversation_id, turns, status)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await loop.run_in_executor(self._executor, self._write, batch)
                except BaseException as exc:  # every waiter learns that its write failed
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(exc)
                else:
                    for item in batch:
                        if not item.done.done():
                            item.done.set_result(None)
            if self._closed and not self._pending:
                return

    async def close(self, task: asyncio.Task[None]) -> None:
        self._closed = True
        self._wake.set()
        await task
        self._executor.shutdown(wait=True)

    def _write(self, batch: list[_Item]) -> None:
        with session_scope(self._engine) as s:
            rows = [
                turn_row(conversation_id=item.conversation_id,
                         index=self._take_index(s, item.conversation_id), **fields)
                for item in batch for fields in item.turns
            ]
            if rows:
                # One executemany on the table, not ORM objects: the unit of work cost about
                # 0.4 ms of CPU per turn on this thread, all of it holding the GIL that the
                # event loop needs to keep 32 requests moving.
                s.connection().execute(sa.insert(_TURN), rows)
            for item in batch:
                if item.status is not None:
                    values: dict[str, Any] = {"status": item.status}
                    if item.status in _ENDED:
                        values["ended_at"] = utcnow()
                    s.execute(sa.update(Conversation)
                              .where(Conversation.id == item.conversation_id).values(**values))

    def _take_index(self, session: Session, conversation_id: int) -> int:
        if conversation_id not in self._next_index:
            last = session.exec(select(sa.func.max(Turn.index))
                                .where(Turn.conversation_id == conversation_id)).first()
            self._next_index[conversation_id] = 0 if last is None else last + 1
        index = self._next_index[conversation_id]
        self._next_index[conversation_id] = index + 1
        return index
