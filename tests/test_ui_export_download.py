"""Issue 14.2: right after an export, "Zip downloaden" hands out that export, not an earlier
one (it delivered the earlier openai-sft zip right after an openai-dpo export)."""

from __future__ import annotations

from functools import partial

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from tests.jobs_support import Downloads, thread_worker, wait_until, zip_manifest
from tests.test_export import seed_export_data
from tests.training_support import APP, button, staff
from workbench.domain.enums import Role
from workbench.domain.export_formats import ExportFormat
from workbench.domain.privacy import get_scrubber
from workbench.storage.db import session_scope
from workbench.storage.tables import ExportRecord

pytestmark = pytest.mark.usefixtures("fast_hashing")
PAGE = "app_pages/export.py"


def has_exports(eng, n: int) -> bool:  # type: ignore[no-untyped-def]
    with session_scope(eng) as s:
        return int(s.exec(select(func.count()).select_from(ExportRecord)).one()) == n


def test_download_after_an_export_is_that_export(eng, library, settings, monkeypatch
                                                 ) -> None:  # type: ignore[no-untyped-def]
    get_scrubber().load()
    seed_export_data(eng, library)
    downloads = Downloads(monkeypatch)
    dev = staff(eng, "dev-dl", Role.developer)
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["auth_participant_id"] = dev.participant_id
    at.session_state["auth_language"] = "nl"
    at.run()
    at.switch_page(PAGE).run()
    with thread_worker(eng, settings.resolved_queue_url()):
        for n, fmt in enumerate(("openai-sft", "openai-dpo"), start=1):
            at.selectbox(key="ex_format").set_value(ExportFormat(fmt))
            button(at, "Exporteren").click().run()
            assert not at.exception
            wait_until(partial(has_exports, eng, n), timeout=120, what=f"export {n}")

            def offered() -> bool:
                at.run()
                return any(b.proto.label == "Zip downloaden" for b in at.get("download_button"))

            wait_until(offered, timeout=60, what="the download button")
            assert zip_manifest(downloads.of(at, "Zip downloaden"))["format"] == fmt
