"""Group commit for the batch runner: exchanges that finish at about the same time are written
in one transaction on one writer thread.

Commits are in queue order, so a conversation's exchanges land in the order they happened and
a later one is never stored without the earlier ones. The runner lets an exchange's commit
overlap the next request of its conversation and waits for it before queueing the next one,
so a SIGKILL loses at most the exchanges in flight; batching shares the cost of a transaction
among the conversations that finish at about the same time.

One bad exchange fails only its own conversation: when a batch's transaction fails, each of
its exchanges is written again in a transaction of its own, and one that still fails is
recorded as a failed turn (`not_stored`) that ends its conversation, while the others are kept.
Text a database cannot store is cleaned before that (repo_eval.turn_row), so this is the net
under the net. Every transaction first checks the run's lease (`fence`), so a runner that lost
its run to another stops writing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import ConversationStatus, TurnErrorKind, TurnRole, TurnStatus
from workbench.services.evaluation._lease import LeaseLost
from workbench.storage import repo_eval
from workbench.storage.db import session_scope

log = logging.getLogger(__name__)

Fence = Callable[[Session], None]


class ExchangeNotStored(RuntimeError):
    """The database refused this exchange even on its own; its conversation is marked failed
    with a `not_stored` turn that says why."""


@dataclass
class _Item:
    conversation_id: int
    turns: list[dict[str, Any]]
    status: ConversationStatus | None
    done: asyncio.Future[None]


def _systemic(exc: BaseException) -> bool:
    """A failure of the database rather than of one exchange's data (a lost connection, a lock
    that timed out): writing the exchanges one by one would not help, and none is to blame."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, LeaseLost | sa.exc.OperationalError | sa.exc.InterfaceError
                      | sa.exc.TimeoutError | ConnectionError)


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"the database refused this exchange: {type(exc).__name__}: {first[:300]}"


class TurnWriter:
    """Queue exchanges with `await store(...)`; run `serve()` as a task; `close()` at the end."""

    def __init__(self, engine: sa.Engine, *, fence: Fence | None = None) -> None:
        self._engine = engine
        self._fence = fence
        self._pending: list[_Item] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-writer")
        # The runner owns its conversations while it holds the run's lease, so their next turn
        # index can be counted here instead of asked of the database for every turn.
        self._next_index: dict[int, int] = {}

    def enqueue(self, conversation_id: int, turns: list[dict[str, Any]],
                status: ConversationStatus | None = None) -> asyncio.Future[None]:
        """Queue an exchange; the future resolves once it is committed (FIFO per writer), or
        fails with ExchangeNotStored (this conversation only) or LeaseLost (the whole run)."""
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
                outcomes: list[BaseException | None] = []
                try:
                    await loop.run_in_executor(self._executor, self._write, batch, outcomes)
                except BaseException as exc:  # the rest of the batch learns that it failed
                    outcomes += [exc] * (len(batch) - len(outcomes))
                for item, outcome in zip(batch, outcomes, strict=True):
                    if item.done.done():
                        continue
                    if outcome is None:
                        item.done.set_result(None)
                    else:
                        item.done.set_exception(outcome)
            if self._closed and not self._pending:
                return

    async def close(self, task: asyncio.Task[None]) -> None:
        self._closed = True
        self._wake.set()
        await task
        self._executor.shutdown(wait=True)

    # --- on the writer thread ---------------------------------------------------------------

    def _write(self, batch: list[_Item], outcomes: list[BaseException | None]) -> None:
        """Write the batch; append one outcome per item, in order, as each is settled."""
        try:
            self._commit(batch)
        except Exception as exc:
            if _systemic(exc):
                raise
            if len(batch) > 1:
                log.warning("a batch of %d exchanges failed (%s); writing them one by one",
                            len(batch), type(exc).__name__)
                for item in batch:
                    outcomes.append(self._write_alone(item))
            else:
                outcomes.append(self._give_up(batch[0], exc))
            return
        outcomes += [None] * len(batch)

    def _write_alone(self, item: _Item) -> BaseException | None:
        try:
            self._commit([item])
        except Exception as exc:
            if _systemic(exc):
                raise
            return self._give_up(item, exc)
        return None

    def _give_up(self, item: _Item, exc: Exception) -> ExchangeNotStored:
        """Record why the exchange was not stored and end its conversation as failed. When
        even that fails, the database itself is the problem: raise, failing the run as before."""
        reason = _reason(exc)
        log.warning("conversation %d: %s", item.conversation_id, reason)
        failed = ConversationStatus.failed
        note = _Item(item.conversation_id, [{
            "role": TurnRole.assistant, "content": "", "status": TurnStatus.failed,
            "error_kind": TurnErrorKind.not_stored, "error_message": reason,
        }], failed, item.done)
        self._commit([note])
        return ExchangeNotStored(f"conversation {item.conversation_id}: {reason}")

    def _commit(self, batch: list[_Item]) -> None:
        # Indexes are counted on a copy and kept only once the transaction committed, so a
        # batch that is rolled back and written again leaves no gaps.
        taken: dict[int, int] = {}
        with session_scope(self._engine) as s:
            if self._fence is not None:
                self._fence(s)
            rows = [
                repo_eval.turn_row(conversation_id=item.conversation_id,
                                   index=self._take_index(s, item.conversation_id, taken),
                                   **fields)
                for item in batch for fields in item.turns
            ]
            repo_eval.insert_turn_rows(session=s, rows=rows)
            for item in batch:
                if item.status is not None:
                    repo_eval.set_run_conversation_status(
                        session=s, conversation_id=item.conversation_id, status=item.status)
        self._next_index.update(taken)

    def _take_index(self, session: Session, conversation_id: int, taken: dict[int, int]) -> int:
        if conversation_id not in taken:
            known = self._next_index.get(conversation_id)
            taken[conversation_id] = known if known is not None else repo_eval.next_turn_index(
                session=session, conversation_id=conversation_id)
        index = taken[conversation_id]
        taken[conversation_id] = index + 1
        return index
