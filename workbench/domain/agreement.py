"""Agreement between raters: Krippendorff's α with a bootstrap interval, percent agreement and
rater offsets. The per-item views (disputes first, anchor examples) live in `disputes`.

Pure statistics on plain inputs (a list of RatingPoint, or a raters × items matrix with np.nan).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import krippendorff
import numpy as np

Level = Literal["ordinal", "nominal", "interval"]
Scope = Literal["expert", "lived_experience", "between"]
Id = str | int

LIKERT_DOMAIN = (1, 2, 3, 4, 5)
RELIABLE = 0.800  # Krippendorff's thresholds, see DOMAIN.md
TENTATIVE = 0.667
MIN_ITEMS_FOR_STABLE_ALPHA = 30
FEWER_THAN_2_RATERS = "fewer than 2 raters overlap: no item has 2 or more ratings"
NO_VARIATION = "no variation: every rating is the same"


@dataclass(frozen=True, slots=True)
class RatingPoint:
    """One rater's value for one criterion of one item; value None means not rated."""

    item_id: Id
    rater_id: Id
    criterion: str
    value: int | bool | None
    group: str = "expert"


@dataclass(frozen=True, slots=True)
class AlphaResult:
    value: float | None
    undefined_reason: str | None
    n_items: int  # items with ≥ 2 ratings (pairable)
    n_raters: int  # raters with at least one pairable rating
    n_pairable_values: int
    percent_agreement: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    warnings: list[str] = field(default_factory=list)
    level: Level = "ordinal"
    n_boot: int = 0
    n_boot_skipped: int = 0  # resamples where α was undefined (no variation)

    @property
    def verdict(self) -> Literal["reliable", "tentative", "unreliable", "undefined"]:
        if self.value is None:
            return "undefined"
        if self.value >= RELIABLE:
            return "reliable"
        return "tentative" if self.value >= TENTATIVE else "unreliable"


@dataclass(frozen=True, slots=True)
class AgreementRow:
    scope: Scope
    criterion: str
    level: Level
    result: AlphaResult


@dataclass(frozen=True, slots=True)
class RaterOffset:
    rater_id: Id
    mean_offset: float | None  # None when the rater shares no item with another rater
    n: int  # items the offset is averaged over


# --- α -------------------------------------------------------------------------------------


def _value_counts(matrix: np.ndarray, domain: np.ndarray) -> np.ndarray:
    """Items × values: how many raters gave each value to each item (nan counts nowhere)."""
    return (matrix.T[:, :, None] == domain[None, None, :]).sum(axis=1)


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per pairable item, its V × V share of Krippendorff's coincidence matrix."""
    m = counts.sum(axis=1)
    pairs = counts[:, :, None] * counts[:, None, :] - counts[:, :, None] * np.eye(counts.shape[1])
    return pairs / (m - 1)[:, None, None]


def _alpha_from_coincidences(o: np.ndarray, domain: np.ndarray, level: Level) -> np.ndarray:
    """α for a batch of coincidence matrices (B × V × V); nan where there is no variation.

    Re-implements the krippendorff package's formulas so that a bootstrap of 1000 resamples is
    one batch of matrix products instead of 1000 calls; a test checks both give the same α.
    """
    n_v = o.sum(axis=2)
    n = n_v.sum(axis=1)
    v = len(domain)
    if level == "nominal":
        d = np.broadcast_to(1.0 - np.eye(v), o.shape)
    elif level == "interval":
        d = np.broadcast_to((domain[:, None] - domain[None, :]) ** 2, o.shape)
    else:
        # Ordinal distance: (n_c + … + n_k − (n_c + n_k)/2)², from the marginal counts.
        cum = np.concatenate([np.zeros((len(o), 1)), np.cumsum(n_v, axis=1)], axis=1)
        idx = np.arange(v)
        lo, hi = np.minimum.outer(idx, idx), np.maximum.outer(idx, idx)
        between = cum[:, hi + 1] - cum[:, lo]
        d = (between - (n_v[:, :, None] + n_v[:, None, :]) / 2) ** 2
    observed = (o * d).sum(axis=(1, 2))
    expected = (n_v[:, :, None] * n_v[:, None, :] * d).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, 1.0 - (n - 1) * observed / expected, np.nan)


def _percent_agreement(counts: np.ndarray) -> float | None:
    """Agreeing pairs / all pairs, pooled over items (an item rated by m raters has m(m−1)/2)."""
    m = counts.sum(axis=1)
    pairs = (m * (m - 1) / 2).sum()
    agreeing = (counts * (counts - 1) / 2).sum()
    return float(agreeing / pairs) if pairs > 0 else None


def _default_domain(observed: np.ndarray, level: Level) -> np.ndarray:
    if level == "nominal":
        return observed
    # The whole 1–5 scale plus anything else seen (e.g. half steps of a median).
    return np.union1d(np.asarray(LIKERT_DOMAIN, dtype=float), observed)


