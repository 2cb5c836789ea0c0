"""Judge alignment: how far the automatic rubric judge agrees with the experts per criterion, and
on which criteria it is trusted to pre-screen replies. Developers and facilitators also start a
judge run on a batch run here; it runs as a job on a worker, with its progress on this page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.domain.enums import Role
from workbench.i18n import percent
from workbench.services import evaluation, jobs, targets
from workbench.services.errors import NotFound
from workbench.ui import state
from workbench.ui.guard import require_role
from workbench.ui.i18n import current_language, num, t
from workbench.ui.jobs import job_progress

user = require_role(Role.developer, Role.facilitator, Role.expert)
engine = state.engine()

st.session_state.setdefault("judge_job", None)
st.title(t("judge.title"))
st.caption(t("judge.intro"))


def _start_form() -> None:
    """Pick a run and a judge target; the judge run becomes a job (a double click: one job)."""
    runs = jobs.recent_runs(engine=engine)
    judges = [tv.name for tv in targets.list_targets(engine=engine) if tv.kind == "openai"]
    if not runs or not judges:
        st.caption(t("judge.start_unavailable"))
        return
    labels = {r.run_id: t("judge.run_choice", run=r.run_id, bot=r.bot_target,
                          at=r.started_at.strftime("%Y-%m-%d %H:%M")) for r in runs}
    with st.form("judge_start"):
        run_id = st.selectbox(t("judge.run"), list(labels), format_func=labels.__getitem__,
                              key="judge_run")
        judge = st.selectbox(t("judge.judge_target"), judges, key="judge_target")
        concurrency = st.number_input(t("judge.concurrency"), 1, 64, 8, key="judge_concurrency")
        submitted = st.form_submit_button(t("judge.start"), type="primary")
    if submitted and run_id and judge:
        try:
            started = jobs.enqueue_judge(engine=engine, run_id=run_id, judge=judge,
                                         concurrency=int(concurrency), created_by=user.code)
        except NotFound as err:
            st.error(str(err))
        except jobs.QueueUnavailable as err:
            st.error(t(err.key, **err.fmt))
        else:
            st.session_state["judge_job"] = started.id
            if started.reused:
                st.info(t("jobs.reused"))


if user.role in (Role.developer, Role.facilitator):
    with st.expander(t("judge.start_title"), expanded=st.session_state["judge_job"] is not None):
        _start_form()
        if st.session_state["judge_job"] is not None:
            job_progress(int(st.session_state["judge_job"]), key="judge_job")

choices = evaluation.judge_choices(engine=engine)
if not choices:
    st.info(t("judge.none"))
    st.stop()
labels = {i: t("judge.choice", judge=c.judge, rubric=c.rubric_label, n=c.n_ratings)
          for i, c in enumerate(choices)}
picked = choices[st.selectbox(t("judge.pick"), list(labels), key="judge_choice",
                              format_func=labels.__getitem__)]

default = evaluation.TrustThresholds()
with st.expander(t("judge.thresholds")):
    c1, c2, c3, c4 = st.columns(4)
    thresholds = evaluation.TrustThresholds(
        min_kappa=c1.number_input(t("judge.min_kappa"), 0.0, 1.0, default.min_kappa, 0.05,
                                  key="judge_min_kappa"),
        max_unsafe_miss_rate=c2.number_input(t("judge.max_miss"), 0.0, 1.0,
                                             default.max_unsafe_miss_rate, 0.05,
                                             key="judge_max_miss"),
        min_n=int(c3.number_input(t("judge.min_n"), 1, 10_000, default.min_n,
                                  key="judge_min_n")),
        min_unsafe_n=int(c4.number_input(t("judge.min_unsafe_n"), 1, 1000, default.min_unsafe_n,
                                         key="judge_min_unsafe_n")),
    )

report = evaluation.alignment_report(engine=engine, judge=picked.judge,
                             rubric_version_id=picked.rubric_version_id, thresholds=thresholds)
failures = evaluation.judge_failure_count(engine=engine, judge=picked.judge)

m1, m2, m3, m4 = st.columns(4)
m1.metric(t("judge.n_judged"), report.n_judged)
m2.metric(t("judge.n_paired"), report.n_paired)
m3.metric(t("judge.n_adjudicated"), report.n_adjudicated)
m4.metric(t("judge.failures"), failures)

if report.trusted:
    names = {r.key: r.name for r in report.rows}
    st.success(t("judge.trusted", criteria=", ".join(names[k] for k in report.trusted)))
else:
    st.warning(t("judge.trusted_none"))
if report.unsafe is not None and report.unsafe.miss_rate is not None:
    st.write(t("judge.unsafe_replies", missed=report.unsafe.missed, n=report.unsafe.n_unsafe,
               rate=percent(report.unsafe.miss_rate, current_language())))
else:
    st.caption(t("judge.unsafe_none"))


table = pd.DataFrame([{
    t("judge.col.criterion"): r.name + (" ⚠" if r.critical else ""),
    t("judge.col.n"): r.alignment.n,
    t("judge.col.kappa"): num(r.alignment.kappa),
    t("judge.col.spearman"): num(r.alignment.spearman),
    t("judge.col.bias"): num(r.alignment.bias, sign=True),
    t("judge.col.miss"): ("–" if r.alignment.unsafe_n is None else
                          f"{r.alignment.unsafe_missed}/{r.alignment.unsafe_n}"),
    t("judge.col.trusted"): "✓" if r.trust.trusted else "✗",
    t("judge.col.reason"): r.trust.reason,
} for r in report.rows])
st.dataframe(table, hide_index=True, width="stretch")
st.caption(t("judge.legend"))

st.subheader(t("judge.confusion"))
st.caption(t("judge.confusion_help"))
for r in report.rows:
    if not r.alignment.n:
        continue
    with st.expander(f"{r.name} (n = {r.alignment.n})"):
        levels = [str(v) for v in range(1, 6)]
        frame = pd.DataFrame(r.alignment.confusion,
                             index=[t("judge.human", level=v) for v in levels],
                             columns=[t("judge.judge", level=v) for v in levels])
        st.dataframe(frame, width="stretch")
