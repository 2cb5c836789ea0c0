"""Calibration (lead experts and the facilitator): α per criterion with its interval against the
0.667 / 0.800 lines, the replies that drive disagreement, who scores lenient or strict, and anchor
examples per score level to discuss."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from workbench.domain.agreement import RELIABLE, TENTATIVE, format_alpha
from workbench.domain.enums import Group, Role
from workbench.i18n import chart_separators
from workbench.services import curation, training
from workbench.ui import state
from workbench.ui.components import plain, untrusted
from workbench.ui.days import day_label
from workbench.ui.guard import require_role
from workbench.ui.i18n import current_language, num, t, yes_no

user = require_role(Role.facilitator, Role.expert)
engine = state.engine()
if not curation.can_curate(engine=engine, participant_id=user.participant_id):
    st.warning(t("curation.lead_only"))
    st.stop()

st.title(t("curation.calibration.title"))
st.caption(t("curation.calibration.intro"))

days = training.list_days(engine=engine)
day_ids = [None, *[d.id for d in days]]
names = {d.id: day_label(d) for d in days}
c1, c2, c3 = st.columns(3)
day_id = c1.selectbox(t("curation.training_day"), day_ids, key="cal_day",
                      format_func=lambda i: t("curation.all_days") if i is None else names[i])
rubrics = curation.rubric_choices(engine=engine, training_day_id=day_id)
if not rubrics:
    st.info(t("curation.calibration.no_ratings"))
    st.stop()
by_id = {r.id: r for r in rubrics}
rv_id = c2.selectbox(t("curation.rubric"), list(by_id), key="cal_rubric",
                     format_func=lambda i: by_id[i].label)
groups = [str(g) for g in Group]
group = c3.selectbox(t("curation.group"), groups, key=f"cal_group_{rv_id}",
                     index=groups.index(by_id[rv_id].audience),
                     format_func=lambda g: t(f"curation.groups.{g}"))



@st.cache_data(ttl=30, show_spinner=False)
def load(url: str, rv: int, day: int | None, who: str) -> curation.CalibrationView:
    # A thousand bootstrap resamples per criterion: cached briefly, keyed by the database URL.
    return curation.calibration_view(engine=engine, rubric_version_id=rv, training_day_id=day,
                                      group=who)


view = load(str(engine.url), rv_id, day_id, group)
names_of = view.rubric.names

st.subheader(t("curation.calibration.alpha"))
defined = [e for e in view.entries if e.result.value is not None]
if defined:
    fig = go.Figure(go.Scatter(
        x=[names_of.get(e.criterion, e.criterion) for e in defined],
        y=[e.result.value for e in defined], mode="markers", marker={"size": 11},
        error_y={"type": "data", "symmetric": False,
                 "array": [(e.result.ci_high or e.result.value or 0) - (e.result.value or 0)
                           for e in defined],
                 "arrayminus": [(e.result.value or 0) - (e.result.ci_low or e.result.value or 0)
                                for e in defined]},
        name="α"))
    fig.add_hline(y=RELIABLE, line_dash="dash", line_color="green",
                  annotation_text=t("curation.calibration.reliable"))
    fig.add_hline(y=TENTATIVE, line_dash="dot", line_color="orange",
                  annotation_text=t("curation.calibration.tentative"))
    fig.update_layout(yaxis={"title": "Krippendorff α", "range": [min(0.0, *(
        e.result.ci_low or 0 for e in defined)) - 0.05, 1.05]}, height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10}, showlegend=False,
        separators=chart_separators(current_language()))
    st.plotly_chart(fig, width="stretch")
st.dataframe([{
    t("curation.criterion"): names_of.get(e.criterion, e.criterion),
    t("curation.calibration.alpha_ci"): format_alpha(e.result, language=current_language()),
    t("curation.calibration.verdict"): t(f"curation.verdicts.{e.result.verdict}"),
    t("curation.calibration.items"): e.result.n_items,
    t("curation.calibration.agree"): (None if e.result.percent_agreement is None
                                      else round(100 * e.result.percent_agreement)),
    t("curation.calibration.warnings"): "; ".join(e.result.warnings),
} for e in view.entries], hide_index=True, width="stretch")

st.subheader(t("curation.calibration.drivers"))
if not view.drivers:
    st.info(t("curation.calibration.no_drivers"))
for d in view.drivers:
    mark = "⚠️ " if d.critical_disagreement else ""
    with st.expander(f"{mark}{plain(d.excerpt.scenario_title)} · "
                     f"{t('curation.spread', spread=num(d.spread, 1))}"):
        untrusted(d.excerpt.text)
        st.caption(t("curation.in_dispute", criteria=", ".join(
            names_of.get(c, c) for c in d.criteria_in_dispute)))
        st.dataframe([{t("curation.criterion"): names_of.get(c, c),
                       t("curation.calibration.scores"): ", ".join(
                           yes_no(v) if isinstance(v, bool) else str(v) for v in values)}
                      for c, values in d.values.items()], hide_index=True)

st.subheader(t("curation.calibration.offsets"))
st.caption(t("curation.calibration.offsets_help"))
st.dataframe([{
    t("curation.rater"): o.rater,
    t("curation.calibration.offset"): num(o.mean_offset, sign=True),
    t("curation.calibration.tendency"): t(f"curation.tendency.{o.label}"),
    t("curation.calibration.items"): o.n_items,
} for o in view.offsets], hide_index=True, width="stretch")

st.subheader(t("curation.calibration.anchors"))
st.caption(t("curation.calibration.anchors_help"))
for criterion, levels in view.anchors.items():
    with st.expander(names_of.get(criterion, criterion)):
        for level, examples in levels.items():
            shown = yes_no(level) if isinstance(level, bool) else str(level)
            st.markdown(f"**{shown}**")
            for ex in examples:
                untrusted(ex.text)
                st.caption(plain(ex.scenario_title))
