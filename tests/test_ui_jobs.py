"""Jobs on the pages: the judge page starts a judge run as a job (a double click is one job), the
progress block reads the job's row and cancels it, and the Taken page lists every job."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.jobs_support import thread_worker, wait_until
from tests.training_support import APP, button, staff, texts
from workbench.domain.enums import BotKind, JobStatus, Role
from workbench.services import jobs
from workbench.services.evaluation import create_run
from workbench.services.targets import add_target, list_targets

pytestmark = pytest.mark.usefixtures("fast_hashing")
TIMEOUT = 120


def bars(at: AppTest) -> list[str]:
    return [p.proto.text for p in at.get("progress")]


def open_page(user, page: str) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["auth_participant_id"] = user.participant_id
    at.session_state["auth_language"] = "nl"
    at.run()
    return at.switch_page(page).run()


def test_judge_page_starts_a_judge_run_as_one_job(eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    list_targets(engine=eng)
    run_id = create_run(engine=eng, library=library, bot_name="reference",
                        scenario_ids=sorted(library.scenarios)[:1])
    add_target(engine=eng, name="rechter", kind=BotKind.openai, base_url="http://127.0.0.1:9/v1",
               model="judge-m", prompt="Beoordeel.", label="j1")
    at = open_page(staff(eng, "fac-j", Role.facilitator), "app_pages/judge.py")
    assert not at.exception
    assert at.selectbox(key="judge_run").value == run_id
    assert at.selectbox(key="judge_target").options == ["rechter"]  # openai targets only
    button(at, "Beoordelen starten").click().run()
    button(at, "Beoordelen starten").click().run()  # a double click
    assert not at.exception
    (job,) = jobs.list_jobs(engine=eng)
    assert job.kind == "judge" and job.created_by == "fac-j"
    assert job.params == {"run_id": run_id, "judge": "rechter", "concurrency": 8,
                          "retries": 2, "json_mode": False}
    assert "Deze taak liep al" in texts(at) and "Er draait nu geen worker" in texts(at)
    assert bars(at) == ["Deze taak wacht op een worker…"]
    with thread_worker(eng, settings.resolved_queue_url()):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=job.id).final, what="the judge")
    at.run()
    done = jobs.get_job(engine=eng, job_id=job.id)
    assert done.status == JobStatus.done and done.result and done.result["total"] == 0
    assert bars(at) == ["Klaar."]


def test_experts_see_the_judge_alignment_but_start_nothing(eng) -> None:  # type: ignore[no-untyped-def]
    at = open_page(staff(eng, "exp-j", Role.expert), "app_pages/judge.py")
    assert not at.exception
    assert "Beoordelen starten" not in [b.label for b in at.button]


def test_progress_block_cancels_and_the_jobs_page_lists(eng, settings) -> None:  # type: ignore[no-untyped-def]
    long = jobs.enqueue(engine=eng, kind="noop", params={"steps": 2000, "sleep_s": 0.05},
                        created_by="dev-x")
    bad = jobs.enqueue(engine=eng, kind="run", params={"run_id": "x", "oops": 1},
                       created_by="dev-x")
    dev = staff(eng, "dev-x", Role.developer)
    with thread_worker(eng, settings.resolved_queue_url(), threads=2, stale_after_s=3):
        wait_until(lambda: jobs.get_job(engine=eng, job_id=bad.id).final and
                   jobs.get_job(engine=eng, job_id=long.id).done > 2, what="both jobs going")
        at = open_page(dev, "app_pages/jobs.py")
        assert not at.exception and at.title[0].value == "Taken op de achtergrond"
        table = at.dataframe[0].value
        assert list(table["Status"]) == ["mislukt", "bezig"]
        assert list(table["Soort"]) == ["batchrun", "test van de wachtrij"]
        at.selectbox(key="jobs_pick").set_value(long.id).run()
        bar = at.get("progress")[0].proto
        assert "Bezig: " in bar.text and " van 2000" in bar.text
        button(at, "Annuleren").click().run()
        assert jobs.get_job(engine=eng, job_id=long.id).cancel_requested
        wait_until(lambda: jobs.get_job(engine=eng, job_id=long.id).final, what="the cancel")
    at.run()
    assert "Deze taak is geannuleerd" in texts(at)
    at.selectbox(key="jobs_pick").set_value(bad.id).run()
    assert "Extra inputs are not permitted" in "\n".join(c.value for c in at.code)
    assert "Deze taak is mislukt" in texts(at)
    at.toggle(key="jobs_only_active").set_value(True).run()
    assert "Er zijn nog geen taken." in texts(at)
