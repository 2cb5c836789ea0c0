"""The static board report: one self-contained HTML file with the dashboard's figures and the
readiness verdict, readable offline (plotly.js inlined; no external script, style, font or URL).

plotly.js itself contains URL strings in its code (map tiles, an SVG namespace); they are only
used by trace types the report does not draw, so the browser loads nothing. Every other part of
the file is checked for URLs at render time and any scheme is stripped (`_defang`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.offline
import sqlalchemy as sa

from workbench.domain.readiness import GateReport
from workbench.domain.untrusted import html_literal
from workbench.i18n import number, translate
from workbench.services.dashboard._dashboard import (
    AGREEMENT_MAX_ITEMS,
    Dashboard,
    DashboardFilter,
    build_dashboard,
    filter_options,
)
from workbench.services.dashboard._excerpts import scrub_pending_excerpts
from workbench.services.dashboard._figures import all_figures, category, tr

REPORT_LANGUAGES = ("nl", "en")

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1100px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
.meta{color:#555}.demo{background:#fff4d6;border:1px solid #e0b84c;padding:.6rem 1rem}
.verdict{font-size:1.3rem;font-weight:600;padding:.8rem 1rem;border-radius:6px;margin:1rem 0}
.ready{background:#e3f4e4;border:1px solid #2e7d32}.not_ready{background:#fde8e8;
border:1px solid #c62828}.not_enough_data{background:#eef0f3;border:1px solid #7a828c}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border-bottom:1px solid #e3e3e3;
padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f6f6f6}
.s-met{color:#2e7d32;font-weight:600}.s-not_met{color:#c62828;font-weight:600}
.s-not_enough_data{color:#555;font-weight:600}.fig{margin:1rem 0}
"""

# A scheme ("https://") or a protocol-relative start ("//host.tld") of a URL.
_URL = re.compile(r"(?i)(?:\bhttps?:)?//(?=[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})")


@dataclass(frozen=True)
class ReportResult:
    path: Path
    verdict: str
    replies: int


def _defang(text: str) -> str:
    """Drop URL schemes ("https://www.x.nl" → "www.x.nl"): the file must not point anywhere."""
    return _URL.sub("", text)


def _t(key: str, lang: str, **fmt: object) -> str:
    text = translate(f"report.{key}", lang)
    return text.format(**fmt) if fmt else text


def _esc(text: object) -> str:
    """Every text that is not our own markup (excerpts, scenario titles, labels): inert HTML."""
    return html_literal(_defang(str(text)))


def _conditions_table(report: GateReport, lang: str) -> str:
    rows = "".join(
        f"<tr><td>{_esc(getattr(c.description, lang))}</td>"
        f"<td class='s-{c.status.value}'>{_esc(tr(c.status.value, lang))}</td>"
        f"<td>{_esc(getattr(c.explanation, lang))}</td></tr>"
        for c in report.conditions)
    return (f"<table><tr><th>{_t('condition', lang)}</th><th>{_t('status', lang)}</th>"
            f"<th>{_t('numbers', lang)}</th></tr>{rows}</table>")


def _readiness(d: Dashboard, lang: str) -> str:
    head = d.headline
    verdict = head.report.verdict.value
    out = [f"<div class='verdict {verdict}' id='verdict' data-verdict='{verdict}'>"
           f"{_esc(_t('headline', lang, label=head.label, verdict=tr(verdict, lang)))}</div>",
           _conditions_table(head.report, lang)]
    if len(d.readiness) > 1:
        def statuses(r: GateReport) -> str:
            return "; ".join(f"{c.id}: {tr(c.status.value, lang)}" for c in r.conditions)

        rows = "".join(
            f"<tr><td>{_esc(p.label)}</td><td>{_esc(tr(p.report.verdict.value, lang))}</td>"
            f"<td>{_esc(statuses(p.report))}</td></tr>" for p in reversed(d.readiness[:-1]))
        out.append(f"<h3>{_t('older', lang)}</h3><table><tr><th>{_t('version', lang)}</th>"
                   f"<th>{_t('verdict', lang)}</th><th>{_t('condition', lang)}</th></tr>"
                   f"{rows}</table>")
    return "".join(out)


