"""Curation (lead experts and the facilitator): filter the curated examples, edit one (state,
tags, ideal reply) or act on all shown at once. Every save names the version that was shown, so
a change by someone else in between is refused with a clear message, never overwritten."""

from __future__ import annotations

import streamlit as st

from workbench.domain.enums import CurationState, RiskLevel, Role, ViolenceForm
from workbench.services import curation, training
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import criterion_names, show_error, untrusted
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import category, num, t

user = require_role(Role.facilitator, Role.expert)
engine = state.engine()
if not curation.can_curate(engine=engine, participant_id=user.participant_id):
    st.warning(t("curation.lead_only"))
    st.stop()
st.session_state.setdefault("cu_synced", False)
st.session_state.setdefault("cu_shown", {})  # example id → version, as shown in the last run
st.session_state.setdefault("cu_read", {})  # example id → version when opened for editing
st.session_state.setdefault("cu_flash", None)

st.title(t("curation.curation.title"))
st.caption(t("curation.curation.intro"))
sync_clicked = st.button(t("curation.curation.sync"), key="cu_sync")
if not st.session_state["cu_synced"] or sync_clicked:
    done = curation.sync_curated_examples(engine=engine)
    st.session_state["cu_synced"] = True
    if done.created or done.refreshed:
        st.toast(t("curation.curation.synced", created=done.created, refreshed=done.refreshed))
if st.session_state["cu_flash"]:
    kind, text = st.session_state["cu_flash"]
    getattr(st, kind)(text)
    st.session_state["cu_flash"] = None

days = training.list_days(engine=engine)
names = {d.id: day_label(d) for d in days}
with st.expander(t("curation.curation.filters"), expanded=True):
    c1, c2, c3 = st.columns(3)
    day_id = c1.selectbox(t("curation.training_day"), [None, *names], key="cu_day",
                          format_func=lambda i: t("curation.all_days") if i is None else names[i])
    states = c2.multiselect(t("curation.curation.state"), [str(s) for s in CurationState],
                            key="cu_states", placeholder=t("curation.any"),
                            format_func=lambda s: t(f"curation.states.{s}"))
    unsafe = c3.selectbox(t("curation.unsafe"), [None, True, False], key="cu_unsafe",
                          format_func=lambda v: t("curation.any") if v is None
                          else t("curation.yes") if v else t("curation.no"))
    everything = curation.list_examples(engine=engine,
                                        filters=curation.CurationFilter(training_day_id=day_id))
    scenario_ids = c1.multiselect(
        t("curation.scenario"), sorted({v.scenario_id for v in everything if v.scenario_id}),
        key="cu_scenarios", placeholder=t("curation.any"))
    forms = c2.multiselect(t("curation.curation.forms"), [str(f) for f in ViolenceForm],
                           key="cu_forms", placeholder=t("curation.any"), format_func=category)
    risks = c3.multiselect(t("curation.curation.risk"), [str(r) for r in RiskLevel],
                           key="cu_risks", placeholder=t("curation.any"), format_func=category)
    criteria = sorted({k for v in everything for k in v.scores})
    crit_names = criterion_names()
    criterion = c1.selectbox(t("curation.curation.criterion_below"), [None, *criteria],
                             key="cu_criterion",
                             format_func=lambda c: t("curation.any") if c is None
                             else crit_names.get(c, c))
    # Half steps as a choice, so the scale reads with Dutch commas (a slider writes 2.50).
    below = c2.select_slider(t("curation.curation.below"), [x / 2 for x in range(2, 11)],
                             value=3.0, key="cu_below", disabled=criterion is None,
                             format_func=lambda x: num(x, 1))
filters = curation.CurationFilter(
    training_day_id=day_id, scenario_ids=frozenset(scenario_ids), violence_forms=frozenset(forms),
    risk_levels=frozenset(risks), states=frozenset(states), criterion=criterion,
    below=below if criterion else None, unsafe=unsafe)
shown = [v for v in everything if filters.matches(v)]
seen_before: dict[int, int] = st.session_state["cu_shown"]
st.session_state["cu_shown"] = {v.id: v.lock_version for v in shown}

