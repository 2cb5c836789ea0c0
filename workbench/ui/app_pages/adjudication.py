"""Adjudication (lead experts and the facilitator): the disagreement queue, most urgent first,
and the form that records the final scores, the final ideal reply and the reason."""

from __future__ import annotations

import statistics

import streamlit as st

from workbench.domain.enums import Role
from workbench.services import curation, training
from workbench.services.errors import UserError
from workbench.ui import state
from workbench.ui.components import chat, criterion_names, plain, show_error, untrusted
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import num, t, yes_no

user = require_role(Role.facilitator, Role.expert)
engine = state.engine()
if not curation.can_curate(engine=engine, participant_id=user.participant_id):
    st.warning(t("curation.lead_only"))
    st.stop()
# The curated example's version as it was when the lead opened an item: a save names it, so
# a change by someone else in between is refused instead of overwritten.
st.session_state.setdefault("adj_read", {})
st.session_state.setdefault("adj_done", None)

st.title(t("curation.adjudication.title"))
st.caption(t("curation.adjudication.intro"))
if st.session_state["adj_done"]:
    st.success(t("curation.adjudication.saved", turn=st.session_state["adj_done"]))
    st.session_state["adj_done"] = None

days = training.list_days(engine=engine)
names = {d.id: day_label(d) for d in days}
c1, c2 = st.columns([3, 1])
day_id = c1.selectbox(t("curation.training_day"), [None, *names], key="adj_day",
                      format_func=lambda i: t("curation.all_days") if i is None else names[i])
include_done = c2.toggle(t("curation.adjudication.include_done"), key="adj_include_done")
queue = curation.disagreement_queue(engine=engine, training_day_id=day_id,
                                        include_adjudicated=include_done)
if not queue:
    st.info(t("curation.adjudication.empty"))
    st.stop()

st.subheader(t("curation.adjudication.queue", n=len(queue)))
names_of = criterion_names()
st.dataframe([{
    "#": i + 1,
    t("curation.adjudication.critical"): "⚠️" if q.critical_disagreement else "",
    t("curation.adjudication.spread"): num(q.spread, 1),
    t("curation.scenario"): q.scenario_title,
    t("curation.in_dispute_short"): ", ".join(names_of.get(c, c) for c in q.criteria_in_dispute),
    t("curation.reply"): q.reply_excerpt,
} for i, q in enumerate(queue[:50])], hide_index=True)
keys = [(q.turn_id, q.rubric_version_id) for q in queue]
by_key = {k: q for k, q in zip(keys, queue, strict=True)}
picked = st.selectbox(
    t("curation.adjudication.pick"), keys, key="adj_pick",
    format_func=lambda k: (("⚠️ " if by_key[k].critical_disagreement else "")
                           + f"{plain(by_key[k].scenario_title)} · "
                           + t("curation.spread", spread=num(by_key[k].spread, 1))
                           + (f" · {t('curation.adjudication.done')}"
                              if by_key[k].adjudicated else "")))
turn_id, rv_id = picked
try:
    item = curation.dispute_detail(engine=engine, turn_id=turn_id, rubric_version_id=rv_id)
except UserError as err:
    show_error(err)
    st.stop()
read = st.session_state["adj_read"].setdefault(f"{turn_id}:{rv_id}", item.lock_version)

left, right = st.columns([1, 1])
with left:
    st.markdown(t("curation.adjudication.conversation"))
    chat(item.context)
    st.markdown(t("curation.adjudication.the_reply"))
    with st.container(border=True):
        untrusted(item.reply)
    if item.latest is not None:
        st.caption(t("curation.adjudication.earlier", when=f"{item.latest.created_at:%d-%m %H:%M}",
                     reason=plain(item.latest.reason)))
with right:
    st.markdown(t("curation.adjudication.ratings"))
    shown_as = {c.key: c for c in item.criteria}  # names, and yes/no as words, not True/1
    st.dataframe([{t("curation.rater"): r.rater, **{
        shown_as[k].name if k in shown_as else names_of.get(k, k):
        yes_no(v) if k in shown_as and shown_as[k].yes_no else ("–" if v is None else str(v))
        for k, v in r.values.items()},
        t("curation.unsafe"): "⚠️" if r.unsafe else ""} for r in item.ratings],
        hide_index=True)
    for r in item.ratings:
        if r.comment or r.unsafe_span:
            st.caption(f"{plain(r.rater)}: {plain(r.comment)}"
                       + (f" — «{plain(r.unsafe_span)}»" if r.unsafe_span else ""))


def suggested(key: str, yes_no: bool) -> object:
    """Start from the raters' median (1–5) or majority (yes/no); the lead decides."""
    given = [r.values[key] for r in item.ratings if r.values.get(key) is not None]
    if not given:
        return None
    if yes_no:
        return "yes" if sum(bool(v) for v in given) * 2 >= len(given) else "no"
    return int(round(statistics.median(int(v) for v in given)))


rewrites = [r for r in item.ratings if (r.ideal_reply or "").strip()]
with st.form(f"adj_form_{turn_id}_{rv_id}"):
    st.markdown(t("curation.adjudication.final_scores"))
    values: dict[str, object] = {}
    for c in item.criteria:
        levels: list[object] = ["yes", "no"] if c.yes_no else [1, 2, 3, 4, 5]
        start = suggested(c.key, c.yes_no)
        values[c.key] = st.radio(
            f"**{c.name}**" + (f" · {t('curation.critical')}" if c.critical else ""), levels,
            index=levels.index(start) if start in levels else None, horizontal=True,
            key=f"adj_{turn_id}_{rv_id}_{c.key}",
            format_func=lambda v: t(f"curation.{v}") if isinstance(v, str) else str(v))
    options = [*(r.rating_id for r in rewrites), None]
    by_rating = {r.rating_id: r for r in rewrites}
    choice = st.radio(t("curation.adjudication.ideal_reply"), options,
                      key=f"adj_{turn_id}_{rv_id}_choice",
                      format_func=lambda i: t("curation.adjudication.write_new") if i is None
                      else f"{plain(by_rating[i].rater)}: {plain(by_rating[i].ideal_reply)}")
    new_text = st.text_area(t("curation.adjudication.new_reply"),
                            key=f"adj_{turn_id}_{rv_id}_new")
    unsafe = st.checkbox(t("curation.adjudication.unsafe"), key=f"adj_{turn_id}_{rv_id}_unsafe")
    reason = st.text_area(t("curation.adjudication.reason"), key=f"adj_{turn_id}_{rv_id}_reason")
    if st.form_submit_button(t("curation.adjudication.save"), type="primary"):
        decision = curation.Decision(
            values=values, reason=reason, unsafe_flag=unsafe,
            ideal_reply_rating_id=choice, ideal_reply_text=new_text if choice is None else None)
        try:
            curation.adjudicate(engine=engine, turn_id=turn_id, rubric_version_id=rv_id,
                                    adjudicator_id=user.participant_id, decision=decision,
                                    lock_version=read)
        except curation.ConflictError:
            st.error(t("curation.errors.conflict"))
        except UserError as err:
            show_error(err)
        else:
            st.session_state["adj_read"].pop(f"{turn_id}:{rv_id}", None)
            st.session_state["adj_done"] = turn_id
            st.rerun()
if st.button(t("curation.reload"), key="adj_reload"):
    st.session_state["adj_read"].pop(f"{turn_id}:{rv_id}", None)
    st.rerun()
