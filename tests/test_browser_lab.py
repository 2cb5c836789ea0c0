"""The prompt lab's loop in a real browser (Debian chromium, playwright): curate → few-shot →
candidate → compare → promote → dashboard.

The demo's curated examples stand for a curation day (a facilitator looks at them on the
curation page); a developer edits the current prompt, adds a few-shot block of gold examples,
saves the candidate, starts the comparison (a worker beside the test plays it), reads the gate
and promotes with a reason; once an expert has scored a reply of the new version, the
dashboard's trend shows it. Screenshots go to test-output/browser/lab-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session

from tests import builders
from tests.jobs_support import thread_worker, wait_until
from tests.lab_support import SCENARIOS, candidate_text, curated_world, reference
from tests.test_browser_training_day import (
    ARGS,
    CHROMIUM,
    ROOT,
    WAIT_MS,
    idle,
    nav,
    server,  # noqa: F401  (the fixture)
    sign_in_staff,
)
from tests.training_support import staff
from workbench.domain.enums import JobStatus, Role
from workbench.services import jobs, lab
from workbench.services.context import get_engine
from workbench.storage import repo_eval
from workbench.storage.tables import Turn

SHOTS = ROOT / "test-output" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian chromium is not installed at /usr/bin/chromium"),
]


class Shots:
    """lab-NN-name.png, numbered in the loop's order (other walks' screenshots stay)."""

    def __init__(self) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("lab-*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, page, name: str) -> Path:  # type: ignore[no-untyped-def]
        self.n += 1
        path = SHOTS / f"lab-{self.n:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def test_the_prompt_lab_loop_in_a_browser(server: str, settings, library) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    engine = get_engine(settings)
    curated_world(engine, library, settings.runs_dir)
    staff(engine, "begeleider", Role.facilitator)
    staff(engine, "ontwikkelaar", Role.developer)
    current = reference(engine)
    shot = Shots()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            # 1. Curate: the gold examples the few-shot block is drawn from.
            fac = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            fac.set_default_timeout(WAIT_MS)
            fac.goto(server)  # the first script run imports the app: slow on a busy machine
            fac.get_by_role("tab", name="Medewerker").wait_for(timeout=4 * WAIT_MS)
            sign_in_staff(fac, server, "begeleider")
            nav(fac, "Voorbeelden cureren")
            idle(fac)
            shot(fac, "curate")

            # 2. Few-shot: the developer edits the current prompt and fetches gold examples.
            dev = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            dev.set_default_timeout(WAIT_MS)
            sign_in_staff(dev, server, "ontwikkelaar")
            nav(dev, "Promptlab")
            dev.get_by_text("Huidige versie:").wait_for()
            box = dev.get_by_label("Systeemprompt (begint als de huidige versie)")
            box.fill(candidate_text(current.current_text))
            box.press("Control+Enter")
            idle(dev)
            dev.get_by_test_id("stMultiSelect").filter(has_text="Vormen van geweld").click()
            dev.get_by_role("option", name="partnergeweld", exact=True).click()
            dev.keyboard.press("Escape")
            idle(dev)
            dev.get_by_role("button", name="Voorbeelden ophalen").click()
            expect(dev.get_by_text(re.compile(r"voorbeeld\(en\) gevonden"))).to_be_visible()
            idle(dev)
            shot(dev, "fewshot")

            # 3. Candidate: saved beside the current version, with its diff.
            dev.get_by_label("Naam van de nieuwe versie").fill("kort-113")
            dev.get_by_role("button", name="Opslaan als kandidaat").click()
            expect(dev.get_by_text("is opgeslagen")).to_be_visible()
            idle(dev)
            shot(dev, "candidate")
            (cand,) = lab.list_candidates(engine=engine, target_name="reference")
            assert cand.fewshot_example_ids

            # 4. Compare: one job, two runs, played by a worker beside the test.
            multi = dev.get_by_test_id("stMultiSelect").filter(has_text="leeg = alle")
            for sid in (SCENARIOS[0], SCENARIOS[3]):  # the last: 113 makes a check flip
                multi.click()
                title = library.scenarios[sid].scenario.title
                dev.keyboard.type(title)  # the list is virtual: filter it to the one wanted
                dev.get_by_role("option", name=title, exact=True).click()
                dev.keyboard.press("Escape")
            dev.get_by_role("button", name="Vergelijking starten").click()
            expect(dev.get_by_text("De vergelijking loopt op de achtergrond")).to_be_visible()
            (job,) = jobs.list_jobs(engine=engine)
            with thread_worker(engine, settings.resolved_queue_url()):
                wait_until(lambda: jobs.get_job(engine=engine, job_id=job.id).final,
                           timeout=240, what="the comparison")
            assert jobs.get_job(engine=engine, job_id=job.id).status == JobStatus.done
            # The progress block reruns the page once the job has ended (no reload: a plain
            # `streamlit run` keeps the sign-in in the browser's session only).
            expect(dev.get_by_text("De poort is open")).to_be_visible()
            expect(dev.get_by_text("was fout, nu goed").first).to_be_attached()
            dev.get_by_text("Antwoorden naast elkaar, per scenario").wait_for()
            dev.get_by_test_id("stExpander").filter(
                has_text=library.scenarios[SCENARIOS[0]].scenario.title).first.click()
            idle(dev)
            shot(dev, "compare")

            # 5. Promote, with a reason.
            dev.get_by_label("Waarom neem je deze versie in gebruik?").fill(
                "Noemt 113 in elk antwoord en de poort is open.")
            dev.get_by_role("button", name="Kandidaat in gebruik nemen").click()
            expect(dev.get_by_text("is nu de huidige versie")).to_be_visible()
            idle(dev)
            shot(dev, "promote")
            assert reference(engine).current_prompt_version_id == cand.prompt_version_id

            # 6. Dashboard: an expert's score of a reply of the new version puts it in the
            # trend per prompt version.
            cmp = lab.list_comparisons(engine=engine, candidate_ids=[cand.id])[0]
            with Session(engine) as s:
                reply = repo_eval.replies_of_run(session=s, run_id=cmp.run_b)[0]
                builders.rating(s, rater=builders.participant(s), turn=s.get(Turn, reply.turn_id),
                                rv=builders.rubric_version(s, library))
                s.commit()
            dev.get_by_role("link", name="Naar het dashboard").click()
            idle(dev)
            expect(dev.get_by_text("kort-113").first).to_be_attached()
            idle(dev)
            shot(dev, "dashboard")
        except Exception:
            for ctx in browser.contexts:
                for i, pg in enumerate(ctx.pages):
                    pg.screenshot(path=str(SHOTS / f"lab-failure-{id(ctx)}-{i}.png"),
                                  full_page=True)
            raise
        finally:
            browser.close()
