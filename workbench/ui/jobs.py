"""One job on a page: a progress bar read from the job's row (refreshed every second while the
job runs, by a fragment, so the rest of the page stays still), a cancel button, and when the
job has ended its outcome, with the page's own rendering of the result (`on_end`).

The bar shows what a worker wrote to the database, never what a process remembers, so it is
the same in every browser and after a refresh, and survives the worker that started the job.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from workbench.domain.enums import JobStatus
from workbench.services import jobs
from workbench.services.errors import NotFound
from workbench.services.jobs import JobView
from workbench.ui import state
from workbench.ui.components import plain
from workbench.ui.i18n import t

REFRESH_S = 1.0


def job_progress(job_id: int, *, key: str = "job",
                 on_end: Callable[[JobView], None] | None = None,
                 show_result: bool = True) -> JobView | None:
    """Render job `job_id`; `on_end(job)` renders what the page does with a finished, failed
    or cancelled job (a download, for instance). Returns the job as read now."""
    try:
        job = jobs.get_job(engine=state.engine(), job_id=job_id)
    except NotFound:
        st.warning(t("jobs.not_found"))
        return None
    if job.final:
        _ended(job, on_end, show_result)
    else:
        _live(job_id, key)
    return job


@st.fragment(run_every=REFRESH_S)
def _live(job_id: int, key: str) -> None:
    engine = state.engine()
    job = jobs.get_job(engine=engine, job_id=job_id)
    if job.final:
        st.rerun()  # the whole page: it shows the outcome without refreshing any more
    _bar(job)
    if job.cancel_requested:
        st.caption(t("jobs.cancelling"))
    elif st.button(t("jobs.cancel"), key=f"{key}_cancel_{job_id}",
                   icon=":material/cancel:"):
        jobs.cancel_job(engine=engine, job_id=job_id)
        st.rerun()


def _bar(job: JobView) -> None:
    if job.status == JobStatus.queued:
        st.progress(0.0, text=t("jobs.queued"))
        if not jobs.live_workers(engine=state.engine()):
            st.warning(t("jobs.no_worker"), icon=":material/warning:")
    elif job.total:
        st.progress(job.fraction or 0.0, text=t("jobs.running", done=job.done, total=job.total))
    else:
        st.progress(0.0, text=job.message or t("jobs.running_unknown"))
    if job.attempts > 1:
        st.caption(t("jobs.resumed", n=job.attempts))


def _ended(job: JobView, on_end: Callable[[JobView], None] | None, show_result: bool) -> None:
    if job.status == JobStatus.done:
        st.progress(1.0, text=t("jobs.done"))
    elif job.status == JobStatus.cancelled:
        st.info(t("jobs.cancelled"))
    elif on_end is None:
        # An error can quote what a bot server sent: shown literally.
        st.error(t("jobs.failed", error=plain(job.error.splitlines()[0]) if job.error else "?"))
    if on_end is not None:
        on_end(job)
    if show_result and job.result:
        with st.expander(t("jobs.result")):
            st.json(job.result, expanded=False)


def status_text(job: JobView) -> str:
    return t(f"jobs.status.{job.status}")


def kind_text(kind: str) -> str:
    key = f"jobs.kind.{kind}"
    text = t(key)
    return kind if text == key else text  # a kind another part registered: its own name
