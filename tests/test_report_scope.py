"""The board report names the selection it shows (issue 14, item 3: the report downloaded from
the dashboard said "Selectie: alle trainingsdagen" while it was filtered to one day)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from tests.training_support import reference_day, signed_in_app, staff
from workbench.domain.enums import Role
from workbench.services import dashboard, targets
from workbench.services.dashboard import DashboardFilter, describe_filter, render_report

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a click on a download button would receive: the page's deferred data callables,
    by the file id the button carries."""
    made: dict[str, Any] = {}
    original = MediaFileManager.add_deferred

    def record(self: MediaFileManager, data_callable: Any, *args: Any, **kw: Any) -> str:
        file_id = original(self, data_callable, *args, **kw)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return made


def downloaded_report(at: Any, deferred: dict[str, Any]) -> str:
    [button] = [b for b in at.get("download_button") if b.label == "Rapport downloaden (HTML)"]
    data = deferred[button.proto.deferred_file_id]()
    return data.decode() if isinstance(data, bytes) else str(data)


def test_the_dashboard_download_names_the_chosen_day(eng, library, deferred) -> None:  # type: ignore[no-untyped-def]
    reference_day(eng, library, name="Andere dag")
    day_id = reference_day(eng, library, name="Dag 14", day=date(2026, 11, 14))
    at = signed_in_app(staff(eng, "mgr", Role.manager))
    at.switch_page("app_pages/dashboard.py").run()
    assert not at.exception
    assert "Selectie: alle trainingsdagen" in downloaded_report(at, deferred)
    at.selectbox(key="dash_day").set_value(day_id).run()
    page = downloaded_report(at, deferred)
    assert "Selectie: trainingsdag Dag 14 (2026-11-14)" in page
    assert "alle trainingsdagen" not in page


def test_every_filter_is_described_by_name(eng) -> None:  # type: ignore[no-untyped-def]
    ref = targets.list_targets(engine=eng)[0]
    pv = next(p for p in dashboard.filter_options(eng)["prompt_versions"])
    filt = DashboardFilter(date_from=date(2026, 1, 1), date_to=date(2026, 2, 1),
                           bot_target_id=ref.id, prompt_version_ids=(pv["id"],))
    assert dashboard.report_scope(eng, filt, "nl") == (
        "antwoorden van 2026-01-01 tot en met 2026-02-01 · bot reference · promptversies basis")
    assert dashboard.report_scope(eng, DashboardFilter(), "en") is None
    with pytest.raises(LookupError):
        dashboard.report_scope(eng, DashboardFilter(training_day_id=999), "nl")


def test_a_filtered_report_without_names_still_does_not_claim_all_days(eng) -> None:  # type: ignore[no-untyped-def]
    assert describe_filter(DashboardFilter(training_day_id=3, rubric_version_id=2), "en") == \
        "training day #3 · rubric #2"
    d = dashboard.build_dashboard(eng, DashboardFilter(training_day_id=3))
    page = render_report(d, lang="en")
    assert "Selection: training day #3" in page and "all training days" not in page


def test_a_hostile_day_name_stays_text_in_the_report(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, name="<script>alert(1)</script> https://x.example.org")
    filt = DashboardFilter(training_day_id=day_id)
    page = render_report(dashboard.build_dashboard(eng, filt),
                         scope=dashboard.report_scope(eng, filt, "nl"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; x.example.org" in page
    assert "<script>alert(1)" not in page
