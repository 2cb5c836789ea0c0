"""The parsed-snapshot cache follows the stored text, not the row id."""

from __future__ import annotations

from sqlmodel import Session

from workbench.storage import repo
from workbench.storage.db import make_engine, migrate
from workbench.storage.snapshots import scenario_of


def test_a_reset_database_reusing_ids_never_gets_another_scenario(tmp_path, library) -> None:
    first, second = sorted(library.scenarios)[:2]
    got = []
    for scenario_id in (first, second):
        db = tmp_path / "reset.db"
        db.unlink(missing_ok=True)  # the same URL, a fresh database: ids start at 1 again
        engine = make_engine(f"sqlite:///{db}")
        migrate(engine)
        with Session(engine) as s:
            snap = repo.snapshot_scenario(session=s, loaded=library.scenarios[scenario_id])
            s.commit()
            assert snap.id == 1
            got.append(scenario_of(session=s, snapshot_id=1).id)
        engine.dispose()
    assert got == [first, second]
