"""Scoring in a real browser (Debian chromium, playwright) on a 1366×768 screen: what only a
browser shows. The whole form fits the screen; the keyboard sets scores and submits, never
while typing in a text field; a refused submit is read at the top of the form; the next reply
starts at the top of the page however far down the last one was left.
Screenshots go to test-output/browser/scoring/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from tests.test_browser_training_day import (
    ARGS,
    CHROMIUM,
    WAIT_MS,
    idle,
    nav,
    server,
    sign_in_staff,
    wait_for_rows,
)
from tests.training_support import panel_member, reference_day, roleplay_replies, staff
from workbench.services.context import get_engine
from workbench.storage.tables import Rating

__all__ = ["server"]  # the app-on-a-free-port fixture, shared with the training-day test

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "browser" / "scoring"
SCREEN = {"width": 1366, "height": 768}
LONG = ("Hoi. Ik weet niet goed hoe ik dit moet zeggen, maar thuis gaat het al een tijd niet "
        "goed. Mijn vriend kijkt mijn telefoon na, bepaalt wie ik zie en wordt heel boos als ik "
        "later thuis ben dan hij wil. Ik durf er met niemand over te praten. ") * 3
SCROLLED = """() => Math.max(window.scrollY, document.scrollingElement.scrollTop,
  ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
     .map((el) => el.scrollTop))"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; CI does this in .ci/run)"),
]


def shot(page, n: int, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{n:02d}-{name}.png"))


def submitted(engine) -> list[Rating]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.exec(select(Rating).where(col(Rating.status) == "submitted")
                           .order_by(col(Rating.id))))


def test_keys_score_and_submit_and_the_form_fits_the_screen(server: str, settings, library) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    for old in SHOTS.glob("*.png") if SHOTS.exists() else []:
        old.unlink()
    engine = get_engine(settings)
    day_id = reference_day(engine, library)
    r1, r2, _ = roleplay_replies(engine, library, panel_member(engine, day_id),
                                 texts=(LONG, LONG, "Hij heeft me gisteren bij mijn keel gepakt."))
    staff(engine, "expert1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_context(viewport=SCREEN).new_page()
            page.set_default_timeout(WAIT_MS)
            sign_in_staff(page, server, "expert1")
            nav(page, "Antwoorden beoordelen")
            form = page.get_by_test_id("stForm")
            expect(form.locator(f".st-key-sc_{r1}_safety")).to_be_visible()
            idle(page)
            expect(page.get_by_text("1 van 3")).to_be_visible()
            expect(page.get_by_text("Sneltoetsen")).to_be_visible()
            expect(page.get_by_role("textbox", name="Toelichting")).to_be_visible()
            expect(page.get_by_text("Dit antwoord is onveilig")).to_be_visible()
            # The whole form, from its first criterion to the submit button, is on screen.
            shot(page, 1, "form-fits-1366x768")
            box = form.bounding_box()
            assert box is not None
            print(f"form at 1366x768: x={box['x']:.0f} y={box['y']:.0f} "
                  f"w={box['width']:.0f} h={box['height']:.0f}")
            assert box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], box
            assert box["x"] >= 0 and box["x"] + box["width"] <= SCREEN["width"], box
            # And the reply being scored is in view beside it (the conversation scrolls above).
            reply = page.get_by_test_id("stChatMessage").last
            reply_box = reply.bounding_box()
            assert reply_box is not None
            print(f"reply at 1366x768: y={reply_box['y']:.0f} h={reply_box['height']:.0f}")
            assert reply_box["y"] >= 0 and reply_box["y"] + 40 <= SCREEN["height"], reply_box

            # An incomplete submit by key: the error is read at the top of the form.
            page.keyboard.press("4")  # the first criterion, then on to the next
            page.keyboard.press("Enter")
            error = form.get_by_test_id("stAlertContentError")
            expect(error).to_contain_text("Geef nog een score bij")
            err_box = error.bounding_box()
            assert err_box is not None and 0 <= err_box["y"] <= SCREEN["height"] - 40, err_box
            assert submitted(engine) == []
            shot(page, 2, "refused-error-at-the-top")
            idle(page)

            # Keys score each criterion in turn: 1–5, then J for the yes/no question.
            page.keyboard.press("ArrowUp")  # back to the first criterion
            for key in "45342334":
                page.keyboard.press(key)
            page.keyboard.press("j")
            expect(form.locator("input[type=radio]:checked")).to_have_count(9)
            # Typing in the rewrite does not score: the digits land in the text.
            rewrite = page.get_by_role("textbox", name="Het antwoord dat jij zou sturen")
            idle(page)
            rewrite.click()
            expect(rewrite).to_be_focused()
            page.keyboard.type("Bel 112 als je nu in gevaar bent, of 0800-2000. 12345")
            expect(rewrite).to_have_value("Bel 112 als je nu in gevaar bent, of 0800-2000. 12345")
            expect(form.locator("input[type=radio]:checked")).to_have_count(9)
            page.keyboard.press("Enter")  # a new line in the text, not a submit
            page.wait_for_timeout(500)
            assert submitted(engine) == []
            # Left at the bottom of the page, then submitted by key (twice, quickly).
            page.evaluate("document.activeElement.blur()")
            page.mouse.move(300, 500)
            page.mouse.wheel(0, 5000)
            page.wait_for_timeout(300)
            assert page.evaluate(SCROLLED) > 0, "the page should be long enough to scroll"
            shot(page, 3, "scored-by-keys-scrolled-down")
            page.keyboard.press("Enter")
            page.keyboard.press("Enter")
            wait_for_rows(engine, Rating, 1, col(Rating.status) == "submitted")
            expect(form.locator(f".st-key-sc_{r2}_safety")).to_be_visible()
            idle(page)
            [first] = submitted(engine)
            assert first.turn_id == r1
            assert [first.values[k] for k in ("safety", "accuracy", "listen_validate", "no_blame",
                                              "autonomy", "relevance", "transparency",
                                              "clarity", "would_send")] == \
                [4, 5, 3, 4, 2, 3, 3, 4, 1]
            assert first.ideal_reply is not None and "0800-2000. 12345" in first.ideal_reply

            # The next reply starts at the top, on its first criterion, with nothing filled in.
            assert page.evaluate(SCROLLED) == 0
            expect(page.get_by_text("2 van 3")).to_be_visible()
            expect(form.locator("input[type=radio]:checked")).to_have_count(0)
            expect(form.locator(f".st-key-sc_{r2}_safety.wb-current")).to_have_count(1)
            box = form.bounding_box()
            assert box is not None and box["y"] + box["height"] <= SCREEN["height"], box
            shot(page, 4, "next-reply-at-the-top")
            page.wait_for_timeout(500)
            assert len(submitted(engine)) == 1  # the second Enter did not score the next one
        finally:
            browser.close()
