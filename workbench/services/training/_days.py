"""Training days: what the facilitator sets up (scenarios, bots, rubrics, overlap, exposure cap),
the live progress of the day, and closing it. Renaming, archiving, deleting and changing the
setup before the day starts are in `_day_admin`.

A reply counts as scored when it has at least `overlap` submitted human ratings under the day's
expert rubric version. Day names are checked the same way everywhere (`clean_name`), and a
second day with the same name on the same date needs `allow_duplicate` (the facilitator
confirms it), so that a double click never makes two days nobody can tell apart.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from workbench.domain.enums import Audience, TrainingDayStatus
from workbench.domain.library import Library
from workbench.services.errors import UserError
from workbench.services.targets import ensure_reference_target
from workbench.storage import repo, repo_training
from workbench.storage.db import session_scope
from workbench.storage.tables import (
    BotTarget,
    PromptVersion,
    TrainingDay,
    utcnow,
)

MAX_NAME_CHARS = 120


class DaySetupError(UserError):
    """Something in the day's setup does not fit; `key` is an i18n key for the UI."""


class DuplicateDayError(DaySetupError):
    """A day with this name already exists on this date; `existing` are their ids. The
    facilitator may still confirm (`allow_duplicate=True`)."""

    def __init__(self, name: str, day: date, existing: list[int]) -> None:
        super().__init__("day.duplicate", name=name, date=f"{day:%d-%m-%Y}",
                         ids=", ".join(f"#{i}" for i in existing))
        self.existing = existing


@dataclass(frozen=True)
class DayView:
    id: int
    name: str
    day: date
    status: TrainingDayStatus
    overlap: int
    exposure_cap: int
    scenario_ids: list[str]
    bot_target_ids: list[int]
    prompt_version_ids: list[int]
    expert_rubric_version_id: int | None
    panel_rubric_version_id: int | None
    archived: bool
    conversations: int  # role-plays and scripted runs on the day
    join_codes: int
    panel_members: int

    @property
    def is_open(self) -> bool:
        return self.status == TrainingDayStatus.open

    @property
    def started(self) -> bool:
        """The day has a conversation: its scenarios, bots and prompts are fixed from now."""
        return self.conversations > 0

    @property
    def deletable(self) -> bool:
        """Nothing refers to the day: no conversation (so no rating), join code or member."""
        return not (self.conversations or self.join_codes or self.panel_members)


@dataclass(frozen=True)
class DayProgress:
    conversations_started: int
    conversations_open: int
    replies: int
    replies_scored: int
    replies_unscored: int
    ratings_submitted: int
    panel_members: int


@dataclass(frozen=True)
class PromptChoice:
    id: int
    bot_target_id: int
    target_name: str
    target_kind: str
    label: str
    sha256: str
    content: str
    is_current: bool


def prompt_choices(*, engine: sa.Engine) -> list[PromptChoice]:
    """Every prompt version of every bot target, the current one of each first (the offline
    reference target is created on first use, as `bots.list_targets` does)."""
    with session_scope(engine) as s:
        ensure_reference_target(session=s)
        targets = {t.id: t for t in repo.list_bot_targets(session=s)}
        out = [
            PromptChoice(id=pv.id or 0, bot_target_id=pv.bot_target_id,
                         target_name=targets[pv.bot_target_id].name,
                         target_kind=str(targets[pv.bot_target_id].kind), label=pv.label,
                         sha256=pv.sha256, content=pv.content,
                         is_current=targets[pv.bot_target_id].current_prompt_version_id == pv.id)
            for pv in repo.list_prompt_versions(session=s) if pv.bot_target_id in targets
        ]
    return sorted(out, key=lambda c: (c.target_name, not c.is_current, -c.id))


def day_views(session: Session, days: list[TrainingDay]) -> list[DayView]:
    """Views of these days with what each holds (three grouped counts for all of them)."""
    usage = repo_training.day_usage(session=session, training_day_ids=[d.id or 0 for d in days])
    return [DayView(
        id=d.id or 0, name=d.name, day=d.day, status=TrainingDayStatus(d.status),
        overlap=d.overlap, exposure_cap=d.exposure_cap, scenario_ids=list(d.scenario_ids),
        bot_target_ids=list(d.bot_target_ids), prompt_version_ids=list(d.prompt_version_ids),
        expert_rubric_version_id=d.expert_rubric_version_id,
        panel_rubric_version_id=d.panel_rubric_version_id, archived=d.archived_at is not None,
        conversations=usage[d.id or 0][0], join_codes=usage[d.id or 0][1],
        panel_members=usage[d.id or 0][2],
    ) for d in days]