def _gaps(coverage: pd.DataFrame, lang: str) -> str:
    if coverage.empty:
        return ""
    few = coverage[~coverage["enough"]]
    minimum = int(coverage["minimum"].iloc[0])
    if few.empty:
        return f"<p>{_t('no_gaps', lang)}</p>"
    items = "".join(f"<li>{_esc(tr(r.dimension, lang))}: {_esc(category(r.value, lang))} "
                    f"({int(r.replies)})</li>" for r in few.itertuples())
    return f"<p>{_t('gaps', lang, n=minimum)}</p><ul>{items}</ul>"


def _excerpts(frame: pd.DataFrame, lang: str) -> str:
    if frame.empty:
        return f"<p>{tr('no_data', lang)}</p>"
    rows = "".join(
        f"<tr><td>{_esc(r.scenario)}</td><td>{_esc(r.prompt_version)}</td>"
        f"<td>{'' if pd.isna(r.mean) else number(r.mean, lang)}</td>"
        f"<td>{int(r.unsafe_ratings)} ({int(r.ratings)})</td>"
        f"<td>{_esc(_t('excerpt_pending', lang) if pd.isna(r.excerpt) else r.excerpt)}</td></tr>"
        for r in frame.itertuples())
    return (f"<table><tr><th>{_t('scenario', lang)}</th><th>{_t('version', lang)}</th>"
            f"<th>{_t('mean', lang)}</th><th>{_t('unsafe_votes', lang)}</th>"
            f"<th>{_t('excerpt', lang)}</th></tr>{rows}</table>")


def _figures_html(d: Dashboard, lang: str) -> dict[str, str]:
    config = {"displaylogo": False, "responsive": True}
    return {name: f"<div class='fig'>{fig.to_html(full_html=False, include_plotlyjs=False, config=config, div_id=f'fig-{name}')}</div>"  # noqa: E501
            for name, fig in all_figures(d, lang).items()}


def render_report(d: Dashboard, *, lang: str = "nl", scope: str | None = None,
           generated_at: datetime | None = None,
           agreement_items: int = AGREEMENT_MAX_ITEMS) -> str:
    """The report as one HTML string for a built dashboard. `scope` names the selection
    (`report_scope`); without it a filtered dashboard is still described by its filter, so the
    header never says "all training days" about one day (issue 14, item 3)."""
    if lang not in REPORT_LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(REPORT_LANGUAGES)}, got {lang!r}")
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    figs = _figures_html(d, lang)
    demo = d.totals.get("demo_replies", 0)
    scope = scope or describe_filter(d.filter, lang) or _t("all_days", lang)
    body = [
        f"<h1>{_t('title', lang)}</h1>",
        f"<p class='meta'>{_t('made', lang)} {when} · {_t('scope', lang)}: "
        f"{_esc(scope)} · "
        f"{_t('counts', lang, replies=d.totals.get('replies', 0), ratings=d.totals.get('ratings', 0))}</p>",  # noqa: E501
        f"<p class='demo'>{_t('demo', lang, n=demo)}</p>" if demo else "",
        f"<h2>{_t('readiness', lang)}</h2>", _readiness(d, lang),
        f"<h2>{_t('trend', lang)}</h2>",
        *(figs[k] for k in ("score_by_pv", "unsafe_by_pv", "score_by_day", "unsafe_by_day")),
        f"<h2>{_t('breakdown', lang)}</h2>",
        *(figs[k] for k in ("by_risk_level", "by_violence_form", "by_writer")),
        f"<h2>{_t('criteria', lang)}</h2>", figs["heatmap"],
        f"<h2>{_t('agreement', lang)}</h2>", figs["agreement"],
        f"<h2>{_t('coverage', lang)}</h2>", figs["coverage"], _gaps(d.coverage, lang),
        f"<h2>{_t('examples', lang)}</h2>", _excerpts(d.excerpts, lang),
        f"<h2>{_t('method', lang)}</h2><p>{_t('method_text', lang, n=agreement_items)}</p>",
    ]
    # Only our own markup goes through _defang: the plotly.js bundle is inlined untouched.
    page = _defang("\n".join(body))
    return (f"<!DOCTYPE html>\n<html lang='{lang}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_t('title', lang)}</title><style>{_STYLE}</style>"
            f"<script type='text/javascript'>{plotly_bundle()}</script></head>"
            f"<body>\n{page}\n</body></html>\n")


