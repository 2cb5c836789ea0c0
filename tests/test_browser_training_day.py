"""One whole training day in a real browser (Debian chromium driven by playwright).

The test starts the app itself on 127.0.0.1 with a fresh database. The facilitator creates the
day and a join code; a panel member joins with it, consents, role-plays two turns with the
reference bot and stops; an expert scores both replies; the facilitator sees the progress.
Screenshots of every step go to test-output/browser/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.training_support import APP, PASSWORD, staff
from workbench.domain.enums import Role, TurnRole
from workbench.services.context import get_engine
from workbench.storage.tables import Rating, Turn

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "browser"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
WAIT_MS = 30_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; CI does this in .ci/run)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(settings, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a free port, on the test's own database (WORKBENCH_DATA_DIR from `settings`)."""
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "streamlit.log").read_text())
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()  # e.g. still loading deduce for the privacy check in the background
            proc.wait(timeout=10)
        log.close()


class Steps:
    """Numbered screenshots, so the folder reads as the day's story."""

    def __init__(self) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        self.n = 0

    def shot(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.n += 1
        page.screenshot(path=str(SHOTS / f"{self.n:02d}-{name}.png"), full_page=True)


def sign_in_staff(page, url: str, code: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.get_by_role("tab", name="Medewerker").click()
    page.get_by_label("Gebruikersnaam").fill(code)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.get_by_text(f"Welkom, {code}").wait_for(timeout=WAIT_MS)


def nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()


def idle(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the script run triggered by the last click has finished."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden", timeout=WAIT_MS)


def pick_scenario(page, scenario: str) -> None:  # type: ignore[no-untyped-def]
    """Choose a scenario in the new-day form and close its list.

    Escape does not always close Streamlit's multiselect list; an open list covers the fields
    and buttons under it, so a later click lands on the list and the next field never shows.
    Clicking the day's name label closes it; the walk goes on only once no list is open.
    """
    from playwright.sync_api import expect
    page.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name=re.compile(re.escape(scenario))).click()
    page.keyboard.press("Escape")
    page.get_by_text("Naam van de dag", exact=True).click()
    expect(page.get_by_role("listbox")).to_have_count(0)


def wait_for_rows(engine, table, n: int, *where) -> None:  # type: ignore[no-untyped-def]
    """Until the database holds `n` rows of `table` (a click's work has been stored)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        with Session(engine) as s:
            if len(s.exec(select(table).where(*where)).all()) >= n:
                return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} rows in {table.__name__}")


def test_a_whole_training_day(server: str, settings, library) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # a loaded CI machine streams slowly
    engine = get_engine(settings)
    staff(engine, "begeleider", Role.facilitator)
    staff(engine, "expert1", Role.expert)
    scenario = sorted(library.scenarios)[0]
    steps = Steps()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            # 1. The facilitator creates the day and a join code.
            fac = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            fac.set_default_timeout(WAIT_MS)
            sign_in_staff(fac, server, "begeleider")
            steps.shot(fac, "facilitator-signed-in")
            # Every page of the role in the sidebar, no folded list with an English "View N more".
            expect(fac.get_by_text(re.compile(r"View \d+ more"))).to_have_count(0)
            expect(fac.get_by_test_id("stSidebarNav").get_by_text("Taken")).to_be_visible()
            nav(fac, "Trainingsdag")
            fac.get_by_label("Naam van de dag").fill("Browsertest")
            pick_scenario(fac, scenario)
            overlap = fac.get_by_role("spinbutton", name="Beoordelaars per antwoord")
            overlap.fill("1")
            overlap.press("Tab")
            steps.shot(fac, "facilitator-new-day")
            fac.get_by_role("button", name="Dag aanmaken").click()
            fac.get_by_role("button", name="Codes maken").click()
            code_block = fac.get_by_test_id("stCode").first
            code_re = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
            expect(code_block).to_contain_text(code_re)
            join_code = code_re.search(code_block.inner_text()).group(0)  # type: ignore[union-attr]
            steps.shot(fac, "facilitator-join-code")

            # 2. A panel member joins, consents, role-plays two turns and stops.
            panel = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
            panel.set_default_timeout(WAIT_MS)
            panel.goto(server)
            panel.get_by_label("Code van vandaag").fill(join_code.lower())
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Voordat je begint").wait_for()
            steps.shot(panel, "panel-content-warning")
            panel.get_by_text("Ja, dat mag").click()
            panel.get_by_role("button", name="Beginnen").click()
            panel.get_by_text("Jouw rol:").wait_for()
            box = panel.get_by_test_id("stChatInputTextArea")
            for n, text in enumerate(("Hoi. Ik weet niet of ik hier goed zit.",
                                      "Hij heeft me gisteren bij mijn keel gepakt."), start=1):
                box.fill(text)
                box.press("Enter")
                wait_for_rows(engine, Turn, n, Turn.role == TurnRole.assistant)
                expect(panel.get_by_test_id("stChatMessage")).to_have_count(2 * n)
                idle(panel)
            steps.shot(panel, "panel-two-turns")
            panel.get_by_role("button", name="Nu stoppen").first.click()
            panel.get_by_text("Je bent gestopt").wait_for()
            expect(panel.get_by_text("0800-2000").first).to_be_visible()
            steps.shot(panel, "panel-debrief")

            # 3. An expert scores both replies.
            exp = browser.new_context(viewport={"width": 1400, "height": 1200}).new_page()
            exp.set_default_timeout(WAIT_MS)
            sign_in_staff(exp, server, "expert1")
            nav(exp, "Antwoorden beoordelen")
            for n in range(2):
                exp.get_by_text("Het antwoord dat je beoordeelt").wait_for()
                main = exp.get_by_test_id("stMain")
                groups = main.get_by_test_id("stRadio")
                expect(groups).to_have_count(9)
                expect(main.locator("input[type=radio]:checked")).to_have_count(0)  # a new form
                for i in range(9):
                    options = groups.nth(i).locator('[role="radiogroup"] label')
                    # 1–5 scales: pick 4; the yes/no question: "Ja".
                    options.nth(3 if options.count() == 5 else 0).click()
                exp.get_by_role("textbox", name="Het antwoord dat jij zou sturen").fill(
                    "Wat goed dat je dit vertelt. Ben je nu veilig?")
                steps.shot(exp, f"expert-scoring-{n + 1}")
                exp.get_by_role("button", name="Insturen").click()
                wait_for_rows(engine, Rating, n + 1)
                idle(exp)
            exp.get_by_text("Er staan nu geen antwoorden voor je klaar").wait_for()
            steps.shot(exp, "expert-queue-empty")

            # 4. The facilitator sees the progress.
            nav(fac, "Start")
            nav(fac, "Trainingsdag")
            scored = fac.get_by_test_id("stMetric").filter(has_text="Antwoorden beoordeeld")
            expect(scored).to_contain_text("2")
            expect(fac.get_by_test_id("stMetric").filter(has_text="Nog te beoordelen")
                   ).to_contain_text("0")
            expect(fac.get_by_text("2 van 2 antwoorden beoordeeld")).to_be_visible()
            steps.shot(fac, "facilitator-progress")
        except Exception:
            for ctx in browser.contexts:
                for i, pg in enumerate(ctx.pages):
                    pg.screenshot(path=str(SHOTS / f"failure-{id(ctx)}-{i}.png"), full_page=True)
            raise
        finally:
            browser.close()