def _view(session: Session, d: TrainingDay) -> DayView:
    return day_views(session, [d])[0]


def clean_name(name: str) -> str:
    """The day's name as stored: runs of whitespace become one space, and it must have 1 to
    MAX_NAME_CHARS characters without control characters (a NUL byte or a lone surrogate
    would be refused by PostgreSQL, and a name nobody can read helps no one)."""
    text = " ".join(str(name).split())
    if not text:
        raise DaySetupError("day.no_name")
    if len(text) > MAX_NAME_CHARS:
        raise DaySetupError("day.name_too_long", n=MAX_NAME_CHARS)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text):
        raise DaySetupError("day.bad_name")
    return text


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def check_duplicate(session: Session, name: str, day: date, *, allow_duplicate: bool,
                    exclude_id: int | None = None) -> None:
    """DuplicateDayError when another day (archived too) has this name on this date, unless
    the facilitator confirmed it. Holds the names lock until the caller commits, so two
    facilitators creating the same day at the same moment are told as well."""
    repo_training.lock_day_names(session=session)
    if allow_duplicate:
        return
    same = [d.id or 0 for d in repo_training.days_on(session=session, day=day)
            if d.id != exclude_id and _same_name(d.name, name)]
    if same:
        raise DuplicateDayError(name, day, same)


def _rubric_version_id(session: Session, library: Library, rubric_id: str,
                       audience: Audience) -> int:
    loaded = library.rubric(rubric_id)
    if loaded is None:
        raise DaySetupError("day.no_such_rubric", rubric=rubric_id)
    if loaded.rubric.audience != audience:
        raise DaySetupError("day.rubric_wrong_audience", rubric=rubric_id)
    return repo.record_rubric_version(session=session, loaded=loaded).id or 0


def prompt_versions_for(session: Session, target_ids: list[int],
                     prompt_version_ids: list[int] | None) -> list[int]:
    """The chosen prompt versions, each belonging to one of the targets; by default each
    target's current prompt."""
    targets = [session.get(BotTarget, tid) for tid in target_ids]
    if not targets or any(t is None for t in targets):
        raise DaySetupError("day.no_bot")
    if not prompt_version_ids:
        return [t.current_prompt_version_id for t in targets  # type: ignore[union-attr]
                if t.current_prompt_version_id is not None]  # type: ignore[union-attr]
    for pv_id in prompt_version_ids:
        pv = session.get(PromptVersion, pv_id)
        if pv is None or pv.bot_target_id not in target_ids:
            raise DaySetupError("day.prompt_not_of_target", prompt_version_id=pv_id)
    return list(prompt_version_ids)


def create_day(
    *,
    engine: sa.Engine,
    library: Library,
    name: str,
    day: date,
    scenario_ids: list[str],
    bot_target_ids: list[int],
    prompt_version_ids: list[int] | None = None,
    expert_rubric_id: str = "expert",
    panel_rubric_id: str = "lived-experience",
    overlap: int = 2,
    exposure_cap: int = 3,
    created_by: str | None = None,
    is_demo: bool = False,
    allow_duplicate: bool = False,
) -> int:
    """Set up a training day; the rubric texts are recorded as versions so ratings point at the
    exact rubric they were given under. A day with the same name on the same date raises
    DuplicateDayError unless `allow_duplicate` (see the module docstring)."""
    name = clean_name(name)
    scenario_ids = check_scenarios(library, scenario_ids)
    bot_target_ids = list(dict.fromkeys(bot_target_ids))
    if not 1 <= overlap <= 10:
        raise DaySetupError("day.bad_overlap")
    if not 1 <= exposure_cap <= 20:
        raise DaySetupError("day.bad_cap")
    with session_scope(engine) as s:
        check_duplicate(s, name, day, allow_duplicate=allow_duplicate)
        pvs = prompt_versions_for(s, bot_target_ids, prompt_version_ids)
        d = TrainingDay(
            name=name, day=day, overlap=overlap, exposure_cap=exposure_cap,
            scenario_ids=scenario_ids, bot_target_ids=bot_target_ids,
            prompt_version_ids=pvs,
            expert_rubric_version_id=_rubric_version_id(s, library, expert_rubric_id,
                                                        Audience.expert),
            panel_rubric_version_id=_rubric_version_id(s, library, panel_rubric_id,
                                                       Audience.lived_experience),
            is_demo=is_demo,
        )
        s.add(d)
        s.flush()
        repo.audit(session=s, action="training_day.create", actor=created_by,
                   entity="training_day", entity_id=d.id,
                   details={"scenarios": scenario_ids, "bot_targets": bot_target_ids,
                            "prompt_versions": pvs, "duplicate_confirmed": allow_duplicate})
        return d.id or 0


