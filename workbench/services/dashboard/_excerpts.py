"""Scrubbed excerpts of the replies raters called unsafe: made ahead and stored, so no view
waits for the Dutch scrubber (deduce takes ~10 s to load in a fresh process; the first
dashboard view after a start took 31.5 s while it did).

`scrub_pending_excerpts` is run by whoever has the scrubber warm: the app's warm-up thread
after it loads the scrubber, the job worker between jobs, the demo loader. A view shows the
stored excerpts; one still missing is scrubbed there only when the scrubber is already in
memory (milliseconds), and otherwise shown as pending, never as raw text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa

from workbench.domain.privacy import SCRUBBER_VERSION, get_scrubber
from workbench.storage.db import session_scope
from workbench.storage.stats import detail

EXCERPT_CHARS = 160
Scrub = Callable[[str], str]


def scrub_text(text: str) -> str:
    """The shared Dutch scrubber."""
    return get_scrubber().scrub(text).text


def excerpt(text: str, limit: int = EXCERPT_CHARS, *, scrub: Scrub | None = None) -> str:
    """Scrub the whole text first (a cut must not leave half a phone number), then shorten."""
    clean = " ".join((scrub or scrub_text)(text).split())
    if len(clean) <= limit:
        return clean
    cut = clean[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def scrubber_warm() -> bool:
    return get_scrubber().loaded


def scrub_pending_excerpts(engine: sa.Engine, *, limit: int = 200,
                           scrub: Scrub | None = None) -> int:
    """Scrub and store the excerpts still missing (newest first, at most `limit`); returns how
    many were made."""
    with session_scope(engine) as s:
        todo = detail.replies_needing_excerpts(s.connection(), scrubber_version=SCRUBBER_VERSION,
                                               limit=limit)
    if not todo:
        return 0
    now = datetime.now(UTC)
    rows = [{"turn_id": turn_id, "text": excerpt(text, scrub=scrub),
             "scrubber_version": SCRUBBER_VERSION, "created_at": now} for turn_id, text in todo]
    with session_scope(engine) as s:
        detail.save_excerpts(s.connection(), rows)
    return len(rows)


def store_excerpts(engine: sa.Engine, made: dict[int, str]) -> None:
    """Keep excerpts a view had to make itself (turn id → excerpt)."""
    if not made:
        return
    now = datetime.now(UTC)
    with session_scope(engine) as s:
        detail.save_excerpts(s.connection(), [
            {"turn_id": t, "text": text, "scrubber_version": SCRUBBER_VERSION,
             "created_at": now} for t, text in made.items()])


_KEEPER: list[threading.Thread] = []
_KEEPER_LOCK = threading.Lock()


def keep_excerpts_scrubbed(engine: sa.Engine, *, every_s: float = 30.0) -> threading.Thread:
    """A daemon thread (one per process) that loads the scrubber, then scrubs new excerpts
    every `every_s` seconds: the app starts it, so excerpts are made while nobody waits."""
    def loop() -> None:
        get_scrubber().load()
        while True:
            try:
                scrub_pending_excerpts(engine)
            except Exception:  # noqa: BLE001  (a busy database now is no reason to stop)
                pass
            time.sleep(every_s)

    with _KEEPER_LOCK:
        if not _KEEPER:
            thread = threading.Thread(target=loop, name="excerpt-keeper", daemon=True)
            thread.start()
            _KEEPER.append(thread)
        return _KEEPER[0]
