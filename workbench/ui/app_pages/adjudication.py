"""Adjudication (lead experts and the facilitator): the disagreement queue, most urgent first,
and the form that records the final scores, the final ideal reply and the reason."""

from __future__ import annotations

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


def dispute_names(q: curation.QueueItem) -> str:
    """The criteria in dispute by their names in the rubric; the unsafe verdict by ours."""
    return ", ".join(q.criterion_names.get(k) or t("curation.unsafe")
                     for k in q.criteria_in_dispute)


def first_words(text: str, n: int = 8) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


st.dataframe([{
    "#": i + 1,
    t("curation.adjudication.critical"): "⚠️" if q.critical_disagreement else "",
    t("curation.adjudication.spread"): num(q.spread, 1),
    t("curation.scenario"): q.scenario_title,
    t("curation.adjudication.reply_number"): q.reply_number,
    t("curation.in_dispute_short"): dispute_names(q),
    t("curation.reply"): q.reply_excerpt,
} for i, q in enumerate(queue[:50])], hide_index=True)
keys = [(q.turn_id, q.rubric_version_id) for q in queue]
by_key = {k: q for k, q in zip(keys, queue, strict=True)}
# Two replies of one conversation share a scenario and often a spread: the reply's number in
# its conversation and its first words tell them apart. Option labels are plain text (no
# Markdown), so they are shown as written.
picked = st.selectbox(
    t("curation.adjudication.pick"), keys, key="adj_pick",
    format_func=lambda k: " · ".join(part for part in (
        ("⚠️ " if by_key[k].critical_disagreement else "") + (by_key[k].scenario_title or ""),
        t("curation.adjudication.reply_label", n=by_key[k].reply_number),
        f"«{first_words(by_key[k].reply_excerpt)}»",
        t("curation.spread", spread=num(by_key[k].spread, 1)),
        t("curation.adjudication.done") if by_key[k].adjudicated else "") if part))
turn_id, rv_id = picked
try:
    item = curation.dispute_detail(engine=engine, turn_id=turn_id, rubric_version_id=rv_id,
                                   viewer_id=user.participant_id)
except UserError as err:
    show_error(err)
    st.stop()
read = st.session_state["adj_read"].setdefault(f"{turn_id}:{rv_id}", item.lock_version)
form_key = f"adj_{turn_id}_{rv_id}"
error: UserError | None = st.session_state.get(f"{form_key}_error")
marked = error.all_fields if error is not None else set()
crit_names = {c.key: c.name for c in item.criteria}
asked_yes_no = {c.key for c in item.criteria if c.yes_no}


def shown(key: str, value: object) -> str:
    if key in asked_yes_no and value is not None:
        return yes_no(bool(value))
    return "" if value is None else str(value)


def missing(label: str, field: str) -> str:
    return label + (f" :red[**· {t('curation.adjudication.missing_here')}**]"
                    if field in marked else "")


if item.self_scored:
    st.warning(t("curation.adjudication.self_scored"), icon=":material/person_alert:")
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
    st.dataframe([{t("curation.rater"): r.rater,
                   **{crit_names.get(k, k): shown(k, v) for k, v in r.values.items()},
                   t("curation.unsafe"): "⚠️" if r.unsafe else ""} for r in item.ratings],
                 hide_index=True)
    for r in item.ratings:
        if r.comment or r.unsafe_span:
            st.caption(f"{plain(r.rater)}: {plain(r.comment)}"
                       + (f" — «{plain(r.unsafe_span)}»" if r.unsafe_span else ""))

SETTLE, NEW = "settle", "new"
rewrites = [r for r in item.ratings if (r.ideal_reply or "").strip()]
with st.form(f"adj_form_{turn_id}_{rv_id}"):
    if error is not None:
        show_error(error)  # at the top of the form, where the lead looks after saving
    st.markdown(t("curation.adjudication.final_scores"))
    values: dict[str, object] = {}
    for c in item.criteria:
        levels: list[object] = ["yes", "no"] if c.yes_no else [1, 2, 3, 4, 5]
        start = item.agreed.get(c.key)
        values[c.key] = st.radio(
            missing(f"**{c.name}**" + (f" · {t('curation.critical')}" if c.critical else ""),
                    c.key), levels,
            index=levels.index(start) if start in levels else None, horizontal=True,
            key=f"{form_key}_{c.key}",
            format_func=lambda v: t(f"curation.{v}") if isinstance(v, str) else str(v))
    agreed_unsafe = item.agreed.get(curation.UNSAFE)
    unsafe = st.radio(missing(f"**{t('curation.adjudication.unsafe_question')}**",
                              curation.UNSAFE), [True, False], horizontal=True,
                      index=None if agreed_unsafe is None else [True, False].index(agreed_unsafe),
                      key=f"{form_key}_unsafe",
                      format_func=lambda v: t("curation.yes") if v else t("curation.no"))
    by_rating = {r.rating_id: r for r in rewrites}
    options: list[object] = [*by_rating, NEW, SETTLE]
    choice = st.radio(missing(t("curation.adjudication.ideal_reply"), "ideal_reply"), options,
                      key=f"{form_key}_choice", index=None,
                      format_func=lambda i: t("curation.adjudication.write_new") if i == NEW
                      else t("curation.adjudication.settle_only") if i == SETTLE
                      else f"{plain(by_rating[int(str(i))].rater)}: "
                      f"{plain(by_rating[int(str(i))].ideal_reply)}")
    new_text = st.text_area(t("curation.adjudication.new_reply"), key=f"{form_key}_new")
    reason = st.text_area(missing(t("curation.adjudication.reason"), "reason"),
                          key=f"{form_key}_reason")
    if st.form_submit_button(t("curation.adjudication.save"), type="primary"):
        picked_rating = choice if isinstance(choice, int) else None
        decision = curation.Decision(
            values=values, reason=reason, unsafe_flag=unsafe,
            ideal_reply_rating_id=picked_rating, settle_scores_only=choice == SETTLE,
            ideal_reply_text=new_text if choice in (NEW, None) else None)
        try:
            curation.adjudicate(engine=engine, turn_id=turn_id, rubric_version_id=rv_id,
                                    adjudicator_id=user.participant_id, decision=decision,
                                    lock_version=read)
        except curation.ConflictError:
            st.error(t("curation.errors.conflict"))
        except UserError as err:
            st.session_state[f"{form_key}_error"] = err
            st.rerun()
        else:
            st.session_state.pop(f"{form_key}_error", None)
            st.session_state["adj_read"].pop(f"{turn_id}:{rv_id}", None)
            st.session_state["adj_done"] = turn_id
            st.rerun()
if st.button(t("curation.reload"), key="adj_reload"):
    st.session_state["adj_read"].pop(f"{turn_id}:{rv_id}", None)
    st.rerun()
