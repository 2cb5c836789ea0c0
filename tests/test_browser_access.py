"""Access in a real browser (Debian chromium, playwright), through the server `workbench start`
runs (`python -m workbench.ui.asgi`), twice on one database as behind a load balancer.

The facilitator signs in; a refresh, a typed URL, a new tab and the second process keep them
signed in, and the cookie is http-only and SameSite=Strict (9). They make three codes at once
and download the printable hand-out (15). A panel member joins with one and role-plays; the
facilitator revokes the code and the member sees the calm message with the support numbers,
their words kept (8). Signing out ends the session in both processes.
Screenshots go to test-output/browser-access/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from tests.test_browser_training_day import (
    ARGS,
    CHROMIUM,
    WAIT_MS,
    free_port,
    idle,
    nav,
    pick_scenario,
    sign_in_staff,
    wait_for_rows,
)
from tests.training_support import PASSWORD, staff
from workbench.domain.enums import Role, TurnRole
from workbench.services import accounts
from workbench.services.context import get_engine
from workbench.storage.tables import LoginThrottle, StaffSession, Turn
from workbench.ui import session_cookie

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "browser-access"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; CI does this in .ci/run)"),
]


def _start(tmp_path: Path, name: str) -> tuple[subprocess.Popen, str, Path]:  # type: ignore[type-arg]
    port = free_port()
    log_path = tmp_path / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.ui.asgi", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log_path.open("w"), stderr=subprocess.STDOUT, env={**os.environ},
    )
    return proc, f"http://127.0.0.1:{port}", log_path


def _wait_healthy(proc, url: str, log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.3)


@pytest.fixture
def servers(settings, tmp_path: Path) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Two app processes on one database, as behind a load balancer."""
    started = [_start(tmp_path, "a"), _start(tmp_path, "b")]
    try:
        for proc, url, log in started:
            _wait_healthy(proc, url, log)
        yield started[0][1], started[1][1]
    finally:
        for proc, _, _ in started:
            proc.terminate()
        for proc, _, _ in started:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