def plotly_bundle() -> str:
    """The plotly.js library, to inline (tests strip exactly this to check the rest)."""
    return plotly.offline.get_plotlyjs()


def describe_filter(filt: DashboardFilter, lang: str = "nl",
                    names: dict[str, list[dict[str, Any]]] | None = None) -> str | None:
    """The selection in words, one part per filter that narrows ("training day Dag 1
    (2026-11-01) · bot reference · ..."); None when nothing narrows. `names` are the
    dashboard's filter options; without them ids are named ("training day #3")."""
    opts = names or {}

    def named(kind: str, i: int, show: Any) -> str:
        row = next((r for r in opts.get(kind, []) if r["id"] == i), None)
        return show(row) if row is not None else f"#{i}"

    parts = []
    if filt.training_day_id is not None:
        parts.append(f"{_t('day', lang)} " + named(
            "training_days", filt.training_day_id, lambda r: f"{r['name']} ({r['day']})"))
    if filt.date_from is not None or filt.date_to is not None:
        parts.append(_t("dates", lang, start=filt.date_from or "…", end=filt.date_to or "…"))
    if filt.bot_target_id is not None:
        parts.append(f"{_t('bot', lang)} " + named("bot_targets", filt.bot_target_id,
                                                    lambda r: r["name"]))
    if filt.prompt_version_ids:
        parts.append(f"{_t('versions', lang)} " + ", ".join(
            named("prompt_versions", i, lambda r: r["label"]) for i in filt.prompt_version_ids))
    if filt.rubric_version_id is not None:
        parts.append(f"{_t('rubric', lang)} " + named(
            "rubric_versions", filt.rubric_version_id,
            lambda r: f"{r['rubric_id']} v{r['version']}"))
    return " · ".join(parts) or None


def report_scope(engine: sa.Engine, filt: DashboardFilter, lang: str = "nl") -> str | None:
    """`describe_filter` with the names of days, bots, prompt and rubric versions; a training
    day that does not exist raises LookupError."""
    opts = filter_options(engine)
    if filt.training_day_id is not None and filt.training_day_id not in {
            d["id"] for d in opts["training_days"]}:
        raise LookupError(f"no training day with id {filt.training_day_id}")
    return describe_filter(filt, lang, opts)


def day_scope(engine: sa.Engine, training_day_id: int | None, lang: str = "nl") -> str | None:
    """"training day <name> (<date>)" for the report header; LookupError if there is none."""
    return report_scope(engine, DashboardFilter(training_day_id=training_day_id), lang)


def build_report(engine: sa.Engine, *, training_day_id: int | None = None, lang: str = "nl"
                 ) -> tuple[str, Dashboard]:
    """Build the dashboard for one training day (or all) and render it."""
    filt = DashboardFilter(training_day_id=training_day_id)
    scope = report_scope(engine, filt, lang)
    d = build_dashboard(engine, filt)
    return render_report(d, lang=lang, scope=scope), d


def write_report(engine: sa.Engine, out: Path, *, training_day_id: int | None = None,
                 lang: str = "nl") -> ReportResult:
    """Write the report file; returns its path, the headline verdict and the replies counted.
    A file for the board has no time pressure: excerpts still missing are scrubbed first."""
    scrub_pending_excerpts(engine)
    text, d = build_report(engine, training_day_id=training_day_id, lang=lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return ReportResult(out, d.headline.report.verdict.value, d.totals.get("replies", 0))
