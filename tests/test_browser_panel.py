"""The panel's side of a training day in a real browser (Debian chromium, playwright), beside
tests/test_browser_training_day.py and tests/test_browser_access.py.

The facilitator makes a day; its form is empty again, and the same name once more is caught
(issue 14, item 1). A panel member joins, and a message with a phone number held back comes
back into the input to change (4); the quick feedback asks in their words (20). On the pause
screen they press "Ik wil even iemand spreken": a calm confirmation with the support numbers,
and the facilitator's page shows their code within seconds without a reload; "Afgehandeld"
clears it (17). The facilitator closes the day: the member's next click shows the calm ended
page with the support numbers (8), where asking for someone still reaches the facilitator
(17). Screenshots go to test-output/browser-panel/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests import test_browser_training_day as day_walk
from tests.test_browser_training_day import (
    ARGS,
    CHROMIUM,
    WAIT_MS,
    idle,
    nav,
    sign_in_staff,
    wait_for_rows,
)
from tests.training_support import reference_day, staff
from workbench.domain.enums import Role, TurnRole
from workbench.services import accounts
from workbench.services.context import get_engine
from workbench.storage.tables import SupportSignal, TrainingDay, Turn

server = day_walk.server  # the same app on a free port, on this test's own database
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "browser-panel"
ASK = "Ik wil even iemand spreken"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium "
                              "(apt-get install chromium; CI does this in .ci/run)"),
]


class Steps:
    """Numbered screenshots in the folder of one test."""

    def __init__(self, folder: str) -> None:
        self.folder = SHOTS / folder
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    def shot(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.n += 1
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def create_form(page):  # type: ignore[no-untyped-def]
    """The "Nieuwe trainingsdag" form (the day's own settings below have a name field too)."""
    return page.get_by_test_id("stExpander").filter(has_text="Nieuwe trainingsdag")


def new_day(page, name: str, scenario: str) -> None:  # type: ignore[no-untyped-def]
    form = create_form(page)
    form.get_by_label("Naam van de dag").fill(name)
    form.get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name=re.compile(re.escape(scenario))).click()
    # The dropdown stays open and hides what is below it: close it by clicking a label, and
    # wait for the list to be gone (the flake being fixed in test_browser_access.py).
    form.get_by_text("Naam van de dag", exact=True).click()
    page.get_by_role("listbox").wait_for(state="hidden")
    form.get_by_role("button", name="Dag aanmaken").click()


def test_a_new_day_a_held_back_message_and_the_quick_feedback(
        server: str, settings, library) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    engine = get_engine(settings)
    staff(engine, "begeleider", Role.facilitator)
    scenario = sorted(library.scenarios)[0]
    steps = Steps("day-form-input-feedback")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            # 1. A day; the form is empty again, and the same name twice is caught.
            fac = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            fac.set_default_timeout(WAIT_MS)
            # The first page of a fresh process waits for its imports; on a loaded machine
            # that alone can take longer than a click may.
            fac.goto(server)
            fac.get_by_role("tab", name="Medewerker").wait_for(timeout=4 * WAIT_MS)
            sign_in_staff(fac, server, "begeleider")
            nav(fac, "Trainingsdag")
            new_day(fac, "Paneldag", scenario)
            fac.get_by_text("Het formulier is weer leeg").wait_for()
            fac.get_by_text("Nieuwe trainingsdag").click()  # the form folds once a day exists
            expect(create_form(fac).get_by_label("Naam van de dag")).to_have_value("")
            new_day(fac, "Paneldag", scenario)
            fac.get_by_text("Er is al een trainingsdag ‘Paneldag’").wait_for()
            with Session(engine) as s:
                assert len(s.exec(select(TrainingDay)).all()) == 1
            steps.shot(fac, "facilitator-same-name-caught")
            fac.get_by_role("button", name="Codes maken").click()
            code_re = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")
            block = fac.get_by_test_id("stCode").first
            expect(block).to_contain_text(code_re)
            join_code = code_re.search(block.inner_text()).group(0)  # type: ignore[union-attr]

            # 4. A message held back by the privacy check comes back into the input.
            panel = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
            panel.set_default_timeout(WAIT_MS)
            panel.goto(server, timeout=4 * WAIT_MS)
            panel.get_by_label("Code van vandaag").fill(join_code)
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Ja, dat mag").click()
            panel.get_by_role("button", name="Beginnen").click()
            panel.get_by_text("Jouw rol:").wait_for()
            box = panel.get_by_test_id("stChatInputTextArea")
            held = "Bel me op 06-12345678 als hij weg is"
            box.fill(held)
            box.press("Enter")
            panel.get_by_text("echte persoonlijke gegevens").wait_for()
            panel.get_by_role("button", name="Niet versturen, ik pas het aan").click()
            expect(panel.get_by_text("echte persoonlijke gegevens")).to_have_count(0)
            expect(box).to_have_value(held)
            steps.shot(panel, "panel-message-back-to-change")
            box.fill("Bel me als hij weg is")
            box.press("Enter")
            wait_for_rows(engine, Turn, 1, Turn.role == TurnRole.assistant)
            expect(panel.get_by_test_id("stChatMessage")).to_have_count(2)
            idle(panel)

            # 20. The quick feedback in the panel member's words, no demo or staff words.
            panel.get_by_text("Hoe voelde dit antwoord?").click()
            expect(panel.get_by_text("Zou dit antwoord jou helpen?")).to_be_visible()
            expect(panel.get_by_text("kritisch")).to_have_count(0)
            expect(panel.get_by_text("Zou je dit sturen?")).to_have_count(0)
            steps.shot(panel, "panel-quick-feedback")
        except Exception:
            for ctx in browser.contexts:
                for i, pg in enumerate(ctx.pages):
                    pg.screenshot(path=str(SHOTS / f"failure-{id(ctx)}-{i}.png"),
                                  full_page=True)
            raise
        finally:
            browser.close()


