"""The regression gate: compare two runs of the scenario suite (e.g. two prompt versions).

Conversations pair by (scenario, repeat) and replies by their position in the conversation.
Per measure the difference is b - a (higher is better everywhere) with a seeded paired
bootstrap interval; a measure is *worse beyond the CI* when the interval's upper bound is below 0.
Measures:
- the expectation pass rate, per paired conversation (its replies are not independent, so the
  conversation is the resampling unit), and a breakdown per check (information only);
- judge scores, per paired reply, on the criteria the judge is TRUSTED for (alignment report);
- ragas string metrics, per paired reply, where a reference exists for that scenario position
  (the same reference for both sides; information only).
The gate fails on the expectation pass rate and on trusted critical criteria only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from workbench.domain.stats import paired_bootstrap_diff_ci
from workbench.services.evaluation._alignment import JUDGE_PREFIX, TrustThresholds, alignment_report
from workbench.services.evaluation._expectations import (
    conversation_checks,
    position_key,
    position_references,
)
from workbench.storage import repo
from workbench.storage import repo_eval as q
from workbench.storage.db import session_scope
from workbench.storage.snapshots import rubric_of
from workbench.storage.tables import Run


@dataclass(frozen=True)
class ComparisonRow:
    measure: str  # expectations | check:<kind>:<check> | judge:<criterion> | ragas:<metric>
    kind: str  # expectations | check | judge | ragas
    gate: bool  # does a worsening fail the gate?
    n: int  # pairs
    mean_a: float | None
    mean_b: float | None
    diff: float | None  # mean of b - a
    ci_low: float | None
    ci_high: float | None

    @property
    def worse(self) -> bool:
        """Worse beyond the CI: even the interval's upper bound of b - a is below 0."""
        return self.ci_high is not None and self.ci_high < 0

    @property
    def regression(self) -> bool:
        return self.gate and self.worse


