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
from sqlmodel import Session

from workbench.domain.enums import ConversationStatus
from workbench.storage import repo_eval
from workbench.storage.db import session_scope


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
                repo_eval.turn_row(conversation_id=item.conversation_id,
                                   index=self._take_index(s, item.conversation_id), **fields)
                for item in batch for fields in item.turns
            ]
            repo_eval.insert_turn_rows(session=s, rows=rows)
            for item in batch:
                if item.status is not None:
                    repo_eval.set_run_conversation_status(
                        session=s, conversation_id=item.conversation_id, status=item.status)

    def _take_index(self, session: Session, conversation_id: int) -> int:
        if conversation_id not in self._next_index:
            self._next_index[conversation_id] = repo_eval.next_turn_index(
                session=session, conversation_id=conversation_id)
        index = self._next_index[conversation_id]
        self._next_index[conversation_id] = index + 1
        return index