def test_asking_for_someone_reaches_the_facilitator_also_after_the_day_closed(
        server: str, settings, library) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    engine = get_engine(settings)
    staff(engine, "begeleider", Role.facilitator)
    day_id = reference_day(engine, library, name="Paneldag",
                           scenario_ids=sorted(library.scenarios)[:1])
    join_code = accounts.issue_join_code(engine=engine, training_day_id=day_id)
    steps = Steps("someone-to-talk-to")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            fac = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            fac.set_default_timeout(WAIT_MS)
            fac.goto(server)
            fac.get_by_role("tab", name="Medewerker").wait_for(timeout=4 * WAIT_MS)
            sign_in_staff(fac, server, "begeleider")
            nav(fac, "Trainingsdag")
            fac.get_by_text("Niemand heeft om een begeleider gevraagd").wait_for()
            panel = browser.new_context(viewport={"width": 1200, "height": 1000}).new_page()
            panel.set_default_timeout(WAIT_MS)
            panel.goto(server, timeout=4 * WAIT_MS)
            panel.get_by_label("Code van vandaag").fill(join_code)
            panel.get_by_role("button", name="Meedoen").click()
            panel.get_by_text("Ja, dat mag").click()
            panel.get_by_role("button", name="Beginnen").click()
            panel.get_by_text("Jouw rol:").wait_for()

            # 17. On the pause screen: ask for someone; the facilitator sees it unasked.
            panel.get_by_role("button", name="Pauze").first.click()
            panel.get_by_text("Je hebt pauze").wait_for()
            panel.get_by_role("button", name=ASK).click()
            panel.get_by_text("Een begeleider komt zo naar je toe").wait_for()
            expect(panel.get_by_text("0800-2000").first).to_be_visible()
            expect(panel.get_by_role("button", name=ASK)).to_have_count(0)
            steps.shot(panel, "panel-someone-is-coming")
            with Session(engine) as s:
                [sig] = s.exec(select(SupportSignal)).all()
            member = re.search(r"LE-[A-Z0-9]+", panel.get_by_text("alleen je code").inner_text())
            assert member is not None
            fac.get_by_text(re.compile(re.escape(member.group(0)) + r" wil even iemand "
                                       r"spreken, sinds \d\d:\d\d \(Paneldag\)")).wait_for()
            fac.get_by_text("Wil iemand je spreken?").scroll_into_view_if_needed()
            steps.shot(fac, "facilitator-sees-the-signal")
            fac.get_by_role("button", name="Afgehandeld").click()
            fac.get_by_text("Niemand heeft om een begeleider gevraagd").wait_for()
            with Session(engine) as s:
                done = s.get(SupportSignal, sig.id)
                assert done is not None and done.handled_by == "begeleider"

            # 8 + 17. The day closes: a calm page, and asking still reaches the facilitator.
            fac.get_by_text("Ik wil deze dag sluiten").click()
            fac.get_by_role("button", name="Dag sluiten").click()
            fac.get_by_role("button", name="Codes maken").wait_for(state="hidden")
            panel.get_by_role("button", name="Verder gaan").click()
            panel.get_by_text("de trainingsdag afgesloten").wait_for()
            expect(panel.get_by_text("0800-2000").first).to_be_visible()
            panel.get_by_role("button", name=ASK).click()
            panel.get_by_text("Een begeleider komt zo naar je toe").wait_for()
            steps.shot(panel, "panel-day-closed-still-asks")
            fac.get_by_text(re.compile(re.escape(member.group(0)) + " wil even iemand "
                                       "spreken")).wait_for()
            fac.get_by_text("Wil iemand je spreken?").scroll_into_view_if_needed()
            steps.shot(fac, "facilitator-sees-it-after-closing")
        except Exception:
            for ctx in browser.contexts:
                for i, pg in enumerate(ctx.pages):
                    pg.screenshot(path=str(SHOTS / f"failure-{id(ctx)}-{i}.png"),
                                  full_page=True)
            raise
        finally:
            browser.close()
