"""Management dashboard: is the bot getting better, and is it ready? Aggregates only — no
transcripts, no participant codes; frames come from the dashboard service, cached per filter."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import sqlalchemy as sa
import streamlit as st

from workbench.config import get_settings
from workbench.domain.enums import Role
from workbench.domain.readiness import ConditionStatus, GateVerdict
from workbench.services import training
from workbench.services.dashboard import (
    AGREEMENT_MAX_ITEMS,
    COVERAGE_MIN_REPLIES,
    Dashboard,
    DashboardFilter,
    SimulatedCounts,
    all_figures,
    build_dashboard,
    filter_options,
    render_report,
    report_scope,
    simulated_overview,
    tr,
)
from workbench.ui import state
from workbench.ui.components import plain
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import current_language, num, t

user = require_role(Role.manager, Role.facilitator, Role.developer)
engine = state.engine()
lang = current_language()
CACHE_TTL_S = 60  # ratings arrive all day; a minute-old dashboard is fresh enough


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _options(url: str, _engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    return filter_options(_engine)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=True)
def _dashboard(url: str, key: tuple[Any, ...], coverage_min: int, _engine: sa.Engine
               ) -> Dashboard:
    return build_dashboard(_engine, DashboardFilter(*key), coverage_min=coverage_min)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _simulated(url: str, bot_target_id: int | None, _engine: sa.Engine) -> SimulatedCounts:
    return simulated_overview(_engine, bot_target_id=bot_target_id)


def _choice(label: str, rows: list[dict[str, Any]], fmt: Any, key: str) -> int | None:
    ids: list[int | None] = [None, *(r["id"] for r in rows)]
    names = {r["id"]: fmt(r) for r in rows}
    return st.selectbox(label, ids, key=key,
                        format_func=lambda i: t("dashboard.filter.all") if i is None else names[i])


def _filters(opts: dict[str, list[dict[str, Any]]]) -> tuple[DashboardFilter, int]:
    with st.sidebar:
        st.subheader(t("dashboard.filter.heading"))
        date_from: date | None = st.date_input(t("dashboard.filter.date_from"), value=None,
                                               key="dash_from")
        date_to: date | None = st.date_input(t("dashboard.filter.date_to"), value=None,
                                             key="dash_to")
        # The days every other picker shows (archived ones left out; their figures stay).
        shown = {d.id: d for d in training.list_days(engine=engine)}
        day = _choice(t("dashboard.filter.day"), [r for r in opts["training_days"]
                                                  if r["id"] in shown],
                      lambda r: day_label(shown[r["id"]]), "dash_day")
        bot = _choice(t("dashboard.filter.bot"), opts["bot_targets"], lambda r: r["name"],
                      "dash_bot")
        versions = [p for p in opts["prompt_versions"] if bot is None or p["bot_target_id"] == bot]
        labels = {p["id"]: p["label"] for p in versions}
        chosen = st.multiselect(t("dashboard.filter.prompt_versions"), list(labels),
                                format_func=lambda i: labels[i], key="dash_pv",
                                placeholder=t("dashboard.filter.all"))
        rubric = _choice(t("dashboard.filter.rubric"), opts["rubric_versions"],
                         lambda r: f"{r['rubric_id']} v{r['version']}", "dash_rubric")
        minimum = int(st.number_input(t("dashboard.filter.coverage_min"), min_value=1,
                                      value=COVERAGE_MIN_REPLIES, step=5, key="dash_cov_min"))
    filt = DashboardFilter(date_from=date_from if isinstance(date_from, date) else None,
                           date_to=date_to if isinstance(date_to, date) else None,
                           bot_target_id=bot, prompt_version_ids=tuple(sorted(chosen)),
                           rubric_version_id=rubric, training_day_id=day)
    return filt, minimum


# Streamlit's bundled icon font: no emoji font needed, and colour-blind safe with the words.
_ICON = {ConditionStatus.met: ":green[:material/check_circle:]",
         ConditionStatus.not_met: ":red[:material/cancel:]",
         ConditionStatus.not_enough_data: ":gray[:material/hourglass_empty:]"}


def _readiness(d: Dashboard) -> None:
    st.subheader(t("dashboard.readiness.title"))
    head = d.headline
    verdict = head.report.verdict
    text = t("dashboard.readiness.headline", label=plain(head.label),
             verdict=tr(verdict.value, lang))
    box = {GateVerdict.ready: st.success, GateVerdict.not_ready: st.error}.get(verdict, st.info)
    with st.container(border=True):
        box(text)
        for c in head.report.conditions:
            st.markdown(t("dashboard.readiness.condition", icon=_ICON[c.status],
                          status=tr(c.status.value, lang),
                          description=getattr(c.description, lang),
                          numbers=getattr(c.explanation, lang)))
    if len(d.readiness) > 1:
        with st.expander(t("dashboard.readiness.earlier")):
            for p in reversed(d.readiness[:-1]):
                st.markdown(f"**{plain(p.label)}**: {tr(p.report.verdict.value, lang)} — "
                            + "; ".join(f"{_ICON[c.status]} {c.id}" for c in p.report.conditions))


def _excerpts(d: Dashboard) -> None:
    st.caption(t("dashboard.examples_caption"))
    if d.excerpts.empty:
        st.info(t("dashboard.no_data"))
        return
    columns = ("scenario", "prompt_version", "mean", "unsafe_ratings", "ratings", "excerpt")
    shown = d.excerpts.assign(excerpt=d.excerpts["excerpt"].fillna(
        t("dashboard.excerpt_pending")), mean=d.excerpts["mean"].map(lambda m: num(m)))
    st.dataframe(shown[list(columns)].rename(
        columns={c: t(f"dashboard.column.{c}") for c in columns}), hide_index=True)


def _report_download(d: Dashboard) -> None:
    # Deferred: the 5 MB file is rendered only when someone clicks, not on every rerun.
    st.download_button(t("dashboard.download"), data=lambda: render_report(
        d, lang=lang, scope=report_scope(engine, d.filter, lang)),
                       file_name=f"rapport-{date.today().isoformat()}.html", mime="text/html",
                       icon=":material/download:", key="dash_download")
    st.caption(t("dashboard.download_help"))


st.title(t("dashboard.title"))
st.caption(t("dashboard.intro"))
url = get_settings().resolved_database_url()
filt, minimum = _filters(_options(url, engine))
d = _dashboard(url, dataclasses.astuple(filt), minimum, engine)
if d.totals.get("demo_replies"):
    st.warning(t("dashboard.demo", n=d.totals["demo_replies"]))
_readiness(d)
cols = st.columns(3)
cols[0].metric(t("dashboard.metric.replies"), d.totals.get("replies", 0))
cols[1].metric(t("dashboard.metric.ratings"), d.totals.get("ratings", 0))
cols[2].metric(t("dashboard.metric.versions"), len([p for p in d.readiness if p.prompt_version_id]))
_report_download(d)
figs = all_figures(d, lang)
tabs = st.tabs([t(f"dashboard.tab.{k}") for k in ("trend", "breakdown", "criteria", "agreement",
                                                  "coverage", "examples")])
groups = (("score_by_pv", "unsafe_by_pv", "score_by_day", "unsafe_by_day"),
          ("by_risk_level", "by_violence_form", "by_writer"), ("heatmap",), ("agreement",),
          ("coverage",))
for tab, names in zip(tabs, groups, strict=False):
    with tab:
        for name in names:
            st.plotly_chart(figs[name], key=f"dash_fig_{name}", width="stretch")
with tabs[3]:
    st.caption(t("dashboard.agreement_caption", n=AGREEMENT_MAX_ITEMS))
with tabs[5]:
    _excerpts(d)


def _decimal(value: float | None) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "nl" else text


def _simulated_section(filt: DashboardFilter) -> None:
    """Simulated conversations apart: the figures above never count them (domain/rules.py)."""
    o = _simulated(url, filt.bot_target_id, engine)
    if not o.conversations:
        return
    st.subheader(t("dashboard.simulated.title"))
    st.caption(t("dashboard.simulated.caption"))
    cols = st.columns(5)
    cols[0].metric(t("dashboard.simulated.conversations"), o.conversations)
    cols[1].metric(t("dashboard.simulated.replies"), o.replies)
    cols[2].metric(t("dashboard.simulated.rated"), o.rated_replies)
    cols[3].metric(t("dashboard.simulated.mean"), _decimal(o.mean_overall))
    cols[4].metric(t("dashboard.simulated.unsafe"), o.unsafe_replies)
    st.dataframe([{t("dashboard.simulated.stop_column"): t(f"dashboard.simulated.stop.{why}"),
                   t("dashboard.simulated.count_column"): n}
                  for why, n in sorted(o.by_stop.items())], hide_index=True)


_simulated_section(filt)
