"""Background jobs (developers and facilitators): every job with its status and progress, and
one job in detail with its cancel button and result. Read from the job rows."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.domain.enums import Role
from workbench.services import jobs
from workbench.ui import state
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.jobs import job_progress, kind_text, status_text

user = require_role(Role.developer, Role.facilitator)
engine = state.engine()

st.title(t("jobs.title"))
st.caption(t("jobs.intro"))
only_active = st.toggle(t("jobs.only_active"), key="jobs_only_active")
listed = jobs.list_jobs(engine=engine, limit=100, active_only=only_active)
if not listed:
    st.info(t("jobs.none"))
    st.stop()


def progress_text(job: jobs.JobView) -> str:
    if job.total:
        return f"{job.done}/{job.total}"
    return "–" if not job.done else str(job.done)


st.dataframe(pd.DataFrame([{
    t("jobs.column.id"): j.id,
    t("jobs.column.kind"): kind_text(j.kind),
    t("jobs.column.status"): status_text(j),
    t("jobs.column.progress"): progress_text(j),
    t("jobs.column.by"): j.created_by or "",
    t("jobs.column.created"): j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
} for j in listed]), hide_index=True, width="stretch")

by_id = {j.id: j for j in listed}
picked = st.selectbox(t("jobs.pick"), list(by_id), key="jobs_pick", format_func=lambda i: t(
    "jobs.choice", id=i, kind=kind_text(by_id[i].kind), status=status_text(by_id[i]),
    at=by_id[i].created_at.strftime("%Y-%m-%d %H:%M")))
if picked is not None:
    job = by_id[picked]
    if job.error:
        st.code(job.error, wrap_lines=True)
    job_progress(int(picked), key="jobs_page")
