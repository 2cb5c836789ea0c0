"""Read back the exact rubric and scenario a conversation or rating was made under.

Parsed objects are cached per process by the sha256 of the stored text: content-addressed, so a
database that was reset and reuses ids (tests, a recreated demo) can never get another
scenario's or rubric's cached copy.
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
_rubrics: dict[str, Rubric] = {}
_scenarios: dict[str, Scenario] = {}


def rubric_of(*, session: Session, rubric_version_id: int) -> Rubric:
    rv = repo.get_rubric_version(session=session, rubric_version_id=rubric_version_id)
    found = _rubrics.get(rv.sha256)
    if found is None:
        found = Rubric.model_validate(yaml.safe_load(rv.content))
        with _lock:
            _rubrics[rv.sha256] = found
    return found


def scenario_of(*, session: Session, snapshot_id: int) -> Scenario:
    snap = session.get(ScenarioSnapshot, snapshot_id)
    if snap is None:
        raise repo.NotFound(f"scenario snapshot {snapshot_id}")
    found = _scenarios.get(snap.sha256)
    if found is None:
        found = Scenario.model_validate(yaml.safe_load(snap.content))
        with _lock:
            _scenarios[snap.sha256] = found
    return found


def clear() -> None:
    """Forget the cache."""
    with _lock:
        _rubrics.clear()
        _scenarios.clear()
