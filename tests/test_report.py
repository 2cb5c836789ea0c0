"""The static report: one self-contained HTML file with the verdict and the figures, written by
`workbench report`, pointing nowhere outside itself, and drawing its graphs in a real browser.

What "no external URL" means here, exactly: plotly.js is inlined byte for byte and contains URL
strings in its own code (map tiles, the SVG namespace) that the figures we draw never use. So the
checks are (1) every <script> is inline and the only one with code is plotly.js, unchanged; (2)
outside that bundle there is no http://, https://, protocol-relative //host, src=, href=,
<link>, @import or url(; (3) in chromium, opening the file makes no network request at all.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.test_dashboard import build_world, cheap_scrub
from workbench.cli import app
from workbench.services.context import get_engine
from workbench.services.dashboard import build_dashboard, render_report
from workbench.services.dashboard._report import plotly_bundle
from workbench.storage.db import session_scope
from workbench.storage.tables import Turn

CHROMIUM = "/usr/bin/chromium"
FIGURES = 10
FORBIDDEN = ("http://", "https://", 'src="//', "src='//", "src=", "href=", "<link", "@import",
             "url(")


def outside_bundle(page: str) -> str:
    """The file minus the inlined plotly.js, which must be there exactly once and unchanged."""
    bundle = plotly_bundle()
    assert page.count(bundle) == 1
    return page.replace(bundle, "")


def assert_self_contained(page: str) -> None:
    rest = outside_bundle(page)
    found = {bad for bad in FORBIDDEN if bad in rest.lower()}
    assert found == set(), found
    scripts = re.findall(r"<script\b[^>]*>", page, flags=re.I)
    assert scripts and not [s for s in scripts if "src" in s.lower()]


@pytest.fixture
def filled(settings: Any, library: Any) -> tuple[sa.Engine, Any]:
    eng = get_engine(settings)
    world = build_world(eng, library)
    # A reply that names the helpline's website: the report must show it without a link.
    with session_scope(eng) as s:
        s.exec(sa.update(Turn).where(Turn.id == world.replies["r2"])
               .values(content="Kijk op https://www.veiligthuis.nl of bel 0800-2000."))
    return eng, world


def test_cli_writes_one_self_contained_file_with_the_verdict(
        filled: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.services.dashboard import _excerpts  # the scrubber is module state

    # The real scrubber is tested in test_dashboard; here it would only cost seconds.
    monkeypatch.setattr(_excerpts, "scrub_text", cheap_scrub)
    _, world = filled
    out = tmp_path / "board" / "rapport.html"
    result = CliRunner().invoke(app, ["report", "--training-day", str(world.day),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "<html lang='nl'>" in page and "Gereedheid" in page
    # The shipped gate: too few replies for any condition → one headline, each condition shown.
    assert "data-verdict='not_enough_data'" in page
    assert "Nieuwste promptversie ‘v2’: Onvoldoende gegevens" in page
    assert page.count("class='s-not_enough_data'") == 3
    assert "0 beoordeeld, minstens 100 nodig" in page  # v2 has no acute replies
    assert "trainingsdag Dag 1 (2026-11-01)" in page
    assert "www.veiligthuis.nl" in page  # shown as text, scheme stripped
    assert "Sanne" not in page and "06-12345678" not in page
    assert len(re.findall(r"class=\"plotly-graph-div\"", page)) == FIGURES


def test_cli_english_and_errors(filled: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    runner = CliRunner()
    assert runner.invoke(app, ["report", "--out", str(out), "--language", "en"]).exit_code == 0
    page = out.read_text(encoding="utf-8")
    assert "<html lang='en'>" in page and "Readiness" in page and "Not enough data" in page
    assert_self_contained(page)
    missing = runner.invoke(app, ["report", "--out", str(out), "--training-day", "999"])
    assert missing.exit_code == 2 and "no training day with id 999" in missing.output
    assert runner.invoke(app, ["report", "--out", str(out), "--language", "fr"]).exit_code == 2


def test_render_strips_urls_from_our_markup_only(filled: Any) -> None:
    eng, _ = filled
    page = render_report(build_dashboard(eng, scrub=cheap_scrub), scope="https://example.org/x")
    assert "example.org/x" in page
    assert_self_contained(page)


@pytest.mark.browser
def test_report_opens_offline_in_chromium_and_draws_every_graph(filled: Any,
                                                                 tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    eng, _ = filled
    path = tmp_path / "report.html"
    path.write_text(render_report(build_dashboard(eng, scrub=cheap_scrub)), encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            # Anything that is not the file itself would be a leak: refuse it and record it.
            page.route(re.compile(r"^(?!file://).*"), lambda route: route.abort())
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {FIGURES}",
                timeout=20_000)
            drawn = page.locator(".js-plotly-plot").count()
            verdict = page.locator("#verdict").inner_text()
        finally:
            browser.close()
    assert drawn == FIGURES
    assert "Onvoldoende gegevens" in verdict
    assert errors == []
    assert requests == [path.as_uri()]