def _bootstrap(
    counts: np.ndarray, domain: np.ndarray, level: Level, n_boot: int, seed: int
) -> np.ndarray:
    """α of n_boot resamples of the pairable items (with replacement); nan = undefined."""
    n_items = len(counts)
    units = _unit_coincidences(counts)
    rng = np.random.default_rng(seed)
    # How often each item is drawn in each resample: one row of weights per resample.
    weights = rng.multinomial(n_items, np.full(n_items, 1.0 / n_items), size=n_boot)
    o = (weights @ units.reshape(n_items, -1)).reshape(n_boot, len(domain), len(domain))
    return _alpha_from_coincidences(o, domain, level)


def alpha(
    matrix: Sequence[Sequence[float]] | np.ndarray,
    level: Level = "ordinal",
    *,
    value_domain: Sequence[float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AlphaResult:
    """Krippendorff's α of a raters × items matrix (np.nan = missing) with a bootstrap interval.

    α is None with a reason, never nan, when no item has 2 ratings or nothing varies. The
    interval resamples pairable items with replacement (n_boot times, seeded) and takes
    percentiles; resamples without variation are skipped and counted. n_boot=0: no interval.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    data = np.asarray(matrix, dtype=float)
    if data.ndim == 1:
        data = data.reshape(1, -1)  # one rater
    if data.ndim != 2:
        raise ValueError(f"expected a raters × items matrix, got shape {data.shape}")
    rated = ~np.isnan(data)
    per_item = rated.sum(axis=0)
    pairable = per_item >= 2
    n_items = int(pairable.sum())
    warnings: list[str] = []
    if n_items < MIN_ITEMS_FOR_STABLE_ALPHA:
        warnings.append(
            f"only {n_items} items have 2 or more ratings (fewer than "
            f"{MIN_ITEMS_FOR_STABLE_ALPHA}): α is unstable and its interval wide"
        )
    if (per_item > 0).any() and per_item[per_item > 0].mean() < 2:
        warnings.append(
            f"on average {per_item[per_item > 0].mean():.2f} raters per rated item "
            "(fewer than 2): many items cannot be compared"
        )

    def result(value: float | None, reason: str | None, agreement: float | None,
               **more: object) -> AlphaResult:
        return AlphaResult(
            value, reason, n_items=n_items,
            n_raters=int(rated[:, pairable].any(axis=1).sum()),
            n_pairable_values=int(per_item[pairable].sum()), percent_agreement=agreement,
            warnings=warnings, level=level, **more,  # type: ignore[arg-type]
        )

    if n_items == 0:
        return result(None, FEWER_THAN_2_RATERS, None)
    sub = data[:, pairable]
    observed = np.unique(sub[~np.isnan(sub)])
    domain = (np.asarray(value_domain, dtype=float) if value_domain is not None
              else _default_domain(observed, level))
    counts = _value_counts(sub, domain)
    agreement = _percent_agreement(counts)
    if len(observed) < 2:
        return result(None, NO_VARIATION, agreement)
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(krippendorff.alpha(reliability_data=sub, value_domain=domain,
                                             level_of_measurement=level))
    except ValueError as exc:
        return result(None, f"α could not be computed: {exc}", agreement)
    if not math.isfinite(value):
        return result(None, "α could not be computed (the formula gave no number)", agreement)
    if n_boot <= 0:
        return result(value, None, agreement)
    if n_items < 2:
        warnings.append("one pairable item only: no interval")
        return result(value, None, agreement)

    boot = _bootstrap(counts, domain, level, n_boot, seed)
    usable = boot[np.isfinite(boot)]
    skipped = n_boot - len(usable)
    if skipped:
        warnings.append(f"{skipped} of {n_boot} bootstrap resamples had no variation "
                        "and were skipped")
    if len(usable) < n_boot / 2:
        warnings.append("too few usable bootstrap resamples for an interval")
        return result(value, None, agreement, n_boot=n_boot, n_boot_skipped=skipped)
    tail = (1 - confidence) / 2 * 100
    low, high = (float(x) for x in np.percentile(usable, [tail, 100 - tail]))
    return result(value, None, agreement, ci_low=low, ci_high=high, n_boot=n_boot,
                  n_boot_skipped=skipped)


def format_alpha(result: AlphaResult, digits: int = 2, language: str = "en") -> str:
    """'0.72 [0.61, 0.80]', '0.72' without interval, or 'undefined: <reason>' — never 'nan'.
    In Dutch '0,72 [0,61; 0,80]' (a decimal comma, so the interval's bounds part with a
    semicolon) and 'niet te berekenen: <reden>'."""
    from workbench.i18n import number, translate

    if result.value is None or not math.isfinite(result.value):
        reason = result.undefined_reason or "no value"
        if language != "en":
            known = {FEWER_THAN_2_RATERS: "fewer", NO_VARIATION: "no_variation"}
            reason = translate(f"curation.undefined.{known.get(reason, 'other')}", language)
        return translate("curation.undefined.label", language, reason=reason)
    text = number(result.value, language, digits)
    if result.ci_low is not None and result.ci_high is not None:
        sep = "; " if language == "nl" else ", "
        text += (f" [{number(result.ci_low, language, digits)}{sep}"
                 f"{number(result.ci_high, language, digits)}]")
    return text


# --- from rating points ---------------------------------------------------------------------


def _sort_key(x: Id) -> tuple[bool, Id]:
    return (isinstance(x, str), x)  # ints before strings, so mixed ids still sort


def matrix_from_points(
    points: Iterable[RatingPoint], criterion: str
) -> tuple[np.ndarray, list[Id], list[Id]]:
    """Raters × items matrix (np.nan = missing; yes/no as 0/1) with the sorted ids of its axes.

    Two values from one rater for one item and criterion raise ValueError: the domain promises
    one rating per rater, and silently keeping one would hide a storage bug.
    """
    cells: dict[tuple[Id, Id], float] = {}
    for p in points:
        if p.criterion != criterion or p.value is None:
            continue
        key = (p.rater_id, p.item_id)
        if key in cells:
            raise ValueError(f"rater {p.rater_id!r} rated {p.item_id!r} twice on {criterion!r}")
        cells[key] = float(p.value)
    rater_ids = sorted({r for r, _ in cells}, key=_sort_key)
    item_ids = sorted({i for _, i in cells}, key=_sort_key)
    row = {r: k for k, r in enumerate(rater_ids)}
    col = {i: k for k, i in enumerate(item_ids)}
    matrix = np.full((len(rater_ids), len(item_ids)), np.nan)
    for (r, i), v in cells.items():
        matrix[row[r], col[i]] = v
    return matrix, item_ids, rater_ids


def _group_consensus(matrix: np.ndarray, level: Level) -> tuple[np.ndarray, int]:
    """Per item, the group's median (ordinal/interval) or unique mode (nominal); nan if none.

    Returns the consensus row and how many items had a tied mode (left out)."""
    out = np.full(matrix.shape[1], np.nan)
    ties = 0
    for j in range(matrix.shape[1]):
        col = matrix[:, j][~np.isnan(matrix[:, j])]
        if not len(col):
            continue
        if level != "nominal":
            out[j] = np.median(col)  # can be a half step; the ordinal domain then includes it
            continue
        values, n = np.unique(col, return_counts=True)
        if (n == n.max()).sum() == 1:
            out[j] = values[np.argmax(n)]
        else:
            ties += 1
    return out, ties


def agreement_table(
    points: Sequence[RatingPoint],
    criteria: Mapping[str, Level],
    *,
    groups: Sequence[str] = ("expert", "lived_experience"),
    between_groups: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[AgreementRow]:
    """α per (group, criterion), and optionally per criterion between the first two groups.

    A row appears only where the group rated the criterion at all. "between" treats each group's
    per-item consensus (median for ordinal, so it may be a half step; the unique mode for
    nominal, items with a tied mode left out) as one rater, so it asks: do the groups reach the
    same verdict? Consensus values are less noisy than single ratings, so a "between" α is not
    comparable with the within-group α of either group.
    """
    rows: list[AgreementRow] = []
    for criterion, level in criteria.items():
        per_group: dict[str, tuple[np.ndarray, list[Id]]] = {}
        for group in groups:
            mine = [p for p in points if p.group == group]
            matrix, item_ids, _ = matrix_from_points(mine, criterion)
            if matrix.size == 0:
                continue
            per_group[group] = (matrix, item_ids)
            result = alpha(matrix, level, n_boot=n_boot, seed=seed)
            rows.append(AgreementRow(group, criterion, level, result))  # type: ignore[arg-type]
        if not between_groups or len(groups) < 2 or not all(g in per_group for g in groups[:2]):
            continue
        verdicts: list[dict[Id, float]] = []
        ties = 0
        for group in groups[:2]:
            matrix, item_ids = per_group[group]
            consensus, n_ties = _group_consensus(matrix, level)
            verdicts.append(dict(zip(item_ids, consensus, strict=True)))
            ties += n_ties
        shared = sorted(set(verdicts[0]) | set(verdicts[1]), key=_sort_key)
        both = [[v.get(i, np.nan) for i in shared] for v in verdicts]
        result = alpha(both, level, n_boot=n_boot, seed=seed)
        if ties:
            note = f"{ties} group verdicts were tied (no single mode) and left out"
            result = replace(result, warnings=[*result.warnings, note])
        rows.append(AgreementRow("between", criterion, level, result))
    return rows


def rater_offsets(points: Iterable[RatingPoint], criterion: str) -> list[RaterOffset]:
    """Each rater's mean difference from the mean of the OTHER raters on the same items.

    Positive = more lenient than colleagues. Only items the rater shares with someone count.
    Returned in rater-id order.
    """
    matrix, _, rater_ids = matrix_from_points(points, criterion)
    rated = ~np.isnan(matrix)
    total = np.nansum(matrix, axis=0)
    count = rated.sum(axis=0)
    out: list[RaterOffset] = []
    for r, rater in enumerate(rater_ids):
        shared = rated[r] & (count >= 2)
        n = int(shared.sum())
        if n == 0:
            out.append(RaterOffset(rater, None, 0))
            continue
        others = (total[shared] - matrix[r, shared]) / (count[shared] - 1)
        out.append(RaterOffset(rater, float(np.mean(matrix[r, shared] - others)), n))
    return out
