"""Read back the exact rubric and scenario a conversation or rating was made under.

Stored texts never change for an id, so the parsed objects are cached per process.
"""

from __future__ import annotations

import threading

import yaml
from sqlmodel import Session

from workbench.domain.rubrics import Rubric
from workbench.domain.scenarios import Scenario
from workbench.storage import repo
from workbench.storage.tables import ScenarioSnapshot

_lock = threading.Lock()
# Keyed by (database URL, id): ids repeat across databases (tests, demo vs. real).
_rubrics: dict[tuple[str, int], Rubric] = {}
_scenarios: dict[tuple[str, int], Scenario] = {}


def _key(session: Session, item_id: int) -> tuple[str, int]:
    return (str(session.get_bind().engine.url), item_id)


def rubric_of(*, session: Session, rubric_version_id: int) -> Rubric:
    key = _key(session, rubric_version_id)
    found = _rubrics.get(key)
    if found is not None:
        return found
    rv = repo.get_rubric_version(session=session, rubric_version_id=rubric_version_id)
    rubric = Rubric.model_validate(yaml.safe_load(rv.content))
    with _lock:
        _rubrics[key] = rubric
    return rubric


def scenario_of(*, session: Session, snapshot_id: int) -> Scenario:
    key = _key(session, snapshot_id)
    found = _scenarios.get(key)
    if found is not None:
        return found
    snap = session.get(ScenarioSnapshot, snapshot_id)
    if snap is None:
        raise repo.NotFound(f"scenario snapshot {snapshot_id}")
    scenario = Scenario.model_validate(yaml.safe_load(snap.content))
    with _lock:
        _scenarios[key] = scenario
    return scenario


def clear() -> None:
    """Forget the cache (tests that reuse ids across databases)."""
    with _lock:
        _rubrics.clear()
        _scenarios.clear()
