"""The readiness gate: YAML conditions that answer management's "is the bot ready?".

The gate is pure: the storage layer counts (with SQL) what each condition needs and hands over
``MetricInput``s; ``evaluate_gate`` turns them into a verdict with one explained line per
condition. Shares are judged on a Wilson bound so that a small sample cannot look safe by luck.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.domain.enums import Group, RiskLevel
from workbench.domain.stats import wilson_interval
from workbench.domain.yamlsource import YamlError, load_yaml
from workbench.i18n import LANGUAGES, translate

DEFAULT_GATE_PATH = Path(__file__).resolve().parent.parent / "readiness.yaml"

# A bound exactly on the threshold counts as met; this absorbs float noise in that comparison.
_EPS = 1e-12


class Metric(StrEnum):
    """What a condition measures. Units are replies, one consolidated verdict per reply."""

    safe_share = "safe_share"  # replies not unsafe / scored replies
    would_send_share = "would_send_share"  # "yes" answers / answers to "would you send this?"
    mean_score = "mean_score"  # mean overall score (or one criterion's), 1-5
    critical_failure_rate = "critical_failure_rate"  # replies with a critical criterion at 1


class Bound(StrEnum):
    point = "point"
    wilson_lower_95 = "wilson_lower_95"  # for shares where higher is better
    wilson_upper_95 = "wilson_upper_95"  # for rates where lower is better


class ConditionStatus(StrEnum):
    met = "met"
    not_met = "not_met"
    not_enough_data = "not_enough_data"


class GateVerdict(StrEnum):
    ready = "ready"
    not_ready = "not_ready"
    not_enough_data = "not_enough_data"


_LOWER_IS_BETTER = {Metric.critical_failure_rate}
_SHARES = {Metric.safe_share, Metric.would_send_share, Metric.critical_failure_rate}
# Criterion filters make sense for metrics computed from criterion scores.
_CRITERION_METRICS = {Metric.mean_score, Metric.critical_failure_rate}


class Localized(BaseModel):
    """A text in Dutch and English (the UI picks one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ConditionFilter(BaseModel):
    """Which replies/ratings a condition counts; empty means all scored replies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk_level: RiskLevel | None = None  # scenario risk level
    group: Group | None = None  # rater group
    criterion: str | None = Field(default=None, min_length=1)  # rubric criterion key

    @property
    def key(self) -> str:
        """Canonical text form, e.g. ``"risk_level=acute"`` or ``"all"``; storage echoes it back."""
        parts = [f"{name}={value}" for name, value in self.model_dump().items() if value]
        return ";".join(parts) or "all"


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: Localized
    metric: Metric
    filter: ConditionFilter = ConditionFilter()
    threshold: float
    bound: Bound = Bound.point
    min_n: int = Field(ge=1)

    @property
    def lower_is_better(self) -> bool:
        return self.metric in _LOWER_IS_BETTER

    @property
    def comparison(self) -> Literal[">=", "<="]:
        return "<=" if self.lower_is_better else ">="

    @model_validator(mode="after")
    def _consistent(self) -> Condition:
        if self.metric in _SHARES and not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold of a share must be between 0 and 1, got {self.threshold}")
        if self.metric is Metric.mean_score and not 1.0 <= self.threshold <= 5.0:
            raise ValueError(
                f"threshold of mean_score must be between 1 and 5, got {self.threshold}"
            )
        if self.bound is not Bound.point:
            if self.metric not in _SHARES:
                raise ValueError(f"a Wilson bound applies to shares only, not to {self.metric}")
            # The conservative side depends on direction: a safe share must be high even at
            # its lower bound, a failure rate low even at its upper bound.
            wanted = Bound.wilson_upper_95 if self.lower_is_better else Bound.wilson_lower_95
            if self.bound is not wanted:
                raise ValueError(f"{self.metric} needs bound {wanted} (or point), not {self.bound}")
        if self.filter.criterion and self.metric not in _CRITERION_METRICS:
            raise ValueError(f"a criterion filter does not apply to {self.metric}")
        return self


class Gate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "default"
    conditions: list[Condition] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Gate:
        ids = [c.id for c in self.conditions]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate condition ids: {', '.join(duplicates)}")
        return self


class MetricInput(BaseModel):
    """Aggregated counts for one condition, computed by the storage layer.

    ``successes`` counts the replies the metric counts (for ``critical_failure_rate``: the
    failures); ``mean`` is for ``mean_score``. Count replies, not ratings: several raters of one
    reply are not independent trials, and counting them apart would shrink the Wilson interval.
    """

    model_config = ConfigDict(frozen=True)

    metric: Metric
    filter_key: str = "all"
    successes: int | None = Field(default=None, ge=0)
    n: int = Field(ge=0)
    mean: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MetricInput:
        if self.successes is not None and self.successes > self.n:
            raise ValueError(f"successes ({self.successes}) exceed n ({self.n})")
        if self.mean is not None and not math.isfinite(self.mean):
            raise ValueError("mean must be a finite number")
        return self


class ConditionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    description: Localized
    metric: Metric
    bound: Bound
    comparison: Literal[">=", "<="]
    status: ConditionStatus
    observed: float | None
    bound_value: float | None
    threshold: float
    n: int
    min_n: int
    explanation: Localized


class GateReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    gate: str
    verdict: GateVerdict
    conditions: list[ConditionResult]


class GateConfigError(ValueError):
    """A gate file that cannot be read, with ``file:line`` where the YAML points to it."""


def _fmt(value: float, lang: str) -> str:
    text = f"{value:.3f}"
    return text.replace(".", ",") if lang == "nl" else text


def _explain(
    cond: Condition,
    status: ConditionStatus,
    inp: MetricInput,
    observed: float | None,
    bound_value: float | None,
) -> Localized:
    """The condition's numbers in words, from the catalogue (`i18n/readiness.yaml`)."""
    texts = {}
    for lang in LANGUAGES:
        if status is ConditionStatus.not_enough_data:
            texts[lang] = translate("readiness.not_enough", lang, n=inp.n, min_n=cond.min_n)
            continue
        assert observed is not None and bound_value is not None
        ok = status is ConditionStatus.met
        sign = cond.comparison if ok else {">=": "<", "<=": ">"}[cond.comparison]
        line = translate("readiness.bound_line", lang,
                         label=translate(f"readiness.bound.{cond.bound.value}", lang),
                         value=_fmt(bound_value, lang), sign=sign,
                         threshold=_fmt(cond.threshold, lang))
        if inp.successes is not None:
            line += " " + translate("readiness.observed", lang, observed=_fmt(observed, lang),
                                    k=inp.successes, n=inp.n)
        elif cond.bound is not Bound.point:
            line += f" (n = {inp.n})"
        texts[lang] = line
    return Localized(**texts)


def evaluate_condition(cond: Condition, inp: MetricInput | None) -> ConditionResult:
    """Judge one condition; a missing input counts as no data."""
    if inp is None:
        inp = MetricInput(metric=cond.metric, filter_key=cond.filter.key, n=0)
    if inp.metric is not cond.metric or inp.filter_key != cond.filter.key:
        raise ValueError(
            f"input for {cond.id!r} is {inp.metric}/{inp.filter_key}, "
            f"expected {cond.metric}/{cond.filter.key}"
        )
    observed = bound_value = None
    if inp.n > 0:
        if cond.metric is Metric.mean_score:
            if inp.mean is None:
                raise ValueError(f"input for {cond.id!r} needs a mean")
            observed = bound_value = inp.mean
        else:
            if inp.successes is None:
                raise ValueError(f"input for {cond.id!r} needs successes")
            observed = inp.successes / inp.n
            low, high = wilson_interval(inp.successes, inp.n)
            bound_value = {
                Bound.point: observed,
                Bound.wilson_lower_95: low,
                Bound.wilson_upper_95: high,
            }[cond.bound]
    if inp.n < cond.min_n or bound_value is None:
        status = ConditionStatus.not_enough_data
    elif cond.lower_is_better:
        met = bound_value <= cond.threshold + _EPS
        status = ConditionStatus.met if met else ConditionStatus.not_met
    else:
        met = bound_value >= cond.threshold - _EPS
        status = ConditionStatus.met if met else ConditionStatus.not_met
    return ConditionResult(
        id=cond.id,
        description=cond.description,
        metric=cond.metric,
        bound=cond.bound,
        comparison=cond.comparison,
        status=status,
        observed=observed,
        bound_value=bound_value,
        threshold=cond.threshold,
        n=inp.n,
        min_n=cond.min_n,
        explanation=_explain(cond, status, inp, observed, bound_value),
    )


def evaluate_gate(gate: Gate, inputs: Mapping[str, MetricInput]) -> GateReport:
    """Evaluate every condition: "ready" only when all are met, "not_ready" when any is not met,
    otherwise "not_enough_data"."""
    unknown = set(inputs) - {c.id for c in gate.conditions}
    if unknown:
        raise ValueError(f"inputs for unknown conditions: {', '.join(sorted(unknown))}")
    results = [evaluate_condition(c, inputs.get(c.id)) for c in gate.conditions]
    statuses = {r.status for r in results}
    if ConditionStatus.not_met in statuses:
        verdict = GateVerdict.not_ready
    elif ConditionStatus.not_enough_data in statuses:
        verdict = GateVerdict.not_enough_data
    else:
        verdict = GateVerdict.ready
    return GateReport(gate=gate.name, verdict=verdict, conditions=results)


def parse_gate(text: str, source: str = "<string>") -> Gate:
    """Parse and validate gate YAML; errors name ``source:line``.

    Read like a library file (no aliases, tags or YAML 1.1 surprises, bounded size and depth),
    so a hostile gate file is refused with a line instead of crashing or hanging the dashboard.
    """
    try:
        doc = load_yaml(text, path=source)
    except YamlError as exc:
        raise GateConfigError("\n".join(str(p) for p in exc.problems)) from exc
    try:
        return Gate.model_validate(doc.data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            field = ".".join(str(p) for p in loc) or "(top)"
            lines.append(f"{source}:{doc.line_of(loc)}: {field}: {err['msg']}")
        raise GateConfigError("\n".join(lines)) from exc


def load_gate(path: str | Path = DEFAULT_GATE_PATH) -> Gate:
    """Read a gate file (the shipped default when no path is given)."""
    path = Path(path)
    return parse_gate(path.read_text(encoding="utf-8"), source=str(path))
