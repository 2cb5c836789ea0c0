"""The per-example facts the curation pages show: scores, the unsafe verdict and whether a lead
adjudicated it (adjudication, the newest, wins over the raters' means)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import Session

from workbench.storage import repo_curation
from workbench.storage.tables import Adjudication


@dataclass(frozen=True)
class ExampleFacts:
    scores: dict[str, float]  # criterion → adjudicated value, or the raters' mean (yes = 1)
    unsafe: bool  # adjudicated verdict, or: any counted rater judged the reply unsafe
    adjudicated: bool
    n_ratings: int
    overall: float | None


def example_facts(*, session: Session, training_day_id: int | None = None,
                  example_ids: Collection[int] | None = None) -> dict[int, ExampleFacts]:
    """example id → its facts; adjudication (the newest) wins over the raters' means."""
    rows = repo_curation.curated_rows(session=session, training_day_id=training_day_id,
                                      include_withdrawn=True, example_ids=example_ids)
    stats = repo_curation.example_rating_stats(session=session, training_day_id=training_day_id,
                                               example_ids=example_ids)
    decided = repo_curation.latest_adjudications(
        session=session, turn_ids=None if example_ids is None else [r[0].turn_id for r in rows])
    out: dict[int, ExampleFacts] = {}
    for row in rows:
        ex = row[0]
        n, unsafe, means = stats.get(ex.id or 0, (0, False, {}))
        adj: Adjudication | None = decided.get(ex.turn_id)
        if adj is not None and adj.rubric_version_id == ex.rubric_version_id:
            scores = {k: float(v) for k, v in adj.final_values.items() if v is not None}
            out[ex.id or 0] = ExampleFacts(scores, adj.unsafe, True, n, adj.final_overall)
        else:
            out[ex.id or 0] = ExampleFacts(means, unsafe, False, n, ex.score)
    return out
