"""Managing a training day after it is made: rename, archive and restore, delete while empty,
and change its scenarios, bots and prompt versions before it starts.

Decisions (issue 14):
- A day *starts* with its first conversation (a role-play or a scripted run by hand). From
  then on its scenarios, bots and prompt versions are what the replies were made under, so a
  change raises DaySetupError("day.started"). The check and the write are one transaction
  that holds the day's row lock (`repo_training.lock_training_day`): a conversation that is
  being created at the same moment either commits first (and the change is refused) or waits.
- *Archived* is a flag next to open/closed, not a third status: an archived day is closed (its
  join codes stop), hidden from every day picker (`list_days` leaves it out by default), and
  its conversations, ratings and figures stay. Restoring shows it again, still closed.
- *Delete* only a day nothing refers to: no conversation (so no rating or A/B judgement), no
  join code, no panel member. The service checks first to say so calmly; the foreign keys of
  conversation, join_code and participant refuse it in the database as well.
Every change is audited.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from workbench.domain.enums import TrainingDayStatus
from workbench.domain.library import Library
from workbench.services.training._days import (
    DaySetupError,
    DayView,
    check_duplicate,
    check_scenarios,
    clean_name,
    close,
    day_views,
    prompt_versions_for,
)
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import PromptVersion, TrainingDay, utcnow


def _locked(session: Session, training_day_id: int) -> tuple[TrainingDay, DayView]:
    d = repo_training.lock_training_day(session=session, training_day_id=training_day_id)
    if d is None:
        raise repo.NotFound(f"training day {training_day_id}")
    return d, day_views(session, [d])[0]


def rename_day(*, engine: sa.Engine, training_day_id: int, name: str,
               allow_duplicate: bool = False, changed_by: str | None = None) -> DayView:
    """Give the day a new name (any time). Another day with that name on the same date raises
    DuplicateDayError unless `allow_duplicate`."""
    new = clean_name(name)
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        if d.name == new:
            return day_views(s, [d])[0]
        check_duplicate(s, new, d.day, allow_duplicate=allow_duplicate,
                        exclude_id=training_day_id)
        old, d.name = d.name, new
        s.add(d)
        s.flush()
        repo.audit(session=s, action="training_day.rename", actor=changed_by,
                   entity="training_day", entity_id=d.id,
                   details={"from": old, "to": new, "duplicate_confirmed": allow_duplicate})
        return day_views(s, [d])[0]


def archive_day(*, engine: sa.Engine, training_day_id: int, archived_by: str | None = None
                ) -> DayView:
    """Hide the day from every picker; an open day is closed first (its codes stop working).
    Archiving an archived day changes nothing."""
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        if d.archived_at is not None:
            return day_views(s, [d])[0]
        if d.status == TrainingDayStatus.open:
            close(s, d, actor=archived_by)
        d.archived_at = utcnow()
        s.add(d)
        s.flush()
        repo.audit(session=s, action="training_day.archive", actor=archived_by,
                   entity="training_day", entity_id=d.id)
        return day_views(s, [d])[0]


def restore_day(*, engine: sa.Engine, training_day_id: int, restored_by: str | None = None
                ) -> DayView:
    """Show an archived day in the pickers again (it stays closed)."""
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        if d.archived_at is None:
            return day_views(s, [d])[0]
        d.archived_at = None
        s.add(d)
        s.flush()
        repo.audit(session=s, action="training_day.restore", actor=restored_by,
                   entity="training_day", entity_id=d.id)
        return day_views(s, [d])[0]


def delete_day(*, engine: sa.Engine, training_day_id: int, deleted_by: str | None = None
               ) -> None:
    """Delete a day that holds nothing; DaySetupError("day.not_empty") otherwise."""
    try:
        with session_scope(engine) as s:
            d, view = _locked(s, training_day_id)
            if not view.deletable:
                raise DaySetupError("day.not_empty", conversations=view.conversations,
                                    codes=view.join_codes)
            name, day = d.name, d.day
            repo_training.delete_training_day(session=s, training_day=d)
            repo.audit(session=s, action="training_day.delete", actor=deleted_by,
                       entity="training_day", entity_id=training_day_id,
                       details={"name": name, "day": day.isoformat()})
    except IntegrityError as exc:
        # Something came to refer to the day between the check and the delete (a database
        # that does not take the row lock): the foreign key kept it, and so do we.
        raise DaySetupError("day.not_empty", conversations="?", codes="?") from exc


def change_day_setup(
    *, engine: sa.Engine, library: Library, training_day_id: int, scenario_ids: list[str],
    prompt_version_ids: list[int] | None = None, bot_target_ids: list[int] | None = None,
    changed_by: str | None = None,
) -> DayView:
    """Replace the day's scenarios, bots and prompt versions while it is open and has not
    started. Bots default to the targets of the chosen prompt versions; prompt versions default
    to each bot's current one."""
    scenarios = check_scenarios(library, scenario_ids)
    with session_scope(engine) as s:
        d, view = _locked(s, training_day_id)
        if view.started:
            raise DaySetupError("day.started", conversations=view.conversations)
        if view.archived or not view.is_open:
            raise DaySetupError("day.closed")
        targets = list(dict.fromkeys(bot_target_ids or _targets_of(s, prompt_version_ids)))
        pvs = list(dict.fromkeys(prompt_versions_for(s, targets, prompt_version_ids)))
        before = {"scenarios": list(d.scenario_ids), "bot_targets": list(d.bot_target_ids),
                  "prompt_versions": list(d.prompt_version_ids)}
        d.scenario_ids, d.bot_target_ids, d.prompt_version_ids = scenarios, targets, pvs
        s.add(d)
        s.flush()
        repo.audit(session=s, action="training_day.setup", actor=changed_by,
                   entity="training_day", entity_id=d.id,
                   details={"before": before, "scenarios": scenarios, "bot_targets": targets,
                            "prompt_versions": pvs})
        return day_views(s, [d])[0]


def _targets_of(session: Session, prompt_version_ids: list[int] | None) -> list[int]:
    out = []
    for pv_id in prompt_version_ids or []:
        pv = session.get(PromptVersion, pv_id)
        if pv is None:
            raise DaySetupError("day.prompt_not_of_target", prompt_version_id=pv_id)
        out.append(pv.bot_target_id)
    return out
