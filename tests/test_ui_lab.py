"""The Promptlab page under AppTest: a developer edits the current prompt, fetches a few-shot
block of gold examples, saves a candidate, starts the comparison (one job), reads the gate
and promotes with a reason; a facilitator sees the same candidate and comparison but no
button that changes anything."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.jobs_support import thread_worker, wait_until
from tests.lab_support import SCENARIOS, candidate_text, curated_world, reference
from tests.training_support import APP, button, staff, texts
from workbench.domain.enums import JobStatus, Role
from workbench.services import jobs, lab

pytestmark = pytest.mark.usefixtures("fast_hashing")
TIMEOUT = 180
CHANGING = ("Opslaan als kandidaat", "Vergelijking starten", "Kandidaat in gebruik nemen",
            "Voorbeelden ophalen")


def open_lab(user) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["auth_participant_id"] = user.participant_id
    at.session_state["auth_language"] = "nl"
    at.run()
    return at.switch_page("app_pages/prompt_lab.py").run()


def test_a_developer_walks_the_loop_on_the_page(eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    curated_world(eng, library, settings.runs_dir)
    current = reference(eng)
    at = open_lab(staff(eng, "DEV-1", Role.developer))
    assert not at.exception and at.title[0].value == "Promptlab"
    assert "Huidige versie: **warm**" in texts(at)
    area = at.text_area(key=f"lab_text_reference_{current.current_prompt_version_id}")
    area.input("Je bent de chatbot.\x00stijl: kort").run()
    at.text_input(key="lab_label").input("fout")  # in a form: sent with the submit
    button(at, "Opslaan als kandidaat").click().run()
    assert "onzichtbaar NUL-teken" in texts(at)
    area.input(candidate_text(current.current_text)).run()
    at.multiselect(key="lab_fs_forms").set_value(["partnergeweld"]).run()
    button(at, "Voorbeelden ophalen").click().run()
    assert not at.exception
    assert "voorbeeld(en) gevonden" in texts(at)
    assert any("+<!-- voorbeelden uit de promptlab: begin -->" in c.value for c in at.code)
    at.text_input(key="lab_label").input("kort-113")
    button(at, "Opslaan als kandidaat").click().run()
    assert "Kandidaat **kort-113** is opgeslagen" in texts(at)
    (cand,) = lab.list_candidates(engine=eng, target_name="reference")
    assert cand.fewshot_example_ids and cand.created_by == "DEV-1"

    at.multiselect(key="lab_cmp_scenarios").set_value(SCENARIOS[:2])
    button(at, "Vergelijking starten").click().run()
    button(at, "Vergelijking starten").click().run()  # a double click: refused, one job
    assert "Er loopt al een vergelijking" in texts(at)
    (job,) = jobs.list_jobs(engine=eng)
    assert job.kind == "lab_comparison" and job.created_by == "DEV-1"
    assert "De runs zijn nog niet klaar" in texts(at)
    with thread_worker(eng, settings.resolved_queue_url()):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).final, timeout=240,
                   what="the comparison")
    assert jobs.get_job(engine=eng, job_id=job.id).status == JobStatus.done
    at.run()
    assert not at.exception
    shown = texts(at)
    assert "De poort is open" in shown and "workbench compare" in shown
    table = at.dataframe[0].value
    assert list(table.columns)[:3] == ["Meting", "Telt voor de poort", "Paren"]
    assert table.iloc[0]["Meting"] == "Verwachtingen gehaald (aandeel)"
    assert "," in table.iloc[0]["A (huidig)"] and "." not in table.iloc[0]["A (huidig)"]
    assert "Antwoorden naast elkaar, per scenario" in shown

    button(at, "Kandidaat in gebruik nemen").click().run()
    assert "Vul eerst een tekst in" in texts(at)
    at.text_area(key="lab_reason").input("Noemt 113; de poort is open.")
    button(at, "Kandidaat in gebruik nemen").click().run()
    assert not at.exception
    assert "**kort-113** is nu de huidige versie" in texts(at)
    assert reference(eng).current_prompt_version_id == cand.prompt_version_id
    assert "Kandidaat in gebruik nemen" not in [b.label for b in at.button]


def test_a_facilitator_sees_candidates_and_comparisons_but_changes_nothing(
        eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    current = reference(eng)
    cand = lab.save_candidate(engine=eng, target_name="reference", label="kort-113",
                              text=candidate_text(current.current_text), created_by="DEV-1")
    lab.record_comparison(engine=eng, candidate_id=cand.id, library=library,
                          scenario_ids=SCENARIOS[:1], created_by="DEV-1")
    at = open_lab(staff(eng, "FAC-1", Role.facilitator))
    assert not at.exception
    shown = texts(at)
    assert "Maken, starten en in gebruik nemen doet een ontwikkelaar" in shown
    assert "kort-113" in at.selectbox(key="lab_candidate").format_func(cand.id)
    assert "De runs zijn nog niet klaar" in shown
    assert not [b for b in at.button if b.label in CHANGING]
    assert not at.text_area and not at.text_input


def test_experts_and_managers_cannot_open_the_lab(eng) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.expert, Role.manager):
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.session_state["auth_participant_id"] = staff(eng, f"u-{role}", role).participant_id
        at.run()
        with pytest.raises(ValueError):
            at.switch_page("app_pages/prompt_lab.py")
