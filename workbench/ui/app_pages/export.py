"""Export (developers only): choose a format and filters, preview scrubbed records and counts,
start the export as a job, follow it, and download exactly that export as a zip.

The zip is built when someone clicks the download (a callable), from the folder named in the
job's result: the download next to a finished export is always that export, never the one
chosen in the list of earlier exports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from workbench.domain.enums import CurationState, RiskLevel, Role, ViolenceForm
from workbench.domain.export_formats import ExportFormat
from workbench.services import export, jobs
from workbench.services.export import (
    ExportFilters,
    ExportOptions,
    preview_export,
)
from workbench.services.jobs import JobView
from workbench.ui import state
from workbench.ui.components import hint, plain
from workbench.ui.guard import require_role
from workbench.ui.i18n import category, num, t
from workbench.ui.jobs import job_progress

user = require_role(Role.developer)
engine = state.engine()
st.session_state.setdefault("ex_job", None)

st.title(t("export.title"))
st.write(t("export.intro"))

choices = export.export_choices(engine=engine)
days = dict(choices.training_days)
rubrics = dict(choices.rubric_versions)
with st.form("ex_form"):
    fmt = st.selectbox(t("export.format"), list(ExportFormat), key="ex_format",
                       format_func=lambda f: f"{f} · {t('export.formats.' + f.name)}")
    left, right = st.columns(2)
    day = left.selectbox(t("export.training_day"), [None, *days], key="ex_day",
                         format_func=lambda d: t("export.any") if d is None else days[d])
    rubric = right.selectbox(t("export.rubric_version"), [None, *rubrics], key="ex_rubric",
                             format_func=lambda r: t("export.any") if r is None else rubrics[r])
    states = left.multiselect(t("export.states"), [str(s) for s in CurationState],
                              key="ex_states", placeholder=t("export.any"),
                              format_func=lambda s: t(f"curation.states.{s}"))
    risks = right.multiselect(t("export.risk_levels"), [str(r) for r in RiskLevel],
                              key="ex_risks", placeholder=t("export.any"), format_func=category)
    left.caption(t("export.states_help"))
    scenarios = left.multiselect(t("export.scenarios"), sorted(state.library().scenarios),
                                 key="ex_scenarios", placeholder=t("export.any"))
    tags = right.multiselect(t("export.tags"), [str(v) for v in ViolenceForm], key="ex_tags",
                             placeholder=t("export.any"), format_func=category)
    # Steps of a half as a choice with Dutch commas (a number field writes 2.5).
    min_score = left.select_slider(t("export.min_score"), [x / 2 for x in range(11)],
                                   value=0.0, key="ex_min_score",
                                   format_func=lambda x: num(x, 1))
    left.caption(t("export.min_score_help"))
    seed = right.number_input(t("export.seed"), min_value=0, value=13, step=1, key="ex_seed")
    include_no_consent = st.checkbox(t("export.include_no_consent"), key="ex_no_consent")
    hint(t("export.include_no_consent_help"))
    allow_residual = st.checkbox(t("export.allow_residual"), key="ex_allow_residual")
    hint(t("export.allow_residual_help"))
    col_a, col_b = st.columns(2)
    show_preview = col_a.form_submit_button(t("export.preview"))
    run_export = col_b.form_submit_button(t("export.run"), type="primary")

options = ExportOptions(
    format=ExportFormat(fmt or ExportFormat.openai_sft), seed=int(seed),
    allow_residual=allow_residual, workers=1,  # never fork the (threaded) app server
    filters=ExportFilters(training_day_id=day, states=tuple(states) or None,
                          scenario_ids=tuple(scenarios), tags=tuple(tags),
                          risk_levels=tuple(risks), rubric_version_id=rubric,
                          min_score=float(min_score) or None,
                          consent_only=not include_no_consent))

if show_preview:
    with st.spinner(t("export.scrubbing")):
        shown = preview_export(engine=engine, options=options, n=3)
    st.subheader(t("export.preview_title"))
    st.json(shown.counts, expanded=False)
    if shown.residual:
        st.warning(t("export.preview_residual", n=shown.residual))
    if not shown.files:
        st.info(t("export.nothing"))
    for name, text in shown.files.items():
        st.caption(name)
        st.code(text or t("export.empty_file"), language="json" if name.endswith(".jsonl")
                else None, wrap_lines=True)



def _zip_of(folder: str) -> Callable[[], bytes]:
    return lambda: export.export_zip(Path(folder))


def _this_export(job: JobView) -> None:
    """What a finished export job leaves: its counts and the download of its own folder."""
    result = job.result or {}
    if job.status == "failed" and "residual_count" in result:
        st.error(t("export.residual_found", n=result["residual_count"]))
        st.markdown("\n".join(f"- `{r['file']} {r['record']} {r['field']}: {r['type']}`"
                               for r in result.get("residuals", [])[:30]))
    elif job.status == "failed":
        st.error(t("jobs.failed", error=plain((job.error or "?").splitlines()[0])))
    if job.status != "done" or not result.get("out_dir"):
        return
    st.success(t("export.done", n=result.get("records", 0), folder=result["out_dir"]))
    if result.get("residual_count"):
        st.warning(t("export.residual_allowed", n=result["residual_count"]))
    if not Path(result["out_dir"]).is_dir():  # a worker on another machine, no shared runs/
        st.caption(t("export.not_here"))
        return
    st.download_button(t("export.download"), data=_zip_of(result["out_dir"]),
                       file_name=f"{Path(result['out_dir']).name}.zip", mime="application/zip",
                       key=f"ex_download_{job.id}", icon=":material/download:")


if run_export:
    try:
        started = jobs.enqueue_export(engine=engine, options=options, created_by=user.code)
    except jobs.QueueUnavailable as err:
        st.error(t(err.key, **err.fmt))
    else:
        st.session_state["ex_job"] = started.id
        if started.reused:
            st.info(t("jobs.reused"))

if st.session_state["ex_job"] is not None:
    st.subheader(t("export.this_export"))
    job_progress(int(st.session_state["ex_job"]), key="ex_job", on_end=_this_export,
                 show_result=False)

st.subheader(t("export.earlier"))
recent = [e for e in export.recent_exports(engine=engine) if e.exists]
if not recent:
    st.caption(t("export.none_yet"))
else:
    by_dir = {e.out_dir: e for e in recent}
    chosen = st.selectbox(
        t("export.pick"), list(by_dir), key="ex_pick",
        format_func=lambda d: t("export.item", format=by_dir[d].format, n=by_dir[d].records,
                                who=by_dir[d].created_by or "-",
                                at=by_dir[d].created_at.strftime("%Y-%m-%d %H:%M")))
    st.download_button(t("export.download_chosen"), data=_zip_of(chosen),
                       file_name=f"{Path(chosen).name}.zip", mime="application/zip",
                       key="ex_download_chosen", icon=":material/download:")