@dataclass
class Comparison:
    run_a: str
    run_b: str
    paired_conversations: int
    paired_replies: int
    unpaired_conversations: int
    judge: str | None
    trusted: list[str]
    rows: list[ComparisonRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(r.regression for r in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_a": self.run_a, "run_b": self.run_b, "regressed": self.regressed,
            "paired_conversations": self.paired_conversations,
            "paired_replies": self.paired_replies,
            "unpaired_conversations": self.unpaired_conversations,
            "judge": self.judge, "trusted_criteria": self.trusted, "notes": self.notes,
            "rows": [{**asdict(r), "worse": r.worse, "regression": r.regression}
                     for r in self.rows],
        }


def _row(measure: str, kind: str, gate: bool, a: list[float], b: list[float], *,
         seed: int, n_boot: int, confidence: float) -> ComparisonRow:
    ci = paired_bootstrap_diff_ci(a, b, seed=seed, n_boot=n_boot, confidence=confidence)
    mean = (lambda xs: sum(xs) / len(xs) if xs else None)  # noqa: E731
    return ComparisonRow(measure, kind, gate, len(a), mean(a), mean(b), ci.estimate, ci.low,
                         ci.high)


def _pick_judge(ratings: list[tuple[Any, str]], ids_a: set[int], ids_b: set[int],
                judge: str | None) -> tuple[str, int] | None:
    """(judge code, rubric version) that rated replies of both runs: the one asked for, else
    the one with the most such ratings."""
    counts: Counter[tuple[str, int]] = Counter()
    sides: dict[tuple[str, int], set[str]] = {}
    for rating, code in ratings:
        key = (code, rating.rubric_version_id)
        counts[key] += 1
        sides.setdefault(key, set()).add("a" if rating.turn_id in ids_a else "b")
    both = [k for k in counts if sides[k] == {"a", "b"}
            and (judge is None or k[0] == JUDGE_PREFIX + judge)]
    return max(both, key=lambda k: (counts[k], k)) if both else None


def compare_runs(
    *, engine: sa.Engine, run_a: str, run_b: str, judge: str | None = None,
    thresholds: TrustThresholds | None = None, seed: int = 0, n_boot: int = 2000,
    confidence: float = 0.95, with_ragas: bool = True,
) -> Comparison:
    """Compare run B against run A (see the module docstring)."""
    opts: dict[str, Any] = {"seed": seed, "n_boot": n_boot, "confidence": confidence}
    with session_scope(engine) as s:
        for rid in (run_a, run_b):
            if s.get(Run, rid) is None:
                raise repo.NotFound(f"no run with id '{rid}'")
        replies_a = q.replies_of_run(session=s, run_id=run_a)
        replies_b = q.replies_of_run(session=s, run_id=run_b)
        checks_a = conversation_checks(s, replies_a)
        checks_b = conversation_checks(s, replies_b)
        ids_a = {r.turn_id for r in replies_a}
        ids_b = {r.turn_id for r in replies_b}
        ratings = q.judge_ratings(session=s, turn_ids=ids_a | ids_b)
        chosen = _pick_judge(ratings, ids_a, ids_b, judge)
        rubric = (rubric_of(session=s, rubric_version_id=chosen[1]) if chosen else None)
        keys = {key for r in [*replies_a, *replies_b] if (key := position_key(r)) is not None}
        refs = position_references(s, keys) if with_ragas else {}

    conv_a = {(c.scenario_id, c.repeat_index): c for c in checks_a.values()}
    conv_b = {(c.scenario_id, c.repeat_index): c for c in checks_b.values()}
    shared = sorted(set(conv_a) & set(conv_b), key=str)
    cmp = Comparison(run_a, run_b, len(shared), 0,
                     len(set(conv_a) ^ set(conv_b)), None, [])
    if cmp.unpaired_conversations:
        cmp.notes.append(f"{cmp.unpaired_conversations} conversation(s) have no partner in the "
                         "other run and are left out")

    rates: list[tuple[float, float]] = []
    for k in shared:
        ra, rb = conv_a[k].pass_rate, conv_b[k].pass_rate
        if ra is not None and rb is not None:
            rates.append((ra, rb))
    cmp.rows.append(_row("expectations", "expectations", True, [a for a, _ in rates],
                         [b for _, b in rates], **opts))
    per_check: dict[str, tuple[list[float], list[float]]] = {}
    for k in shared:
        ca, cb = conv_a[k].by_check(), conv_b[k].by_check()
        for name in sorted(set(ca) & set(cb)):
            pa, pb = per_check.setdefault(name, ([], []))
            pa.append(ca[name])
            pb.append(cb[name])
    for name, (pa, pb) in sorted(per_check.items()):
        cmp.rows.append(_row(f"check:{name}", "check", False, pa, pb, **opts))

    by_pos_a = {(r.scenario_id, r.repeat_index, r.ordinal): r for r in replies_a}
    by_pos_b = {(r.scenario_id, r.repeat_index, r.ordinal): r for r in replies_b}
    reply_pairs = [(by_pos_a[p], by_pos_b[p]) for p in sorted(set(by_pos_a) & set(by_pos_b),
                                                                key=str)]
    cmp.paired_replies = len(reply_pairs)
    if chosen is not None and rubric is not None:
        _judge_rows(cmp, chosen, rubric, ratings, reply_pairs, engine, thresholds, opts)
    elif ratings:
        cmp.notes.append("no judge rated replies of both runs: judge scores are left out")
    if with_ragas:
        _ragas_rows(cmp, refs, reply_pairs, opts)
    return cmp


def _judge_rows(cmp: Comparison, chosen: tuple[str, int], rubric: Any,
                ratings: list[tuple[Any, str]], reply_pairs: list[tuple[q.Reply, q.Reply]],
                engine: sa.Engine, thresholds: TrustThresholds | None,
                opts: dict[str, Any]) -> None:
    code, rv_id = chosen
    cmp.judge = code.removeprefix(JUDGE_PREFIX)
    report = alignment_report(engine=engine, judge=cmp.judge, rubric_version_id=rv_id,
                              thresholds=thresholds)
    cmp.trusted = report.trusted
    untrusted = [r.key for r in report.rows if not r.trust.trusted]
    if untrusted:
        cmp.notes.append(f"judge '{cmp.judge}' is not trusted on {', '.join(untrusted)}: "
                         "those criteria are left out")
    values = {r.turn_id: r.values for r, c in ratings
              if c == code and r.rubric_version_id == rv_id}
    for key in cmp.trusted:
        pairs = [(values[a.turn_id][key], values[b.turn_id][key]) for a, b in reply_pairs
                 if values.get(a.turn_id, {}).get(key) is not None
                 and values.get(b.turn_id, {}).get(key) is not None]
        cmp.rows.append(_row(f"judge:{key}", "judge", rubric.criterion(key).critical,
                             [float(a) for a, _ in pairs], [float(b) for _, b in pairs], **opts))


def _ragas_rows(cmp: Comparison, refs: dict[Any, Any],
                reply_pairs: list[tuple[q.Reply, q.Reply]], opts: dict[str, Any]) -> None:
    with_ref = [(a, b, refs[k]) for a, b in reply_pairs
                if (k := position_key(a)) is not None and k == position_key(b) and k in refs]
    if not with_ref:
        cmp.notes.append("no gold references for these scenario positions: ragas metrics are "
                         "left out")
        return
    from workbench.services.evaluation._ragas import STRING_METRICS, string_scores

    scores = string_scores([(r.text, ref.text) for a, b, ref in with_ref for r in (a, b)])
    for name in STRING_METRICS:
        sa_ = [float(scores[2 * i][name] or 0.0) for i in range(len(with_ref))]
        sb_ = [float(scores[2 * i + 1][name] or 0.0) for i in range(len(with_ref))]
        cmp.rows.append(_row(f"ragas:{name}", "ragas", False, sa_, sb_, **opts))