class Steps:
    def __init__(self) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()
        self.n = 0

    def shot(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.n += 1
        page.screenshot(path=str(SHOTS / f"{self.n:02d}-{name}.png"), full_page=True)


def _session_cookie(context):  # type: ignore[no-untyped-def]
    found = [c for c in context.cookies() if c["name"] == accounts.COOKIE_NAME]
    return found[0] if found else None


def test_sessions_codes_for_the_room_and_a_calm_end(servers, settings, library) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    url_a, url_b = servers
    engine = get_engine(settings)
    staff(engine, "begeleider", Role.facilitator)
    # 13. The server believes no forwarded header from anyone (uvicorn would trust 127.0.0.1
    # by default): a forged X-Forwarded-Proto does not make the cookie "Secure" here.
    opened = accounts.sign_in_with_session(engine=engine, code="begeleider", password=PASSWORD)
    forged = urllib.request.Request(
        url_a + session_cookie.PATH, data=json.dumps({"claim": opened.claim}).encode(),
        method="POST", headers={"Content-Type": "application/json",
                                "X-Forwarded-Proto": "https", "X-Forwarded-For": "6.6.6.6"})
    with urllib.request.urlopen(forged, timeout=30) as r:
        assert r.status == 204 and "secure" not in r.headers["set-cookie"].lower()
    accounts.end_staff_session(engine=engine, session_id=opened.session_id)
    scenario = sorted(library.scenarios)[0]
    steps = Steps()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            # 9. Signed in once: a refresh, a typed URL, a new tab, the other process.
            fac_ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                                          accept_downloads=True)
            fac = fac_ctx.new_page()
            fac.set_default_timeout(WAIT_MS)
            sign_in_staff(fac, url_a, "begeleider")
            deadline = time.monotonic() + WAIT_MS / 1000
            while _session_cookie(fac_ctx) is None and time.monotonic() < deadline:
                fac.wait_for_timeout(200)
            cookie = _session_cookie(fac_ctx)
            assert cookie is not None, "the page never exchanged its claim for the cookie"
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            assert fac.evaluate("document.cookie").find(accounts.COOKIE_NAME) == -1
            fac.reload()
            fac.get_by_text("Welkom, begeleider").wait_for()
            steps.shot(fac, "refreshed-still-signed-in")
            tab = fac_ctx.new_page()
            tab.set_default_timeout(WAIT_MS)
            tab.goto(f"{url_a}/facilitator")  # typed URL in a new tab
            expect(tab.get_by_role("heading", name="Trainingsdag")).to_be_visible()
            other = fac_ctx.new_page()
            other.set_default_timeout(WAIT_MS)
            other.goto(url_b)  # the second process: same cookie (same host), same database
            other.get_by_text("Welkom, begeleider").wait_for()
            steps.shot(other, "second-process-signed-in")
            tab.close()

            # 15. The day, and three codes at once with the printable slips.
            nav(fac, "Trainingsdag")
            fac.get_by_label("Naam van de dag").fill("Browsertoegang")
            pick_scenario(fac, scenario)
            fac.get_by_role("button", name="Dag aanmaken").click()
            count = fac.get_by_role("spinbutton", name="Hoeveel codes?")
            count.fill("3")
            count.press("Tab")
            fac.get_by_role("button", name="Codes maken").click()
            block = fac.get_by_test_id("stCode").first
            code_re = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
            expect(block).to_contain_text(code_re)
            codes = code_re.findall(block.inner_text())
            assert len(codes) == len(set(codes)) == 3
            with fac.expect_download() as dl:
                fac.get_by_role("button", name="Strookjes om te printen (HTML)").click()
            handout = Path(dl.value.path()).read_text(encoding="utf-8")
            assert handout.count('class="slip"') == 3 and all(c in handout for c in codes)
            assert "Browsertoegang" in handout
            steps.shot(fac, "three-codes")
            slips = browser.new_page()
            slips.set_content(handout)
            slips.screenshot(path=str(SHOTS / "handout.png"), full_page=True)
            slips.close()

            # 8. A panel member role-plays; the facilitator revokes their code.
            panel = browser.new_context(viewport={"width": 1200, "height": 1000},
                                        extra_http_headers={"X-Forwarded-For": "6.6.6.6"}
                                        ).new_page()
            panel.set_default_timeout(WAIT_MS)
            panel.goto(url_a)
            panel.get_by_label("Code van vandaag").fill("FOUT-FOUT-FOUT")  # a typo first
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Deze code werkt niet").wait_for()
            with Session(engine) as s:  # counted on the real peer, not the forged header
                assert [r.key for r in s.exec(select(LoginThrottle))] == ["join:127.0.0.1"]
            panel.get_by_label("Code van vandaag").fill(codes[1])
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Voordat je begint").wait_for()
            panel.get_by_text("Ja, dat mag").click()
            panel.get_by_role("button", name="Beginnen").click()
            panel.get_by_text("Jouw rol:").wait_for()
            box = panel.get_by_test_id("stChatInputTextArea")
            box.fill("Hoi. Ik weet niet of ik hier goed zit.")
            box.press("Enter")
            wait_for_rows(engine, Turn, 1, Turn.role == TurnRole.assistant)
            expect(panel.get_by_test_id("stChatMessage")).to_have_count(2)
            idle(panel)
            with Session(engine) as s:
                before = [(t.role, t.content) for t in s.exec(select(Turn).order_by(col(Turn.id)))]

            fac.reload()  # the code list shows who uses which code
            fac.get_by_text(re.compile(r"in gebruik door LE-")).wait_for()
            used = fac.get_by_test_id("stHorizontalBlock").filter(
                has_text=re.compile(r"in gebruik door LE-"))
            used.get_by_role("button", name="Intrekken").click()
            fac.get_by_text("ingetrokken").first.wait_for()

            box.fill("Ben je er nog?")
            box.press("Enter")
            panel.get_by_text("De begeleider heeft deze sessie beëindigd").wait_for()
            expect(panel.get_by_text("0800-2000").first).to_be_visible()
            expect(panel.get_by_text("Code van vandaag")).to_have_count(0)
            steps.shot(panel, "session-ended-calmly")
            with Session(engine) as s:
                after = [(t.role, t.content) for t in s.exec(select(Turn).order_by(col(Turn.id)))]
            assert after[:len(before)] == before  # nothing of the conversation is lost

            # Signing out ends the session for every tab and both processes.
            fac.get_by_role("button", name="Afmelden").click()
            fac.get_by_text("Welkom bij de werkplaats").wait_for()
            other.reload()
            other.get_by_text("Welkom bij de werkplaats").wait_for()
            with Session(engine) as s:
                assert all(r.revoked_at is not None for r in s.exec(select(StaffSession)))
            steps.shot(other, "signed-out-everywhere")
        except Exception:
            for ctx in browser.contexts:
                for i, pg in enumerate(ctx.pages):
                    pg.screenshot(path=str(SHOTS / f"failure-{id(ctx)}-{i}.png"),
                                  full_page=True)
            raise
        finally:
            browser.close()
