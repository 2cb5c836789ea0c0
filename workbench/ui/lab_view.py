"""The prompt lab's comparison on a page: the gate with `workbench compare`'s numbers (Dutch
decimal commas), the expectation checks that flipped, and the replies side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.domain.library import Library
from workbench.services import lab
from workbench.services.evaluation import ComparisonRow
from workbench.ui.i18n import current_language, t


def number(value: float | None, *, sign: bool = False) -> str:
    if value is None:
        return "–"
    text = f"{value:+.3f}" if sign else f"{value:.3f}"
    return text.replace(".", ",") if current_language() == "nl" else text


def _check_name(kind: str, check: str) -> str:
    return t("lab.measure.check", kind=t(f"lab.kind.{kind}"), check=t(f"lab.check.{check}"))


def _criterion_name(key: str, library: Library) -> str:
    for loaded in library.rubrics.values():
        for c in loaded.rubric.criteria:
            if c.key == key:
                return c.name
    return key


def measure_name(row: ComparisonRow, library: Library) -> str:
    kind, _, rest = row.measure.partition(":")
    if kind == "check":
        must, _, check = rest.partition(":")
        return _check_name(must, check)
    if kind == "judge":
        return t("lab.measure.judge", criterion=_criterion_name(rest, library))
    if kind == "ragas":
        return t("lab.measure.ragas", metric=t(f"lab.metric.{rest}"))
    return t("lab.measure.expectations")


def _rows_table(report: lab.LabReport, library: Library) -> pd.DataFrame:
    assert report.result is not None
    col = "lab.result.col."
    return pd.DataFrame([{
        t(col + "measure"): measure_name(r, library),
        t(col + "gate"): t("lab.result.counts") if r.gate else "",
        t(col + "n"): r.n,
        t(col + "a"): number(r.mean_a),
        t(col + "b"): number(r.mean_b),
        t(col + "diff"): number(r.diff, sign=True),
        t(col + "ci"): "–" if r.ci_low is None else
        f"[{number(r.ci_low, sign=True)}; {number(r.ci_high, sign=True)}]",
        t(col + "flag"): t("lab.result.regression") if r.regression else
        (t("lab.result.worse") if r.worse else ""),
    } for r in report.result.rows])


def show_report(report: lab.LabReport, library: Library) -> None:
    cmp = report.comparison
    if report.result is None:
        st.info(t("lab.result.pending"), icon=":material/hourglass_top:")
    else:
        result = report.result
        if report.gate_passed:
            st.success(t("lab.result.gate_pass"), icon=":material/check_circle:")
        else:
            st.error(t("lab.result.gate_fail"), icon=":material/block:")
        st.caption(t("lab.result.same_as_cli", code=0 if report.gate_passed else 1,
                     command=f"workbench compare {cmp.run_a} {cmp.run_b} "
                             "--fail-on-regression"))
        st.caption(t("lab.result.paired", conversations=result.paired_conversations,
                     replies=result.paired_replies))
        if result.judge:
            st.caption(t("lab.result.judge", judge=result.judge,
                         criteria=", ".join(_criterion_name(k, library)
                                            for k in result.trusted) or "–"))
        st.dataframe(_rows_table(report, library), hide_index=True, width="stretch")
        if result.notes:
            with st.expander(t("lab.result.notes")):
                for note in result.notes:
                    st.caption(note)
    _show_flipped(report)
    _show_sides(report)


def _show_flipped(report: lab.LabReport) -> None:
    st.subheader(t("lab.flipped.title"))
    if not report.flipped:
        st.caption(t("lab.flipped.none"))
        return
    col = "lab.flipped.col."
    # A plain table: a handful of rows that a person reads (and a browser test finds).
    st.table(pd.DataFrame([{
        t(col + "scenario"): f.scenario_id,
        t(col + "repeat"): f.repeat_index + 1,
        t(col + "where"): t("lab.flipped.where_conversation") if f.ordinal is None
        else t("lab.flipped.where_reply", n=f.ordinal + 1),
        t(col + "check"): _check_name(f.kind, f.check),
        t(col + "change"): t(f"lab.flipped.{f.direction}"),
    } for f in report.flipped]).set_index(t(col + "scenario")))


def _show_sides(report: lab.LabReport) -> None:
    st.subheader(t("lab.sides.title"))
    for side in report.sides:
        title = t("lab.sides.scenario", title=side.title or side.scenario_id,
                  repeat=side.repeat_index + 1)
        with st.expander(title):
            for pair in side.replies:
                st.markdown(t("lab.sides.user", n=pair.ordinal + 1, text=pair.user_text or ""))
                left, right = st.columns(2)
                left.caption(t("lab.sides.current"))
                left.write(pair.current or t("lab.sides.missing"))
                right.caption(t("lab.sides.candidate"))
                right.write(pair.candidate or t("lab.sides.missing"))
