"""Plotly figures of the dashboard, drawn from a `Dashboard` (no queries), shared by the page
and the static report so both show the same thing. Texts from the catalogue, Dutch or English."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench.i18n import catalogue, chart_separators, translate
from workbench.services.dashboard._dashboard import Dashboard

Lang = str  # "nl" | "en"

COLOURS = {"all": "#444444", "expert": "#1f5fa8", "lived_experience": "#c2571a",
           "between": "#6b8e23"}
SCORE_GROUPS = ("expert", "lived_experience")  # the two rubrics' overall scores, never mixed


def tr(key: str, lang: Lang) -> str:
    """A figure text from the catalogue (`i18n/figures.yaml`)."""
    return translate(f"figures.{key}", lang) if f"figures.{key}" in catalogue() else key


def category(value: Any, lang: Lang) -> str:
    """A category (risk level, writer, form of violence) as the field says it; the stored
    value when the catalogue has no name for it."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return tr("none", lang)
    key = f"figures.category.{value}"
    return translate(key, lang) if key in catalogue() else str(value)


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=height,
                      margin={"l": 60, "r": 20, "t": 60, "b": 60},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def _empty(title: str, lang: Lang) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=tr("no_data", lang), showarrow=False, x=0.5, y=0.5,
                       xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, height=220)


def _errors(frame: pd.DataFrame, value: str, low: str, high: str) -> dict[str, Any]:
    v, lo, hi = (pd.to_numeric(frame[c], errors="coerce") for c in (value, low, high))
    return {"type": "data", "symmetric": False, "array": (hi - v).fillna(0).tolist(),
            "arrayminus": (v - lo).fillna(0).tolist(), "visible": True}


def _labels(frame: pd.DataFrame, lang: Lang, categorical: bool) -> list[str]:
    if categorical:
        return [category(k, lang) for k in frame["key"]]
    return [tr("none", lang) if x is None or pd.isna(x) else str(x) for x in frame["label"]]


def trend(frame: pd.DataFrame, lang: Lang, *, score_title: str, unsafe_title: str
          ) -> list[go.Figure]:
    """Mean score per group and unsafe share (all raters), each with its 95% interval."""
    if frame.empty:
        return [_empty(tr(score_title, lang), lang), _empty(tr(unsafe_title, lang), lang)]
    score = go.Figure()
    for g in SCORE_GROUPS:
        part = frame[(frame["group"] == g) & frame["mean"].notna()]
        if part.empty:
            continue
        score.add_trace(go.Scatter(
            x=_labels(part, lang, False), y=part["mean"], name=tr(g, lang),
            mode="lines+markers", marker={"color": COLOURS[g]},
            error_y=_errors(part, "mean", "mean_low", "mean_high"),
            customdata=part["replies"], hovertemplate="%{y:.2f} (n=%{customdata})"))
    score.update_yaxes(range=[1, 5], title=tr("mean_score", lang))
    part = frame[frame["group"] == "all"]
    unsafe = go.Figure(go.Scatter(
        x=_labels(part, lang, False), y=part["unsafe_rate"], name=tr("all", lang),
        mode="lines+markers", marker={"color": COLOURS["all"]},
        error_y=_errors(part, "unsafe_rate", "unsafe_low", "unsafe_high"),
        customdata=part[["unsafe", "replies"]],
        hovertemplate="%{y:.1%} (%{customdata[0]}/%{customdata[1]})"))
    unsafe.update_yaxes(range=[0, 1], tickformat=".0%", title=tr("unsafe_share", lang))
    return [_layout(score, tr(score_title, lang)), _layout(unsafe, tr(unsafe_title, lang))]