def check_scenarios(library: Library, scenario_ids: list[str]) -> list[str]:
    """The chosen scenario ids in order, each once; all of them in the library."""
    ids = list(dict.fromkeys(scenario_ids))
    if not ids:
        raise DaySetupError("day.no_scenarios")
    unknown = [sid for sid in ids if sid not in library.scenarios]
    if unknown:
        raise DaySetupError("day.no_such_scenario", scenario=", ".join(unknown[:10]))
    return ids


def get_day(*, engine: sa.Engine, training_day_id: int) -> DayView:
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        return _view(s, d)


def list_days(*, engine: sa.Engine, open_only: bool = False, include_archived: bool = False
              ) -> list[DayView]:
    """Newest first. Archived days are left out unless asked for: every day picker (scoring,
    scripted, adjudication, curation, calibration, export, dashboard) calls this as is."""
    with session_scope(engine) as s:
        status = TrainingDayStatus.open if open_only else None
        return day_views(s, repo_training.list_training_days(
            session=s, status=status, include_archived=include_archived))


def default_day(days: list[DayView], today: date | None = None) -> DayView | None:
    """The day a rater most likely means: today's open day, else the newest open one."""
    today = today or date.today()
    open_days = [d for d in days if d.is_open]
    for d in open_days:
        if d.day == today:
            return d
    return open_days[0] if open_days else None


def update_day(*, engine: sa.Engine, training_day_id: int, overlap: int | None = None,
               exposure_cap: int | None = None, changed_by: str | None = None) -> DayView:
    if overlap is not None and not 1 <= overlap <= 10:
        raise DaySetupError("day.bad_overlap")
    if exposure_cap is not None and not 1 <= exposure_cap <= 20:
        raise DaySetupError("day.bad_cap")
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        if overlap is not None:
            d.overlap = overlap
        if exposure_cap is not None:
            d.exposure_cap = exposure_cap
        s.add(d)
        repo.audit(session=s, action="training_day.update", actor=changed_by,
                   entity="training_day", entity_id=d.id,
                   details={"overlap": d.overlap, "exposure_cap": d.exposure_cap})
        return _view(s, d)


def close_day(*, engine: sa.Engine, training_day_id: int, closed_by: str | None = None
              ) -> DayView:
    """Close the day: its join codes stop working and its panel members can no longer sign in
    (see `auth.current`). Conversations and ratings stay; experts can still score them."""
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        close(s, d, actor=closed_by)
        return _view(s, d)


def close(session: Session, d: TrainingDay, *, actor: str | None) -> None:
    """Close `d` in this unit of work: status, time, every join code revoked, audited."""
    now = utcnow()
    d.status = TrainingDayStatus.closed
    d.closed_at = now
    session.add(d)
    repo_training.revoke_day_codes(session=session, training_day_id=d.id or 0, at=now)
    repo.audit(session=session, action="training_day.close", actor=actor,
               entity="training_day", entity_id=d.id)


def day_progress(*, engine: sa.Engine, training_day_id: int) -> DayProgress:
    with session_scope(engine) as s:
        d = s.get(TrainingDay, training_day_id)
        if d is None:
            raise repo.NotFound(f"training day {training_day_id}")
        counts = repo_training.day_counts(
            session=s, training_day_id=training_day_id,
            rubric_version_id=d.expert_rubric_version_id, overlap=d.overlap,
        )
        return DayProgress(**counts)

