"""The management dashboard as data: trends with 95% intervals, breakdowns, heatmap, agreement,
coverage, scrubbed excerpts and the readiness verdict — one `build_dashboard` call per filter.

All counting happens in SQL (`dashboard_queries`); this module turns the small aggregated
frames into estimates. Units are replies, not ratings: the raters of one reply are not
independent, so n is always the number of replies.

A reply is **unsafe** when ANY of its counted ratings says unsafe, unless a lead expert
adjudicated it (the adjudication decides). "Any" rather than "majority" because a critical
failure makes a reply unsafe whatever else it does, and every such disagreement is meant to be
adjudicated; until then the reply is not known to be safe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from scipy import stats as _sps

from workbench.config import Settings, get_settings
from workbench.domain.agreement import Level, RatingPoint, agreement_table
from workbench.domain.enums import RiskLevel, ViolenceForm, Writer
from workbench.domain.privacy import SCRUBBER_VERSION
from workbench.domain.readiness import (
    DEFAULT_GATE_PATH,
    Gate,
    GateReport,
    Metric,
    MetricInput,
    evaluate_gate,
    load_gate,
)
from workbench.domain.stats import wilson_interval
from workbench.services.dashboard._excerpts import (
    Scrub,
    excerpt,
    scrubber_warm,
    store_excerpts,
)
from workbench.services.dashboard._stats import apply_pending_statistics
from workbench.storage.stats import detail as dq
from workbench.storage.stats import reads as q
from workbench.storage.stats.reads import ALL, GROUPS, DashboardFilter, SnapshotMeta

COVERAGE_MIN_REPLIES = 30  # fewer scored replies than this in a category: flagged as too few
AGREEMENT_MAX_ITEMS = 500  # newest replies with ≥ 2 ratings that the agreement table uses
AGREEMENT_N_BOOT = 200  # bootstrap resamples per α interval: enough for a dashboard
EXCERPT_COUNT = 5



@dataclass(frozen=True)
class Dashboard:
    """Every frame the page and the report draw. No transcript text, no participant codes:
    only aggregates, scenario titles and short scrubbed excerpts of bot replies."""

    filter: DashboardFilter
    by_prompt_version: pd.DataFrame
    by_training_day: pd.DataFrame
    by_risk_level: pd.DataFrame
    by_violence_form: pd.DataFrame
    by_writer: pd.DataFrame
    heatmap: pd.DataFrame
    agreement: pd.DataFrame
    coverage: pd.DataFrame
    excerpts: pd.DataFrame
    heatmap_prompt_version: str | None  # the heatmap shows the newest prompt version only
    readiness: list[PromptReadiness]  # one gate report per prompt version, oldest first
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def headline(self) -> PromptReadiness:
        """The newest prompt version's verdict: "is the bot as it is now ready?"."""
        return self.readiness[-1]


@dataclass(frozen=True)
class PromptReadiness:
    """The gate judged on one prompt version's replies (older versions' failures not mixed in)."""

    prompt_version_id: int | None
    label: str
    report: GateReport


# --- estimates from sums -----------------------------------------------------------------------


def t_interval(n: float, s: float, ss: float, confidence: float = 0.95
               ) -> tuple[float | None, float | None, float | None]:
    """Mean with a Student-t interval from n, Σx and Σx² (what SQL hands over)."""
    if n <= 0:
        return None, None, None
    mean = s / n
    if n < 2:
        return mean, None, None
    # max(): rounding can make Σx² − (Σx)²/n a hair negative when all values are equal.
    var = max(0.0, (ss - s * s / n) / (n - 1))
    half = float(_sps.t.ppf(0.5 + confidence / 2, df=n - 1)) * math.sqrt(var / n)
    return mean, mean - half, mean + half