st.subheader(t("curation.curation.shown", n=len(shown), total=len(everything)))
st.dataframe([{
    "id": v.id, t("curation.curation.state"): t(f"curation.states.{v.state}"),
    t("curation.curation.score"): num(v.score),
    t("curation.unsafe"): "⚠️" if v.unsafe else "", t("curation.scenario"): v.scenario_title,
    t("curation.curation.risk"): category(v.risk_level) if v.risk_level else "",
    t("curation.curation.tags_column"): ", ".join(v.tags),
    t("curation.reply"): v.reply_excerpt,
} for v in shown], hide_index=True)

with st.form("cu_bulk"):
    st.markdown(t("curation.curation.bulk", n=len(shown)))
    b1, b2, b3 = st.columns(3)
    new_state = b1.selectbox(t("curation.curation.set_state"), [None, *map(str, CurationState)],
                             key="cu_bulk_state",
                             format_func=lambda s: t("curation.curation.keep") if s is None
                             else t(f"curation.states.{s}"))
    add = b2.text_input(t("curation.curation.add_tags"), key="cu_bulk_add")
    drop = b3.text_input(t("curation.curation.remove_tags"), key="cu_bulk_remove")
    if st.form_submit_button(t("curation.curation.apply"), type="primary"):
        # What the lead saw is last run's list, with the versions from then, not from now.
        versions = dict(seen_before)
        try:
            result = curation.bulk_update(
                engine=engine, versions=versions, actor_id=user.participant_id, state=new_state,
                add_tags=add.split(","), remove_tags=drop.split(","))
        except UserError as err:
            show_error(err)
        else:
            text = t("curation.curation.bulk_done", updated=len(result.updated),
                     conflicts=len(result.conflicts), refused=len(result.refused))
            if result.conflicts:
                text += " " + t("curation.errors.conflict")
            st.session_state["cu_flash"] = ("warning" if result.conflicts or result.refused
                                            else "success", text)
            st.rerun()

st.subheader(t("curation.curation.edit"))
if not shown:
    st.stop()
by_id = {v.id: v for v in shown}
picked = st.selectbox(t("curation.curation.pick"), list(by_id), key="cu_pick",
                      format_func=lambda i: f"#{i} · {by_id[i].scenario_title or ''} · "
                      f"{t('curation.states.' + by_id[i].state)}")
ex = by_id[picked]
read = st.session_state["cu_read"].setdefault(picked, ex.lock_version)
with st.container(border=True):
    untrusted(ex.reply_excerpt)
if ex.adjudicated:
    st.caption(t("curation.curation.adjudicated"))
with st.form(f"cu_edit_{picked}"):
    states_all = [str(s) for s in CurationState]
    new = st.radio(t("curation.curation.state"), states_all, horizontal=True,
                   index=states_all.index(str(ex.state)), key=f"cu_edit_state_{picked}",
                   format_func=lambda s: t(f"curation.states.{s}"))
    tags = st.text_input(t("curation.curation.tags"), ", ".join(ex.tags),
                         key=f"cu_edit_tags_{picked}")
    ideal = st.text_area(t("curation.curation.ideal_reply"), ex.ideal_reply or "",
                         key=f"cu_edit_ideal_{picked}")
    if st.form_submit_button(t("curation.curation.save"), type="primary"):
        try:
            curation.update_example(
                engine=engine, example_id=picked, lock_version=read,
                actor_id=user.participant_id, state=new, tags=tags.split(","),
                ideal_reply=ideal if ideal != (ex.ideal_reply or "") else curation.UNCHANGED)
        except curation.ConflictError:
            st.error(t("curation.errors.conflict"))
        except UserError as err:
            show_error(err)
        else:
            st.session_state["cu_read"].pop(picked, None)
            st.session_state["cu_flash"] = ("success", t("curation.curation.saved", id=picked))
            st.rerun()
if st.button(t("curation.reload"), key="cu_reload"):
    st.session_state["cu_read"].pop(picked, None)
    st.rerun()
