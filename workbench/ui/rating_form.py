"""The expert rating form and the scenario panel, shared by the scoring and scripted-run pages."""

from __future__ import annotations

import sqlalchemy as sa
import streamlit as st

from workbench.services import training
from workbench.services.errors import UserError
from workbench.services.training import RatingInput, ScoringItem
from workbench.ui.components import elapsed, hint, plain, rubric_fields, show_error, untrusted
from workbench.ui.i18n import t


def scenario_panel(item: ScoringItem) -> None:
    """The scenario's title, risk level, situation and what a good reply must (not) do."""
    sc = item.scenario
    if sc is None:
        return
    with st.container(border=True):
        st.markdown(f"**{plain(sc.title)}**")
        st.markdown(t("scoring.risk_level", level=t(f"scoring.risk.{sc.risk_level}")))
        untrusted(sc.situation)
        if sc.expectations:
            st.markdown(t("scoring.expectations"))
            st.markdown("\n".join(
                f"- {t('scoring.' + kind)} {plain(text)}" for kind, text in sc.expectations))


def rating_form(engine: sa.Engine, rater_id: int, item: ScoringItem) -> None:
    """The rubric form for one reply: save as draft or submit; reruns the page when done."""
    if item.submitted:
        st.success(t("scoring.already_submitted"))
        return
    draft = item.draft
    prefix = f"sc_{item.turn_id}"
    with st.form(f"sc_form_{item.turn_id}", enter_to_submit=False):
        if item.rubric.instructions:
            st.caption(item.rubric.instructions)
        values = rubric_fields(item.rubric, prefix, draft)
        comment = st.text_area(t("scoring.comment"), value=(draft.comment or "") if draft else "",
                               key=f"{prefix}_comment")
        ideal = st.text_area(t("scoring.ideal_reply"), key=f"{prefix}_ideal",
                             value=(draft.ideal_reply or "") if draft else "")
        hint(t("scoring.ideal_reply_help"))
        unsafe = st.checkbox(t("scoring.unsafe"), key=f"{prefix}_unsafe",
                             value=bool(draft and draft.unsafe_flag))
        span = st.text_input(t("scoring.unsafe_span"), key=f"{prefix}_span",
                             value=(draft.unsafe_span or "") if draft else "")
        hint(t("scoring.unsafe_span_help"))
        row = st.container(horizontal=True)
        save = row.form_submit_button(t("scoring.save_draft"), icon=":material/save:")
        send = row.form_submit_button(t("scoring.submit"), type="primary",
                                     icon=":material/send:")
    if not (save or send):
        return
    form = RatingInput(values=values, comment=comment, ideal_reply=ideal, unsafe_flag=unsafe,
                       unsafe_span=span)
    try:
        if send:
            result = training.submit_rating(engine=engine, rater_id=rater_id,
                                    turn_id=item.turn_id,
                                    rubric_version_id=item.rubric_version_id, form=form,
                                    time_spent_s=elapsed(f"sc_t_{item.turn_id}"))
            st.toast(t("scoring.submitted_unsafe" if result.unsafe else "scoring.submitted"))
        else:
            training.save_draft(engine=engine, rater_id=rater_id,
                               turn_id=item.turn_id, rubric_version_id=item.rubric_version_id,
                               form=form)
            st.toast(t("scoring.draft_saved"))
    except UserError as err:
        show_error(err)
        return
    st.rerun()
