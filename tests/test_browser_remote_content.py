"""No text anybody typed or a bot wrote makes a viewer's browser fetch anything (issue 13,
item 3), proved in a real browser (Debian chromium via playwright).

A beacon HTTP server on 127.0.0.1 counts every request it gets. Its URLs are planted, in every
form Markdown and HTML know (images, raw HTML, autolinks, reference images, ...), in a bot
reply (streamed live by an OpenAI-compatible stand-in), a panel message, rewrites, comments
and every text of a scenario. Then the pages are walked as their users walk them: role-play,
scoring, scripted run, adjudication, curation, calibration, pairwise, the training day, the
dashboard, the export preview and the downloaded HTML report, opened in the same browser.
The beacon must count nothing; the per-view counts are printed (`-s`) for the record.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.remote_support import hostile, hostile_bot, hostile_scenario_dir, plant
from tests.test_browser_training_day import (  # noqa: F401  (server is a fixture)
    ARGS,
    CHROMIUM,
    WAIT_MS,
    idle,
    server,
    sign_in_staff,
    wait_for_rows,
)
from workbench.domain.enums import TurnRole
from workbench.domain.library import load_library
from workbench.services import accounts
from workbench.services.context import get_engine
from workbench.services.dashboard import scrub_pending_excerpts
from workbench.storage.tables import Conversation, Turn

ROOT = Path(__file__).resolve().parent.parent
SETTLE_MS = 1500  # time for an image, frame or stylesheet to be requested after rendering

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(900),  # thirteen views; a loaded machine needs far more than 300 s
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; CI does this in .ci/run)"),
]


def nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    """As the training-day test's, also past "view more" (a facilitator sees many pages)."""
    more = page.get_by_test_id("stSidebarNavViewButton")
    if more.count() and "more" in more.inner_text():
        more.click()
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


class Beacon:
    """An HTTP server that answers everything with an empty 200 and remembers each path."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def _count(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_OPTIONS = _count

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Beacon:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def beacon() -> Iterator[Beacon]:
    with Beacon() as b:
        yield b


@pytest.fixture(autouse=True)
def hostile_library(settings, beacon: Beacon, tmp_path: Path,  # type: ignore[no-untyped-def]
                    monkeypatch: pytest.MonkeyPatch) -> Path:
    """The app (started after this, autouse fixtures come first) reads the hostile scenario."""
    folder = hostile_scenario_dir(tmp_path / "scenarios", beacon.url)
    monkeypatch.setenv("WORKBENCH_SCENARIOS_DIR", str(folder))
    return folder


def test_no_planted_url_is_ever_fetched(server: str, settings, beacon: Beacon,  # noqa: F811
                                        hostile_library: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    engine = get_engine(settings)
    library = load_library([hostile_library, ROOT / "rubrics"])
    assert library.ok, library.problems
    counts: dict[str, int] = {}

    def seen(page, view: str) -> None:  # type: ignore[no-untyped-def]
        idle(page)
        page.wait_for_timeout(SETTLE_MS)
        counts[view] = len(beacon.hits) - sum(counts.values())

    with hostile_bot(beacon.url) as bot, sync_playwright() as p:
        planted = plant(engine, library, beacon=beacon.url, bot_url=bot.base_url)
        scrub_pending_excerpts(engine)  # the dashboard and report show excerpts only once scrubbed
        assert beacon.hits == []  # planting itself fetched nothing
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            def page_for(width: int = 1400):  # type: ignore[no-untyped-def]
                pg = browser.new_context(viewport={"width": width, "height": 1100},
                                         accept_downloads=True).new_page()
                pg.set_default_timeout(WAIT_MS)
                return pg

            # Role-play: the content warning, the persona card, a hostile message and the
            # hostile reply streamed live.
            panel = page_for(1200)
            panel.goto(server)
            code = accounts.issue_join_code(engine=engine, training_day_id=planted.day_id)
            panel.get_by_label("Code van vandaag").fill(code.lower())
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Ja, dat mag").click()
            seen(panel, "roleplay: content warning")
            panel.get_by_role("button", name="Beginnen").click()
            panel.get_by_text("Jouw rol:").wait_for()
            seen(panel, "roleplay: persona")
            before = _assistant_turns(engine)
            box = panel.get_by_test_id("stChatInputTextArea")
            box.fill(hostile(beacon.url, "typed"))
            box.press("Enter")
            anyway = panel.get_by_role("button", name="Toch versturen")
            idle(panel)
            if anyway.count():  # the privacy check may hold the message back first
                anyway.click()
            wait_for_rows(engine, Turn, before + 1, Turn.role == TurnRole.assistant)
            expect(panel.get_by_test_id("stChatMessage")).to_have_count(2)
            seen(panel, "roleplay: chat")
            expect(panel.get_by_text("0800-2000").first).to_be_visible()

            # An expert who has not rated yet: the reply, its conversation and the scenario.
            expert = page_for()
            sign_in_staff(expert, server, planted.fresh_expert.code)
            nav(expert, "Antwoorden beoordelen")
            expert.get_by_text("Het antwoord dat je beoordeelt").wait_for()
            seen(expert, "scoring")
            nav(expert, "A/B vergelijken")
            expert.get_by_text("Antwoord A").first.wait_for()
            seen(expert, "pairwise")

            fac = page_for()
            sign_in_staff(fac, server, planted.facilitator.code)
            nav(fac, "Trainingsdag")
            fac.get_by_test_id("stExpander").locator("summary").first.click()  # the new-day form
            fac.get_by_text("Scenario bekijken").first.wait_for()
            seen(fac, "training day (scenario preview)")
            nav(fac, "Script afspelen")
            fac.get_by_role("button", name="Beginnen").click()
            fac.get_by_role("button", name="Volgende beurt versturen").click()
            wait_for_rows(engine, Turn, before + 2, Turn.role == TurnRole.assistant)
            idle(fac)
            seen(fac, "scripted run")
            nav(fac, "Meningsverschillen")
            fac.get_by_text("Het antwoord van de bot").first.wait_for()
            seen(fac, "adjudication")
            nav(fac, "Voorbeelden cureren")
            fac.get_by_text("Eén voorbeeld bewerken").first.wait_for()
            seen(fac, "curation")
            nav(fac, "Kalibratie")
            idle(fac)
            for summary in fac.get_by_test_id("stExpander").locator("summary").all():
                summary.click()
            seen(fac, "calibration")
            nav(fac, "Dashboard")
            fac.get_by_role("tab", name="Voorbeelden").click()
            seen(fac, "dashboard")
            with fac.expect_download() as download:
                fac.get_by_role("button", name="Rapport downloaden (HTML)").click()
            report = tmp_path / "rapport.html"
            download.value.save_as(report)
            shown = page_for()
            shown.goto(report.as_uri())
            shown.wait_for_timeout(SETTLE_MS)
            counts["HTML report"] = len(beacon.hits) - sum(counts.values())
            assert "0800-2000" in shown.content()

            dev = page_for()
            sign_in_staff(dev, server, planted.developer.code)
            nav(dev, "Exporteren")
            dev.get_by_role("button", name="Voorbeeld tonen").click()
            dev.get_by_test_id("stCode").first.wait_for()
            seen(dev, "export preview")
        finally:
            browser.close()
            print(f"\n{len(beacon.hits)} beacon requests across {len(counts)} views:")
            for view, n in counts.items():
                print(f"  {n:3d}  {view}")
            print("  paths:", sorted(set(beacon.hits)))
    assert beacon.hits == []


def _assistant_turns(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return len(s.exec(select(Turn).join(Conversation).where(
            Turn.role == TurnRole.assistant)).all())
