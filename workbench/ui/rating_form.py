"""The expert rating form and the scenario panel, shared by the scoring and scripted-run pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import streamlit as st

from workbench.domain.enums import ScaleKind
from workbench.domain.rubrics import Criterion, Rubric
from workbench.services import training
from workbench.services.errors import UserError
from workbench.services.training import RatingInput, ScoringItem
from workbench.ui.components import draft_value, elapsed, plain, show_error, untrusted
from workbench.ui.i18n import t
from workbench.ui.shortcuts import scoring_shortcuts


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


COLUMNS = 3  # criteria side by side: the whole form fits a 1366×768 screen without scrolling


def _level_label(level: int | str) -> str:
    return t(f"common.level.{level}") if isinstance(level, str) else str(level)


def _anchors_help(crit: Criterion) -> str:
    """The criterion's question and each level's anchor (in the anchors expander)."""
    lines = [crit.description, ""]
    lines += [f"- **{_level_label(level)}**: {text}" for level in crit.levels()
              if (text := crit.anchor(level))]
    return "\n".join(lines)


def anchors_legend(rubric: Rubric) -> None:
    """What each score means, per criterion, folded beside the reply: inside the form there is
    no room on a 1366×768 screen, and a `help=` tooltip is labelled in English by Streamlit."""
    with st.expander(t("scoring.anchors")):
        for crit in rubric.criteria:
            st.markdown(f"**{crit.name}**")
            st.markdown(_anchors_help(crit))


def criteria_grid(rubric: Rubric, prefix: str, draft: RatingInput | None,
                  missing: set[str]) -> dict[str, Any]:
    """One horizontal radio per criterion, COLUMNS to a row in the rubric's order; a criterion
    still to score says so in its own label, where the rater looks."""
    values: dict[str, Any] = {}
    crits = list(rubric.criteria)
    for start in range(0, len(crits), COLUMNS):
        cols = st.columns(COLUMNS, gap="xsmall")
        for col, crit in zip(cols, crits[start:start + COLUMNS], strict=False):
            levels: list[int | str] = list(crit.levels())
            current = draft_value(rubric, crit.key, draft)
            label = f"**{crit.name}**" + (f" · {t('scoring.critical')}" if crit.critical else "")
            if crit.key in missing:
                label += f" :red[**· {t('scoring.missing_here')}**]"
            values[crit.key] = col.radio(
                label, levels, index=levels.index(current) if current in levels else None,
                key=f"{prefix}_{crit.key}", format_func=_level_label, horizontal=True)
    return values


def rating_form(engine: sa.Engine, rater_id: int, item: ScoringItem,
                progress: training.QueueProgress | None = None) -> None:
    """The rubric form for one reply: save as draft or submit; reruns the page when done.

    A refused submit reruns the page with the problems kept in the session, so they show at
    the top of the form and beside each criterion still to score, not below it off screen.
    """
    if item.submitted:
        st.success(t("scoring.already_submitted"))
        return
    draft = item.draft
    prefix = f"sc_{item.turn_id}"
    error: UserError | None = st.session_state.get(f"{prefix}_error")
    marked = error.all_fields if error is not None else set()
    # Half Streamlit's usual gap between rows: the whole form stays on one screen.
    with (st.container(key="sc_box"),
          st.form(f"sc_form_{item.turn_id}", enter_to_submit=False),
          st.container(gap="xsmall")):
        if error is not None:
            show_error(error)
        head = st.container(horizontal=True, vertical_alignment="center")
        if progress is not None and progress.total:
            head.markdown(t("scoring.progress", position=progress.position, total=progress.total),
                          width="content")
        with head:
            scoring_shortcuts(
                item=prefix, prefix=prefix, submit_key=f"{prefix}_send",
                criteria=[(c.key, c.scale == ScaleKind.yes_no) for c in item.rubric.criteria],
                nonce=st.session_state.get(f"{prefix}_refused", 0))
        values = criteria_grid(item.rubric, prefix, draft, marked)
        # The comment, the rewrite and the unsafe quote side by side: one row, not three;
        # the unsafe verdict sits with the buttons.
        c1, c2, c3 = st.columns(3, gap="small")
        comment = c1.text_area(t("scoring.comment"), height=68, key=f"{prefix}_comment",
                               value=(draft.comment or "") if draft else "")
        ideal = c2.text_area(t("scoring.ideal_reply"), key=f"{prefix}_ideal", height=68,
                             value=(draft.ideal_reply or "") if draft else "",
                             placeholder=t("scoring.ideal_reply_help"))
        span_label = t("scoring.unsafe_span") + (
            f" :red[**· {t('scoring.span_here')}**]" if "unsafe_span" in marked else "")
        span = c3.text_input(span_label, key=f"{prefix}_span",
                             value=(draft.unsafe_span or "") if draft else "",
                             placeholder=t("scoring.unsafe_span_help"))
        row = st.container(horizontal=True, vertical_alignment="center")
        unsafe = row.checkbox(t("scoring.unsafe"), key=f"{prefix}_unsafe",
                              value=bool(draft and draft.unsafe_flag), width="content")
        save = row.form_submit_button(t("scoring.save_draft"), icon=":material/save:",
                                      key=f"{prefix}_save")
        send = row.form_submit_button(t("scoring.submit"), type="primary",
                                      icon=":material/send:", key=f"{prefix}_send")
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
        st.session_state[f"{prefix}_error"] = err
        st.session_state[f"{prefix}_refused"] = st.session_state.get(f"{prefix}_refused", 0) + 1
    else:
        st.session_state.pop(f"{prefix}_error", None)
    st.rerun()
