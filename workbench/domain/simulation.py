"""Simulated raters with known noise: demo data, and a yardstick for α and its interval.

Each item has a latent true quality per criterion on a continuous 1–5 scale; each rater sees it
through their own leniency plus fresh noise. Same seed, same ratings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from workbench.domain.agreement import Id, RatingPoint

Scale = Literal["likert_5", "yes_no"]
YES_NO_THRESHOLD = 3.0  # a reply "passes" when its perceived quality is above the scale's middle


def latent_quality(
    n_items: int, criteria: Sequence[str] | Mapping[str, Scale], *, seed: int
) -> dict[str, np.ndarray]:
    """criterion → true quality per item, uniform on [0.5, 5.5].

    The interval reaches half a point beyond 1 and 5 so that, rounded, every level of the
    scale is about equally common; the criteria are independent of each other.
    """
    rng = np.random.default_rng(seed)
    return {criterion: rng.uniform(0.5, 5.5, n_items) for criterion in criteria}


def simulate_ratings(
    n_items: int,
    n_raters: int,
    criteria: Mapping[str, Scale],
    noise_sd: float,
    *,
    seed: int,
    leniency_sd: float = 0.0,
    missing_rate: float = 0.0,
    group: str = "expert",
    truth: Mapping[str, np.ndarray] | None = None,
    leniencies: Sequence[float] | None = None,
    item_ids: Sequence[Id] | None = None,
    rater_ids: Sequence[Id] | None = None,
) -> list[RatingPoint]:
    """Ratings from n_raters simulated raters on n_items items.

    likert_5: round(clip(true + leniency + N(0, noise_sd), 1, 5)); yes_no: True when
    true + leniency + N(0, noise_sd) > 3. A rater's leniency is drawn once, N(0, leniency_sd),
    and holds for every criterion, unless ``leniencies`` gives it per rater. With
    ``missing_rate`` a rater skips a whole item (all its criteria) with that probability.

    Pass the same ``truth`` (from latent_quality) to simulate two groups rating the same
    replies. Defaults: items 0..n_items−1, raters "<group>-01", "<group>-02", …
    """
    if noise_sd < 0 or leniency_sd < 0:
        raise ValueError("noise_sd and leniency_sd must be ≥ 0")
    if not 0 <= missing_rate < 1:
        raise ValueError("missing_rate must be in [0, 1)")
    items = list(item_ids) if item_ids is not None else list(range(n_items))
    raters = (list(rater_ids) if rater_ids is not None
              else [f"{group}-{r + 1:02d}" for r in range(n_raters)])
    if len(items) != n_items or len(raters) != n_raters:
        raise ValueError("item_ids and rater_ids must have n_items and n_raters entries")
    # Separate streams for truth and for the raters, so passing a truth in leaves the noise as is.
    truth_seed, rater_seed = np.random.SeedSequence(seed).spawn(2)
    if truth is None:
        truth = latent_quality(n_items, criteria, seed=int(truth_seed.generate_state(1)[0]))
    rng = np.random.default_rng(rater_seed)
    # Always drawn, so changing leniency_sd does not shift the noise of the same seed.
    drawn = rng.normal(0.0, 1.0, n_raters) * leniency_sd
    offset = np.asarray(leniencies, dtype=float) if leniencies is not None else drawn
    if offset.shape != (n_raters,):
        raise ValueError("leniencies must have one entry per rater")

    values: dict[str, np.ndarray] = {}
    for criterion, scale in criteria.items():
        true = np.asarray(truth[criterion], dtype=float)
        if true.shape != (n_items,):
            raise ValueError(f"truth for {criterion!r} must have n_items values")
        seen = true[None, :] + offset[:, None] + rng.normal(0.0, noise_sd, (n_raters, n_items))
        if scale == "yes_no":
            values[criterion] = seen > YES_NO_THRESHOLD
        elif scale == "likert_5":
            values[criterion] = np.rint(np.clip(seen, 1, 5)).astype(int)
        else:
            raise ValueError(f"unknown scale {scale!r} for {criterion!r}")
    missing = rng.random((n_raters, n_items)) < missing_rate

    points: list[RatingPoint] = []
    for i, item in enumerate(items):
        for r, rater in enumerate(raters):
            if missing[r, i]:
                continue
            for criterion, scale in criteria.items():
                v = values[criterion][r, i]
                value = bool(v) if scale == "yes_no" else int(v)
                points.append(RatingPoint(item, rater, criterion, value, group))
    return points
