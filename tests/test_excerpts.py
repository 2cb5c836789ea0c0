"""The dashboard's excerpts are scrubbed ahead and stored: a view never waits for the scrubber
to load (it shows "being anonymised" instead), never shows raw text, and a withdrawn reply
loses its stored excerpt. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.test_dashboard import World, build_world
from workbench.domain.privacy import ScrubResult
from workbench.services.dashboard import _excerpts, build_dashboard, scrub_pending_excerpts
from workbench.storage.tables import Turn, reply_excerpt

SECRETS = ("06-12345678", "Pieter")


class ColdScrubber:
    """A scrubber that is not loaded yet: using it would cost seconds, so a view must not."""

    loaded = False

    def scrub(self, text: str, **_: Any) -> ScrubResult:
        raise AssertionError("a view waited for the scrubber")


class WarmScrubber:
    loaded = True

    def scrub(self, text: str, **_: Any) -> ScrubResult:
        out = text
        for secret in SECRETS:
            out = out.replace(secret, "[X]")
        return ScrubResult(out, [])


@pytest.fixture
def world(engine: sa.Engine, library: Any) -> World:
    return build_world(engine, library)


def _excerpt_texts(engine: sa.Engine) -> list[Any]:
    return list(build_dashboard(engine).excerpts["excerpt"])


def test_a_cold_view_shows_pending_never_raw_text(engine: sa.Engine, world: World,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_excerpts, "get_scrubber", lambda: ColdScrubber())
    shown = _excerpt_texts(engine)
    assert shown and all(text is None for text in shown)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(reply_excerpt)).scalar() == 0


def test_excerpts_made_ahead_are_shown_and_a_warm_view_keeps_what_it_made(
        engine: sa.Engine, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_excerpts, "get_scrubber", lambda: WarmScrubber())
    made = scrub_pending_excerpts(engine)
    assert made > 0 and scrub_pending_excerpts(engine) == 0  # once per reply
    monkeypatch.setattr(_excerpts, "get_scrubber", lambda: ColdScrubber())  # a fresh process
    shown = _excerpt_texts(engine)
    assert shown and all(text is not None for text in shown)
    assert not any(secret in text for text in shown for secret in SECRETS)


def test_a_withdrawn_reply_loses_its_stored_excerpt(engine: sa.Engine, world: World,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_excerpts, "get_scrubber", lambda: WarmScrubber())
    scrub_pending_excerpts(engine)
    with engine.connect() as conn:
        turn_id = conn.execute(sa.select(reply_excerpt.c.turn_id)).scalars().first()
    assert turn_id is not None
    with engine.begin() as conn:
        conn.execute(sa.update(Turn.__table__).where(  # type: ignore[attr-defined]
            Turn.__table__.c.id == turn_id).values(withdrawn=True))  # type: ignore[attr-defined]
    with engine.connect() as conn:
        left = conn.execute(sa.select(reply_excerpt.c.turn_id)).scalars().all()
    assert turn_id not in left