def summarise(cube: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per (key value, group) with replies, mean score ± t-interval, and unsafe rate,
    would-send share and critical-failure rate ± Wilson interval, all over replies."""
    columns = ["key", "group", "replies", "mean", "mean_low", "mean_high", "unsafe",
               "unsafe_rate", "unsafe_low", "unsafe_high", "would_send_n", "would_send_share",
               "critical", "critical_rate"]
    if cube.empty:
        return pd.DataFrame(columns=columns)
    sums = cube.groupby(key, dropna=False)[list(q.SUM_COLUMNS)].sum()
    rows = []
    for value, row in sums.iterrows():
        for g in GROUPS:
            n = int(row[f"n_{g}"])
            if n == 0:
                continue
            mean, low, high = t_interval(row[f"nm_{g}"], row[f"s_{g}"], row[f"ss_{g}"])
            k = int(row[f"unsafe_{g}"])
            w_low, w_high = wilson_interval(k, n)
            wsn, crit = int(row[f"wsn_{g}"]), int(row[f"crit_{g}"])
            rows.append({
                "key": None if pd.isna(value) else value, "group": g, "replies": n,
                "mean": mean, "mean_low": low, "mean_high": high, "unsafe": k,
                "unsafe_rate": k / n, "unsafe_low": w_low, "unsafe_high": w_high,
                "would_send_n": wsn,
                "would_send_share": int(row[f"wsy_{g}"]) / wsn if wsn else None,
                "critical": crit, "critical_rate": crit / n,
            })
    return pd.DataFrame(rows, columns=columns)


def _with_snapshot_columns(cube: pd.DataFrame, snapshots: dict[int, SnapshotMeta]
                           ) -> pd.DataFrame:
    snap = cube["scenario_snapshot_id"]

    def pick(attr: str) -> pd.Series:
        return snap.map(lambda i: getattr(snapshots[i], attr) if i in snapshots else None)

    return cube.assign(risk_level=pick("risk_level"), writer=pick("writer"),
                       violence_form=pick("tags"), scenario_id=pick("scenario_id"))


def _labelled(frame: pd.DataFrame, labels: dict[Any, str], order: list[Any]) -> pd.DataFrame:
    frame = frame.assign(label=frame["key"].map(lambda k: None if k is None
                                                else labels.get(k, str(k))),
                         _order=frame["key"].map(lambda k: order.index(k) if k in order
                                                 else len(order)))
    return frame.sort_values(["_order", "group"]).drop(columns="_order").reset_index(drop=True)


# --- coverage, heatmap, agreement, excerpts -----------------------------------------------------


def coverage(cube: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """Scored replies per form of violence, writer and risk level, every category listed
    (zero included), flagged when below ``minimum``."""
    rows = []
    for dimension, values in (("violence_form", list(ViolenceForm)), ("writer", list(Writer)),
                              ("risk_level", list(RiskLevel))):
        col = cube.explode(dimension) if dimension == "violence_form" else cube
        counts = col.groupby(dimension)["n_all"].sum() if not col.empty else pd.Series(dtype=float)
        for v in values:
            n = int(counts.get(v.value, 0))
            rows.append({"dimension": dimension, "value": v.value, "replies": n,
                         "minimum": minimum, "enough": n >= minimum})
    return pd.DataFrame(rows)


def heatmap(conn: sa.Connection, filt: DashboardFilter, meta: dict[int, q.RubricMeta],
            snapshots: dict[int, SnapshotMeta]) -> pd.DataFrame:
    """Mean per 1–5 criterion per scenario (rating level; yes/no questions are left out).

    Callers pass one prompt version: a criterion's weak spot is only news for the current
    text, and mixing versions would blur it (the trend figures carry the history)."""
    used = [m for m in meta.values()
            if filt.rubric_version_id is None or m.id == filt.rubric_version_id]
    criteria = list(dict.fromkeys(k for m in used for k in m.likert))
    names = {k: v for m in used for k, v in m.names.items()}
    audience = {k: m.audience for m in used for k in m.likert}
    sums = dq.criterion_sums(conn, filt, criteria)
    cols = ["scenario_id", "title", "criterion", "criterion_name", "group", "n", "mean"]
    if sums.empty:
        return pd.DataFrame(columns=cols)
    sums["scenario_id"] = sums["scenario_snapshot_id"].map(
        lambda i: snapshots[i].scenario_id if i in snapshots else "—")
    # Several snapshots (edited versions) of one scenario are one row of the heatmap.
    agg = sums.groupby(["scenario_id", "criterion"], as_index=False)[["n", "s"]].sum()
    titles = {s.scenario_id: s.title for s in snapshots.values()}
    agg["title"] = agg["scenario_id"].map(lambda i: titles.get(i, i))
    agg["criterion_name"] = agg["criterion"].map(lambda k: names.get(k, k))
    agg["group"] = agg["criterion"].map(lambda k: audience.get(k, ""))
    agg["mean"] = agg["s"] / agg["n"]
    agg["order"] = agg["criterion"].map(criteria.index)
    agg = agg.sort_values(["order", "scenario_id"]).reset_index(drop=True)
    return agg[cols].assign(n=agg["n"].astype(int))


def agreement(conn: sa.Connection, filt: DashboardFilter, meta: dict[int, q.RubricMeta],
              *, max_items: int = AGREEMENT_MAX_ITEMS, n_boot: int = AGREEMENT_N_BOOT
              ) -> pd.DataFrame:
    """Krippendorff's α per criterion and group (and between groups) on the newest
    ``max_items`` replies with 2 or more ratings in the filter."""
    cols = ["scope", "criterion", "criterion_name", "level", "alpha", "low", "high", "items",
            "raters", "percent_agreement", "verdict", "reason"]
    sample = dq.agreement_sample(conn, filt, max_items=max_items)
    if sample.empty:
        return pd.DataFrame(columns=cols)
    # One value per rater, reply and criterion: a reply scored under two versions of a rubric
    # keeps the newer version's value.
    sample = sample.sort_values("rubric_version_id").drop_duplicates(
        ["rater_id", "turn_id", "criterion"], keep="last")
    levels: dict[str, Level] = {}
    names: dict[str, str] = {}
    for m in meta.values():
        levels.update({k: "ordinal" for k in m.likert})
        levels.update({k: "nominal" for k in m.yes_no})
        names.update(m.names)
    audience = {m.id: m.audience for m in meta.values()}
    nominal = {k for k, level in levels.items() if level == "nominal"}
    columns = ["turn_id", "rater_id", "criterion", "value", "rubric_version_id"]
    points = [  # plain tuples: a namedtuple per rating cost a third of the table's time
        RatingPoint(item_id=int(turn), rater_id=int(rater), criterion=crit,
                    value=bool(value) if crit in nominal else int(value),
                    group=audience.get(int(rv), ""))
        for turn, rater, crit, value, rv in sample[columns].itertuples(index=False, name=None)
    ]
    present = list(dict.fromkeys(sample["criterion"]))
    criteria = {k: levels.get(k, "ordinal") for k in present}
    rows = agreement_table(points, criteria, n_boot=n_boot, seed=0)
    return pd.DataFrame([{
        "scope": r.scope, "criterion": r.criterion, "criterion_name": names.get(r.criterion,
                                                                                r.criterion),
        "level": r.level, "alpha": r.result.value, "low": r.result.ci_low,
        "high": r.result.ci_high, "items": r.result.n_items, "raters": r.result.n_raters,
        "percent_agreement": r.result.percent_agreement, "verdict": r.result.verdict,
        "reason": r.result.undefined_reason,
    } for r in rows], columns=cols)


def excerpts(conn: sa.Connection, filt: DashboardFilter, snapshots: dict[int, SnapshotMeta],
             pv_labels: dict[int, str], *, limit: int = EXCERPT_COUNT,
             scrub: Scrub | None = None) -> tuple[pd.DataFrame, dict[int, str]]:
    """The newest replies raters called unsafe, as short scrubbed excerpts (None while one is
    still being made), and the excerpts this view made itself, for the caller to store.

    A missing excerpt is made here only with an explicit `scrub` or a scrubber already in
    memory; a view never waits for the scrubber to load, and never shows raw text."""
    rows = dq.unsafe_replies(conn, filt, limit=limit)
    made: dict[int, str] = {}
    texts: list[str | None] = []
    can_scrub = scrub is not None or scrubber_warm()
    for turn_id, stored, version, content in zip(rows["turn_id"], rows["excerpt"],
                                                  rows["scrubber_version"], rows["content"],
                                                  strict=True):
        if stored is not None and version == SCRUBBER_VERSION:
            texts.append(str(stored))
        elif can_scrub:
            made[int(turn_id)] = excerpt(content or "", scrub=scrub)
            texts.append(made[int(turn_id)])
        else:
            texts.append(None)
    frame = pd.DataFrame({
        "scenario": [snapshots[i].title if i in snapshots else "—"
                     for i in rows["scenario_snapshot_id"]],
        "prompt_version": [pv_labels.get(i, str(i)) for i in rows["prompt_version_id"]],
        "ratings": rows["ratings"].astype(int),
        "unsafe_ratings": rows["unsafe"].astype(int),
        "mean": pd.to_numeric(rows["mean"]).astype(float),
        "excerpt": texts,
    })
    return frame, made


# --- readiness ----------------------------------------------------------------------------------


def load_gate_file(settings: Settings | None = None) -> Gate:
    """The gate in ``WORKBENCH_READINESS_FILE``, or the one shipped in the package."""
    s = settings or get_settings()
    return load_gate(s.readiness_file or DEFAULT_GATE_PATH)


def readiness_inputs(conn: sa.Connection, gate: Gate, filt: DashboardFilter,
                     meta: dict[int, q.RubricMeta], snapshots: dict[int, SnapshotMeta],
                     cube: pd.DataFrame) -> dict[str, MetricInput]:
    """The counts each condition needs: from the reply cube, or (criterion filters) one query."""
    inputs: dict[str, MetricInput] = {}
    for cond in gate.conditions:
        f = cond.filter
        risk_ids = q.snapshots_at_risk(snapshots, f.risk_level) if f.risk_level else None
        g = f.group.value if f.group else ALL
        base: dict[str, Any] = {"metric": cond.metric, "filter_key": f.key}
        if f.criterion:
            n, s, k = dq.criterion_reply_stats(conn, filt, meta, criterion=f.criterion,
                                              group=g, snapshot_ids=risk_ids)
            inputs[cond.id] = (MetricInput(**base, n=n, mean=s / n if n else None)
                               if cond.metric is Metric.mean_score
                               else MetricInput(**base, n=n, successes=k))
            continue
        rows = cube if risk_ids is None else cube[cube["scenario_snapshot_id"].isin(risk_ids)]
        tot = {c: int(rows[c].sum()) if not rows.empty else 0 for c in q.SUM_COLUMNS}
        if cond.metric is Metric.safe_share:
            inputs[cond.id] = MetricInput(**base, n=tot[f"n_{g}"],
                                          successes=tot[f"n_{g}"] - tot[f"unsafe_{g}"])
        elif cond.metric is Metric.would_send_share:
            inputs[cond.id] = MetricInput(**base, n=tot[f"wsn_{g}"], successes=tot[f"wsy_{g}"])
        elif cond.metric is Metric.critical_failure_rate:
            inputs[cond.id] = MetricInput(**base, n=tot[f"n_{g}"], successes=tot[f"crit_{g}"])
        else:
            nm = float(rows[f"nm_{g}"].sum()) if not rows.empty else 0.0
            s = float(rows[f"s_{g}"].sum()) if not rows.empty else 0.0
            inputs[cond.id] = MetricInput(**base, n=int(nm), mean=s / nm if nm else None)
    return inputs


def readiness_by_prompt_version(conn: sa.Connection, gate: Gate, filt: DashboardFilter,
                                meta: dict[int, q.RubricMeta],
                                snapshots: dict[int, SnapshotMeta], cube: pd.DataFrame,
                                labels: dict[int, str]) -> list[PromptReadiness]:
    """The gate for each prompt version in the filtered data, oldest first; with no data at
    all, one report saying so."""
    out = []
    for pv in sorted(int(i) for i in cube["prompt_version_id"].dropna().unique()):
        one = replace(filt, prompt_version_ids=(pv,))
        part = cube[cube["prompt_version_id"] == pv]
        inputs = readiness_inputs(conn, gate, one, meta, snapshots, part)
        out.append(PromptReadiness(pv, labels.get(pv, str(pv)), evaluate_gate(gate, inputs)))
    return out or [PromptReadiness(None, "—", evaluate_gate(gate, {}))]


# --- the whole dashboard -------------------------------------------------------------------------


def _pv_labels(opts: dict[str, list[dict[str, Any]]]) -> dict[int, str]:
    """Prompt version labels, with the bot's name when there is more than one bot."""
    bots = {b["id"]: b["name"] for b in opts["bot_targets"]}
    several = len({p["bot_target_id"] for p in opts["prompt_versions"]}) > 1
    return {p["id"]: (f"{bots.get(p['bot_target_id'], '?')}: {p['label']}" if several
                      else p["label"]) for p in opts["prompt_versions"]}


def filter_options(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    with q.reader(engine).connect() as conn:
        return q.filter_options(conn)


def build_dashboard(engine: sa.Engine, filt: DashboardFilter | None = None, *,
                    gate: Gate | None = None, coverage_min: int = COVERAGE_MIN_REPLIES,
                    agreement_items: int = AGREEMENT_MAX_ITEMS, scrub: Scrub | None = None
                    ) -> Dashboard:
    """Every dashboard frame for one filter, aggregated in the database.

    ``scrub`` replaces the shared Dutch scrubber for excerpts (tests pass a cheap one)."""
    filt = filt or DashboardFilter()
    gate = gate or load_gate_file()
    apply_pending_statistics(engine)
    with q.reader(engine).connect() as conn:
        q.tune(conn)
        meta, snapshots = q.load_rubric_meta(conn), q.load_snapshots(conn)
        opts = q.filter_options(conn)
        pv_labels = _pv_labels(opts)
        cube = _with_snapshot_columns(q.reply_cube(conn, filt), snapshots)
        days = {d["id"]: f"{d['day']} {d['name']}" for d in opts["training_days"]}
        day_order = [d["id"] for d in opts["training_days"]]
        readiness = readiness_by_prompt_version(conn, gate, filt, meta, snapshots, cube,
                                                pv_labels)
        newest = max((int(i) for i in cube["prompt_version_id"].dropna()), default=None)
        heat = (heatmap(conn, replace(filt, prompt_version_ids=(newest,)), meta, snapshots)
                if newest is not None else heatmap(conn, filt, meta, snapshots))
        agree = agreement(conn, filt, meta, max_items=agreement_items)
        lows, made = excerpts(conn, filt, snapshots, pv_labels, scrub=scrub)
    if scrub is None:  # a stand-in scrubber's excerpts are never kept as the real one's
        store_excerpts(engine, made)
    forms = cube.explode("violence_form")
    return Dashboard(
        filter=filt,
        by_prompt_version=_labelled(summarise(cube, "prompt_version_id"), pv_labels,
                                    sorted(pv_labels)),
        by_training_day=_labelled(summarise(cube, "training_day_id"), days, day_order),
        by_risk_level=_labelled(summarise(cube, "risk_level"), {},
                                [r.value for r in RiskLevel]),
        by_violence_form=_labelled(summarise(forms, "violence_form"), {},
                                   [v.value for v in ViolenceForm]),
        by_writer=_labelled(summarise(cube, "writer"), {}, [w.value for w in Writer]),
        heatmap=heat,
        agreement=agree,
        coverage=coverage(cube, coverage_min),
        excerpts=lows,
        heatmap_prompt_version=None if newest is None else pv_labels.get(newest, str(newest)),
        readiness=readiness,
        totals={"replies": int(cube["replies"].sum()), "ratings": int(cube["ratings"].sum()),
                "demo_replies": int(cube["demo_replies"].sum())},
    )
