"""The export page: only developers reach it; a developer previews scrubbed records, starts an
export as a job that a worker writes, and gets that export's zip to download."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from tests.jobs_support import thread_worker, wait_until
from tests.test_export import SCENARIOS, seed_export_data
from tests.training_support import (
    APP,
    button,
    panel_member,
    reference_day,
    staff,
    texts,
)
from workbench.domain.enums import Role
from workbench.domain.privacy import get_scrubber
from workbench.services.export import export_zip
from workbench.storage.db import session_scope
from workbench.storage.tables import ExportRecord

pytestmark = pytest.mark.usefixtures("fast_hashing")
PAGE = "app_pages/export.py"
TIMEOUT = 120  # the first preview may build the scrubber's lookup tables



def open_as(user) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state["auth_participant_id"] = user.participant_id
    at.session_state["auth_language"] = "nl"
    return at.run()


@pytest.mark.parametrize("role", [Role.facilitator, Role.expert, Role.manager, Role.panel])
def test_other_roles_are_refused(role: Role, eng, library) -> None:  # type: ignore[no-untyped-def]
    user = panel_member(eng, reference_day(eng, library)) if role == Role.panel \
        else staff(eng, f"u-{role}", role)
    at = open_as(user)
    with pytest.raises(ValueError):  # not in their menu, not by URL
        at.switch_page(PAGE)
    page = AppTest.from_file(str(APP.parent / PAGE), default_timeout=TIMEOUT)
    page.session_state["auth_participant_id"] = user.participant_id
    page.run()
    assert "niet voor jouw rol" in texts(page) and len(page.title) == 0


def test_developer_previews_exports_and_downloads(eng, library, settings) -> None:  # type: ignore[no-untyped-def]
    get_scrubber().load()  # shared with the other tests of this session
    seed_export_data(eng, library)
    dev = staff(eng, "dev-1", Role.developer)
    at = open_as(dev)
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Exporteren"
    assert "Nog geen exports." in texts(at)

    at.multiselect(key="ex_scenarios").set_value([SCENARIOS[0]])  # holds the PII example
    button(at, "Voorbeeld tonen").click().run()
    assert not at.exception
    shown = "\n".join(c.value for c in at.code)
    assert '"messages"' in shown and "[PERSOON-1]" in shown
    assert "Sanne" not in shown and "06-12345678" not in shown and "0800-2000" in shown

    button(at, "Exporteren").click().run()
    assert not at.exception
    # A job now, not work inside the page:
    assert [p.proto.text for p in at.get("progress")] == ["Deze taak wacht op een worker…"]
    assert "Er draait nu geen worker" in texts(at)
    with thread_worker(eng, settings.resolved_queue_url()):
        wait_until(lambda: at.run() and "record(s) geëxporteerd naar" in texts(at),
                   timeout=120, what="the export job")
    assert not at.exception
    with session_scope(eng) as s:
        rec = s.exec(select(ExportRecord)).one()
        assert rec.created_by == "dev-1" and rec.format == "openai-sft"
    download = at.get("download_button")
    assert [d.proto.label for d in download] == ["Zip downloaden",
                                                   "Gekozen export downloaden (zip)"]
    assert download[0].proto.deferred_file_id  # zipped when clicked; the zip itself:
    with zipfile.ZipFile(io.BytesIO(export_zip(Path(rec.out_dir)))) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
    assert {"manifest.json", "train.jsonl", "validation.jsonl", "index.csv"} <= names
