"""Promptlab: a candidate system prompt from a bot's current one (with a diff and a few-shot
block of gold examples), its comparison against current as one background job, and its
promotion with a reason. Developers do all of it; facilitators see candidates and comparisons.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from workbench.domain import lab as rules
from workbench.domain.enums import CandidateStatus, RiskLevel, Role, ViolenceForm
from workbench.services import export, jobs, lab, targets
from workbench.services.errors import NotFound, UserError
from workbench.ui import state
from workbench.ui.guard import require_role
from workbench.ui.i18n import t
from workbench.ui.jobs import job_progress
from workbench.ui.lab_view import show_report

user = require_role(Role.developer, Role.facilitator)
can_edit = user.role == Role.developer
engine = state.engine()
library = state.library()
st.session_state.setdefault("lab_block", None)  # (target, FewShotBlock, filters)
st.session_state.setdefault("lab_job", None)

st.title(t("lab.title"))
st.caption(t("lab.intro"))
if not can_edit:
    st.info(t("lab.read_only"), icon=":material/visibility:")


def _error(err: UserError) -> None:
    st.error(t(err.key, **err.fmt))


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at is not None else "–"


shown = [tg for tg in lab.lab_targets(engine=engine) if tg.current_prompt_version_id]
if not shown:
    st.info(t("lab.no_targets"))
    st.stop()
name = st.selectbox(t("lab.target"), [tg.name for tg in shown], key="lab_target")
target = next(tg for tg in shown if tg.name == name)
st.markdown(t("lab.current", label=target.current_label, id=target.current_prompt_version_id))
with st.expander(t("lab.current_text")):
    st.code(target.current_text, language=None, wrap_lines=True)


def _fewshot_picker() -> export.FewShotBlock | None:
    """Filters, the fetch button and the block found; the block stays for this bot."""
    st.markdown(f"**{t('lab.fewshot.title')}**")
    st.caption(t("lab.fewshot.help"))
    c1, c2, c3 = st.columns(3)
    scen = c1.multiselect(t("lab.fewshot.scenarios"), sorted(library.scenarios),
                          format_func=lambda i: library.scenarios[i].scenario.title,
                          key="lab_fs_scenarios", placeholder=t("common.choose_many"))
    forms = c2.multiselect(t("lab.fewshot.forms"), [f.value for f in ViolenceForm],
                           format_func=lambda f: t(f"figures.category.{f}"), key="lab_fs_forms",
                           placeholder=t("common.choose_many"))
    risks = c3.multiselect(t("lab.fewshot.risks"), [r.value for r in RiskLevel],
                           format_func=lambda r: t(f"scoring.risk.{r}"), key="lab_fs_risks",
                           placeholder=t("common.choose_many"))
    per_tag = st.number_input(t("lab.fewshot.per_tag"), 1, 10, 2, key="lab_fs_per_tag")
    b1, b2 = st.columns(2)
    if b1.button(t("lab.fewshot.fetch"), key="lab_fs_fetch", icon=":material/library_add:"):
        try:
            block = lab.gold_fewshot(engine=engine, scenario_ids=scen, forms=forms,
                                     risk_levels=risks, per_tag=int(per_tag))
        except export.ResidualPIIError as err:
            st.error(t("lab.fewshot.residual", n=len(err.residuals)))
        except UserError as err:
            _error(err)
        else:
            st.session_state["lab_block"] = (name, block, lab.fewshot_filters(
                scenario_ids=scen, forms=forms, risk_levels=risks))
    held = st.session_state["lab_block"]
    if held is None or held[0] != name:
        return None
    if b2.button(t("lab.fewshot.drop"), key="lab_fs_drop", icon=":material/delete:"):
        st.session_state["lab_block"] = None
        return None
    block = held[1]
    if not block.text:
        st.info(t("lab.fewshot.none"))
        return None
    st.success(t("lab.fewshot.found", n=len(block.example_ids), tokens=block.tokens,
                 ids=", ".join(str(i) for i in block.example_ids)))
    return block


def _editor() -> None:
    st.header(t("lab.step_edit"))
    text = st.text_area(t("lab.text"), value=target.current_text, height=260,
                        key=f"lab_text_{name}_{target.current_prompt_version_id}")
    block = _fewshot_picker()
    final = rules.with_fewshot(text, block.text) if block else text
    diff = rules.prompt_diff(target.current_text, final)
    st.markdown(f"**{t('lab.diff')}**")
    if diff:
        st.code(diff, language="diff")
    else:
        st.caption(t("lab.no_change"))
    with st.form("lab_save"):
        label = st.text_input(t("lab.label"), key="lab_label",
                              placeholder=t("lab.label_placeholder"))
        if not st.form_submit_button(t("lab.save"), type="primary"):
            return
    try:
        saved = lab.save_candidate(
            engine=engine, target_name=name, text=text, label=label, fewshot=block,
            filters=st.session_state["lab_block"][2] if block else None,
            created_by=user.code)
    except UserError as err:
        _error(err)
        return
    st.session_state["lab_candidate"] = saved.id
    if saved.reused:
        st.info(t("lab.reused"))
    else:
        st.success(t("lab.saved", label=saved.label))


if can_edit:
    _editor()

st.header(t("lab.candidates"))
candidates = lab.list_candidates(engine=engine, target_name=name)
if not candidates:
    st.info(t("lab.no_candidates"))
    st.stop()
by_id = {c.id: c for c in candidates}
if st.session_state.get("lab_candidate") not in by_id:
    st.session_state["lab_candidate"] = candidates[0].id
cid = st.selectbox(t("lab.candidate"), list(by_id), key="lab_candidate",
                   format_func=lambda i: t("lab.candidate_choice", id=i, label=by_id[i].label,
                                           status=t(f"lab.status.{by_id[i].status}"),
                                           by=by_id[i].created_by or "–",
                                           at=_when(by_id[i].created_at)))
cand = by_id[cid]
st.caption(t("lab.base", id=cand.base_prompt_version_id,
             ids=", ".join(str(i) for i in cand.fewshot_example_ids) or "–"))
with st.expander(t("lab.diff"), expanded=True):
    st.code(cand.diff, language="diff")
with st.expander(t("lab.candidate_text")):
    st.code(cand.text, language=None, wrap_lines=True)
if cand.status == CandidateStatus.promoted:
    st.success(t("lab.promoted_info", by=cand.promoted_by or "–", at=_when(cand.promoted_at),
                 reason=cand.promote_reason or ""))

st.header(t("lab.step_compare"))
st.caption(t("lab.compare.help"))


def _start_form() -> None:
    judges = [tv.name for tv in targets.list_targets(engine=engine) if tv.kind == "openai"]
    with st.form("lab_compare"):
        scen = st.multiselect(t("lab.compare.scenarios"), sorted(library.scenarios),
                              format_func=lambda i: library.scenarios[i].scenario.title,
                              key="lab_cmp_scenarios", placeholder=t("common.choose_many"))
        repeat = st.number_input(t("lab.compare.repeat"), 1, lab.MAX_REPEAT, 1,
                                 key="lab_cmp_repeat")
        judge = st.selectbox(t("lab.compare.judge"), ["", *judges], key="lab_cmp_judge",
                             format_func=lambda j: j or t("lab.compare.no_judge"))
        if not st.form_submit_button(t("lab.compare.start"), type="primary"):
            return
    try:
        job = jobs.enqueue_lab_comparison(
            engine=engine, candidate_id=cand.id, library=library, created_by=user.code,
            scenario_ids=list(scen) or None, repeat=int(repeat), judge=judge or None)
    except UserError as err:
        _error(err)
    except NotFound as err:
        st.error(str(err))
    else:
        st.session_state["lab_job"] = job.id
        st.success(t("lab.compare.started"))


if can_edit and cand.status == CandidateStatus.candidate:
    _start_form()
    if st.session_state["lab_job"] is not None:
        job_progress(int(st.session_state["lab_job"]), key="lab_job", show_result=False)

comparisons = lab.list_comparisons(engine=engine, candidate_ids=[cand.id])
st.subheader(t("lab.comparisons"))
if not comparisons:
    st.caption(t("lab.no_comparisons"))
else:
    cmp_by_id = {c.id: c for c in comparisons}
    pick = st.selectbox(t("lab.comparisons"), list(cmp_by_id), key="lab_comparison",
                        label_visibility="collapsed",
                        format_func=lambda i: t("lab.comparison_choice", id=i,
                                                run_a=cmp_by_id[i].run_a,
                                                run_b=cmp_by_id[i].run_b,
                                                at=_when(cmp_by_id[i].created_at)))
    show_report(lab.lab_report(engine=engine, comparison_id=pick), library)

if can_edit and cand.status == CandidateStatus.candidate:
    st.header(t("lab.step_promote"))
    if not comparisons:
        st.warning(t("lab.promote.no_comparison"))
    with st.form("lab_promote"):
        reason = st.text_area(t("lab.promote.reason"), key="lab_reason", max_chars=None)
        promote = st.form_submit_button(t("lab.promote.button"), type="primary")
    if promote:
        try:
            done = lab.promote_candidate(engine=engine, candidate_id=cand.id, reason=reason,
                                         actor=user.code)
        except UserError as err:
            _error(err)
        else:
            st.session_state["lab_promoted"] = done.label
            st.rerun()
promoted_label = st.session_state.pop("lab_promoted", None)
if promoted_label:
    st.success(t("lab.promote.done", label=promoted_label))
    st.page_link("app_pages/dashboard.py", label=t("lab.promote.to_dashboard"),
                 icon=":material/monitoring:")
