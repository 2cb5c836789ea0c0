"""Read back the exact rubric and scenario a conversation or rating was made under.

Parsed once per process by the sha256 of the stored text: content-addressed, so a database that
was reset and reuses ids (tests, a recreated demo) can never get another scenario's or rubric's
cached copy. Every reader of a stored rubric (scoring, agreement, the dashboard's counting SQL)
goes through `parsed_rubric`, so critical criteria are read from the stored text in one place.
"""

from __future__ import annotations

import threading

import yaml
from sqlmodel import Session

from workbench.domain.rubrics import Rubric
from workbench.domain.scenarios import Scenario
from workbench.storage.errors import NotFound
from workbench.storage.tables import RubricVersion, ScenarioSnapshot

_lock = threading.Lock()
_rubrics: dict[str, Rubric] = {}
_scenarios: dict[str, Scenario] = {}


class StoredTextError(ValueError):
    """A stored rubric or scenario text no longer parses: its figures cannot be trusted."""


def parsed_rubric(*, sha256: str, content: str, rubric_version_id: int | None = None) -> Rubric:
    """The rubric of a stored text. A text that does not parse raises StoredTextError: the
    dashboard must not silently count its ratings without their critical criteria."""
    found = _rubrics.get(sha256)
    if found is None:
        try:
            found = Rubric.model_validate(yaml.safe_load(content))
        except Exception as exc:  # pydantic or YAML: either way the stored text is unusable
            raise StoredTextError(
                f"stored rubric version {rubric_version_id} (sha256 {sha256[:12]}) does not "
                f"parse: {exc}") from exc
        with _lock:
            _rubrics[sha256] = found
    return found


def rubric_of(*, session: Session, rubric_version_id: int) -> Rubric:
    rv = session.get(RubricVersion, rubric_version_id)
    if rv is None:
        raise NotFound(f"rubric version {rubric_version_id}")
    return parsed_rubric(sha256=rv.sha256, content=rv.content, rubric_version_id=rv.id)


def scenario_of(*, session: Session, snapshot_id: int) -> Scenario:
    snap = session.get(ScenarioSnapshot, snapshot_id)
    if snap is None:
        raise NotFound(f"scenario snapshot {snapshot_id}")
    found = _scenarios.get(snap.sha256)
    if found is None:
        try:
            found = Scenario.model_validate(yaml.safe_load(snap.content))
        except Exception as exc:
            raise StoredTextError(f"stored scenario snapshot {snapshot_id} does not parse: "
                                  f"{exc}") from exc
        with _lock:
            _scenarios[snap.sha256] = found
    return found


def clear() -> None:
    """Forget the cache."""
    with _lock:
        _rubrics.clear()
        _scenarios.clear()
