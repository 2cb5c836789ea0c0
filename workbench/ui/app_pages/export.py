"""Export (developers only): choose a format and filters, preview scrubbed records and counts,
write the export, download it as a zip."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from workbench.config import get_settings
from workbench.domain.enums import CurationState, RiskLevel, Role, ViolenceForm
from workbench.domain.export_formats import ExportFormat
from workbench.services import export
from workbench.services.export import (
    ExportFilters,
    ExportOptions,
    ExportTargetError,
    ResidualPIIError,
    preview_export,
    write_export,
)
from workbench.ui import state
from workbench.ui.guard import require_role
from workbench.ui.i18n import t

user = require_role(Role.developer)
engine = state.engine()
st.session_state.setdefault("ex_last", None)

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
                              key="ex_states", help=t("export.states_help"))
    risks = right.multiselect(t("export.risk_levels"), [str(r) for r in RiskLevel],
                              key="ex_risks")
    scenarios = left.multiselect(t("export.scenarios"), sorted(state.library().scenarios),
                                 key="ex_scenarios")
    tags = right.multiselect(t("export.tags"), [str(v) for v in ViolenceForm], key="ex_tags")
    min_score = left.number_input(t("export.min_score"), min_value=0.0, max_value=5.0,
                                  value=0.0, step=0.5, key="ex_min_score",
                                  help=t("export.min_score_help"))
    seed = right.number_input(t("export.seed"), min_value=0, value=13, step=1, key="ex_seed")
    include_no_consent = st.checkbox(t("export.include_no_consent"), key="ex_no_consent",
                                     help=t("export.include_no_consent_help"))
    allow_residual = st.checkbox(t("export.allow_residual"), key="ex_allow_residual",
                                 help=t("export.allow_residual_help"))
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

if run_export:
    out_dir = export.new_export_dir(get_settings().runs_dir, options.format)
    try:
        with st.spinner(t("export.scrubbing")):
            result = write_export(engine=engine, options=options, out_dir=out_dir, actor=user.code)
    except ResidualPIIError as err:
        st.error(t("export.residual_found", n=len(err.residuals)))
        st.markdown("\n".join(f"- `{r}`" for r in err.residuals[:30]))
    except ExportTargetError as err:
        st.error(str(err))
    else:
        st.session_state["ex_last"] = str(result.out_dir)
        counts = result.manifest["counts"]
        st.success(t("export.done", n=counts.get("records", 0), folder=str(result.out_dir)))
        if result.residuals:
            st.warning(t("export.residual_allowed", n=len(result.residuals)))

st.subheader(t("export.earlier"))
recent = [e for e in export.recent_exports(engine=engine) if e.exists]
if not recent:
    st.caption(t("export.none_yet"))
else:
    by_dir = {e.out_dir: e for e in recent}
    last = st.session_state["ex_last"]
    chosen = st.selectbox(
        t("export.pick"), list(by_dir), key="ex_pick",
        index=list(by_dir).index(last) if last in by_dir else 0,
        format_func=lambda d: t("export.item", format=by_dir[d].format, n=by_dir[d].records,
                                who=by_dir[d].created_by or "-",
                                at=by_dir[d].created_at.strftime("%Y-%m-%d %H:%M")))
    st.download_button(t("export.download"), data=export.export_zip(Path(chosen)),
                       file_name=f"{Path(chosen).name}.zip", mime="application/zip",
                       key="ex_download", icon=":material/download:")
