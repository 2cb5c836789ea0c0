"""The demo gives every export something to hold (issue 14, item 11: `workbench demo` then
`workbench export --format openai-sft` wrote 0 examples, because nothing was curated).

One fresh database per backend, the demo loaded once, then every format through the export
service. The counts per format are printed (run with -s) for the issue's closing note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from workbench.domain.enums import CurationState, RatingSource
from workbench.domain.library import Library, load_library
from workbench.services import export
from workbench.services.demo import load_demo
from workbench.storage.db import make_engine, migrate
from workbench.storage.tables import (
    Adjudication,
    CuratedExample,
    PairwiseJudgement,
    Participant,
    Rating,
)

ROOT = Path(__file__).resolve().parent.parent
FORMATS = [str(f) for f in export.ExportFormat]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                               marks=pytest.mark.postgres)])
def demo_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[sa.Engine, Any, Path]]:
    from tests.conftest import _reset_pg

    root = tmp_path_factory.mktemp(f"demo-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'demo.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        _reset_pg(url)
    eng = make_engine(url)
    migrate(eng)
    lib: Library = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    summary = load_demo(engine=eng, library=lib, runs_dir=root / "runs")
    assert summary.created
    yield eng, summary, root
    eng.dispose()


def test_every_export_format_of_the_demo_has_records(demo_db) -> None:  # type: ignore[no-untyped-def]
    eng, _, root = demo_db
    counts: dict[str, Any] = {}
    for fmt in FORMATS:
        result = export.write_export(engine=eng, options=export.ExportOptions(format=fmt),
                                     out_dir=root / "exports" / fmt, actor="test")
        counts[fmt] = result.manifest["counts"]["records"]
        assert result.residuals == []
        if fmt in ("openai-dpo", "trl-dpo"):
            counts[f"{fmt} (pairwise)"] = result.manifest["counts"]["from_pairwise"]
    print("\ndemo export counts:", json.dumps(counts))
    assert all(counts[f] > 0 for f in FORMATS), counts
    assert counts["openai-dpo (pairwise)"] > 0


def test_the_demo_holds_what_a_lead_makes_and_it_is_marked_demo(demo_db) -> None:  # type: ignore[no-untyped-def]
    eng, summary, _ = demo_db
    cur = summary.curation
    assert cur is not None and cur.gold > 0 and cur.accepted > 0 and cur.pairwise > 0
    assert cur.adjudications > 0 and summary.rewrites > 0
    print(f"\ndemo curation: {cur}, rewrites {summary.rewrites}")
    with Session(eng) as s:
        examples = list(s.exec(select(CuratedExample)))
        states = {str(e.state) for e in examples}
        assert {CurationState.gold, CurationState.accepted} <= states
        assert all("demo" in e.tags for e in examples)
        adjudications = list(s.exec(select(Adjudication)))
        assert adjudications and all(a.reason.startswith("Demo") and a.final_ideal_reply
                                     for a in adjudications)
        leads = [s.get(Participant, a.adjudicator_id) for a in adjudications]
        assert all(p is not None and p.is_demo and p.is_lead for p in leads)
        rewrites = list(s.exec(select(Rating).where(Rating.ideal_reply.is_not(None))))  # type: ignore[union-attr]
        assert rewrites and all(r.source == RatingSource.simulated for r in rewrites)
        judges = {j.rater_id for j in s.exec(select(PairwiseJudgement))}
        assert judges and all((s.get(Participant, i) or Participant()).is_demo for i in judges)


def test_a_second_demo_load_on_the_same_database_changes_nothing(demo_db) -> None:  # type: ignore[no-untyped-def]
    eng, _, root = demo_db
    with Session(eng) as s:
        before = len(list(s.exec(select(CuratedExample))))
    again = load_demo(engine=eng, library=load_library([ROOT / "scenarios", ROOT / "rubrics"]),
                      runs_dir=root / "runs")
    assert not again.created
    with Session(eng) as s:
        assert len(list(s.exec(select(CuratedExample)))) == before