def breakdown(frame: pd.DataFrame, lang: Lang, title: str) -> go.Figure:
    """Mean score per group (left) and unsafe share (right) for each category."""
    if frame.empty:
        return _empty(tr(title, lang), lang)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(tr("mean_score", lang),
                                                        tr("unsafe_share", lang)))
    for g in SCORE_GROUPS:
        part = frame[(frame["group"] == g) & frame["mean"].notna()]
        if not part.empty:
            fig.add_trace(go.Bar(x=_labels(part, lang, True), y=part["mean"], name=tr(g, lang),
                                 marker_color=COLOURS[g],
                                 error_y=_errors(part, "mean", "mean_low", "mean_high")),
                          row=1, col=1)
    part = frame[frame["group"] == "all"]
    fig.add_trace(go.Bar(x=_labels(part, lang, True), y=part["unsafe_rate"], name=tr("all", lang),
                         marker_color=COLOURS["all"],
                         error_y=_errors(part, "unsafe_rate", "unsafe_low", "unsafe_high")),
                  row=1, col=2)
    fig.update_yaxes(range=[1, 5], row=1, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    return _layout(fig, tr(title, lang), height=420)


def heatmap(frame: pd.DataFrame, lang: Lang, version: str | None = None) -> go.Figure:
    title = tr("heatmap", lang) + (f" — {tr('version', lang)} ‘{version}’" if version else "")
    if frame.empty:
        return _empty(title, lang)
    rows = list(dict.fromkeys(frame["criterion_name"]))
    cols = sorted(dict.fromkeys(frame["title"]))
    grid = frame.pivot_table(index="criterion_name", columns="title", values="mean"
                             ).reindex(index=rows, columns=cols)
    counts = frame.pivot_table(index="criterion_name", columns="title", values="n"
                               ).reindex(index=rows, columns=cols)
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=[c[:40] for c in cols], y=rows, zmin=1, zmax=5,
        colorscale="RdYlGn", customdata=counts.values,
        hovertemplate="%{y} · %{x}<br>%{z:.2f} (n=%{customdata})<extra></extra>"))
    fig.update_xaxes(tickangle=-40)
    return _layout(fig, title, height=260 + 22 * len(rows) + 6 * len(cols))


def agreement(frame: pd.DataFrame, lang: Lang) -> go.Figure:
    shown = frame[frame["alpha"].notna()] if not frame.empty else frame
    if shown.empty:
        return _empty(tr("agreement", lang), lang)
    fig = go.Figure()
    for scope in ("expert", "lived_experience", "between"):
        part = shown[shown["scope"] == scope]
        if part.empty:
            continue
        fig.add_trace(go.Bar(
            y=part["criterion_name"], x=part["alpha"], orientation="h", name=tr(scope, lang),
            marker_color=COLOURS[scope], customdata=part["items"],
            hovertemplate="α = %{x:.2f} (%{customdata} items)",
            error_x=_errors(part.rename(columns={"alpha": "v"}), "v", "low", "high")))
    for x, key, side in ((0.667, "tentative", "top left"), (0.8, "reliable", "top right")):
        fig.add_vline(x=x, line_dash="dash", line_color="#888",
                      annotation_text=tr(key, lang), annotation_position=side)
    fig.update_layout(barmode="group")
    fig.update_xaxes(range=[min(-0.2, float(shown["alpha"].min()) - 0.1), 1])
    return _layout(fig, tr("agreement", lang), height=200 + 26 * len(shown))


def coverage(frame: pd.DataFrame, lang: Lang) -> go.Figure:
    dims = ("violence_form", "writer", "risk_level")
    fig = make_subplots(rows=1, cols=3, subplot_titles=[tr(d, lang) for d in dims])
    for i, dim in enumerate(dims, start=1):
        part = frame[frame["dimension"] == dim]
        fig.add_trace(go.Bar(
            x=[category(v, lang) for v in part["value"]], y=part["replies"], showlegend=False,
            marker_color=["#2e7d32" if ok else "#c62828" for ok in part["enough"]]),
            row=1, col=i)
        if not part.empty:
            fig.add_hline(y=int(part["minimum"].iloc[0]), line_dash="dash", line_color="#888",
                          row=1, col=i)
    fig.update_xaxes(tickangle=-40)
    return _layout(fig, tr("coverage", lang), height=440)


def all_figures(d: Dashboard, lang: Lang = "nl") -> dict[str, go.Figure]:
    """Every dashboard figure by name, in the order the page and the report show them."""
    score_pv, unsafe_pv = trend(d.by_prompt_version, lang, score_title="score_by_pv",
                                unsafe_title="unsafe_by_pv")
    score_day, unsafe_day = trend(d.by_training_day, lang, score_title="score_by_day",
                                  unsafe_title="unsafe_by_day")
    figures = {
        "score_by_pv": score_pv, "unsafe_by_pv": unsafe_pv,
        "score_by_day": score_day, "unsafe_by_day": unsafe_day,
        "by_risk_level": breakdown(d.by_risk_level, lang, "by_risk_level"),
        "by_violence_form": breakdown(d.by_violence_form, lang, "by_violence_form"),
        "by_writer": breakdown(d.by_writer, lang, "by_writer"),
        "heatmap": heatmap(d.heatmap, lang, d.heatmap_prompt_version),
        "agreement": agreement(d.agreement, lang),
        "coverage": coverage(d.coverage, lang),
    }
    for fig in figures.values():
        fig.update_layout(separators=chart_separators(lang))
    return figures
