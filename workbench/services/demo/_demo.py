"""Demo data: a training day, two prompt versions of the reference bot, the library played with
both, and ratings from simulated raters with known noise (experts steadier than the panel, so
agreement figures mean something). Everything here is marked `is_demo` and shown as such."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from workbench.domain.enums import (
    Group,
    RatingSource,
    RatingStatus,
    Role,
    ScaleKind,
    TrainingDayStatus,
)
from workbench.domain.library import Library
from workbench.domain.rubrics import Rubric
from workbench.domain.scoring import score
from workbench.domain.simulation import simulate_ratings
from workbench.services.dashboard import apply_pending_statistics
from workbench.services.evaluation import create_run, execute_run
from workbench.services.targets import ensure_reference_target
from workbench.storage import repo, repo_demo
from workbench.storage.db import session_scope
from workbench.storage.tables import Participant, TrainingDay

# Known noise of the simulated groups: the demo's agreement table must recover this ordering.
EXPERT_NOISE_SD = 0.5
PANEL_NOISE_SD = 1.2
N_EXPERTS = 4
N_PANEL = 4
MISSING_RATE = 0.25  # each simulated rater skips a quarter of the replies → ~3 raters per reply
# The second prompt version is written to be better; the simulated truth follows that.
PROMPT_QUALITY = {"basis": 3.4, "warm": 3.9}


@dataclass
class DemoSummary:
    created: bool
    training_day_id: int | None
    run_ids: list[str]
    replies: int
    ratings: int


def is_empty(*, engine: sa.Engine) -> bool:
    """No training day and no conversation yet: `workbench start` loads the demo then."""
    with session_scope(engine) as s:
        return repo_demo.is_empty(session=s)


def has_demo_data(*, engine: sa.Engine) -> bool:
    """True while the database holds demo data, which every page then marks as such."""
    with session_scope(engine) as s:
        return repo_demo.holds_demo_data(session=s)


def demo_prompt_text(name: str) -> str:
    return resources.files("workbench").joinpath(f"prompts/{name}.txt").read_text("utf-8")


def load_demo(*, engine: sa.Engine, library: Library, runs_dir: Path, seed: int = 7,
              scenario_ids: list[str] | None = None, only_if_empty: bool = True) -> DemoSummary:
    if only_if_empty and not is_empty(engine=engine):
        return DemoSummary(False, None, [], 0, 0)
    expert_rubric = library.rubric("expert")
    panel_rubric = library.rubric("lived-experience")
    assert expert_rubric and panel_rubric, "the shipped rubrics are missing"
    ids = scenario_ids or sorted(library.scenarios)
    with session_scope(engine) as s:
        target = ensure_reference_target(session=s)
        erv = repo.record_rubric_version(session=s, loaded=expert_rubric)
        prv = repo.record_rubric_version(session=s, loaded=panel_rubric)
        day = TrainingDay(name="Demo-trainingsdag", day=date.today(), is_demo=True,
                          scenario_ids=ids, bot_target_ids=[target.id], overlap=2,
                          expert_rubric_version_id=erv.id, panel_rubric_version_id=prv.id,
                          status=TrainingDayStatus.open)
        s.add(day)
        s.flush()
        day_id, target_name = day.id, target.name
        erv_id, prv_id = erv.id, prv.id
    run_ids: list[str] = []
    pv_ids: list[int] = []
    for label in PROMPT_QUALITY:
        with session_scope(engine) as s:
            target = repo.get_bot_target(session=s, name=target_name)
            pv_ids.append(repo.set_prompt(session=s, target=target, content=demo_prompt_text(label),
                                          label=label).id or 0)
        run_id = create_run(engine=engine, library=library, bot_name=target_name,
                            scenario_ids=ids, concurrency=8, is_demo=True)
        asyncio.run(execute_run(engine=engine, run_id=run_id, library=library,
                                runs_dir=runs_dir))
        run_ids.append(run_id)
    with session_scope(engine) as s:
        day = s.get(TrainingDay, day_id)
        assert day is not None
        day.prompt_version_ids = pv_ids
        s.add(day)
        repo_demo.attach_runs_to_day(session=s, run_ids=run_ids, training_day_id=day_id)
    n_ratings, n_replies = _simulate(engine=engine, run_ids=run_ids, seed=seed,
                                     rubrics={Group.expert: (expert_rubric.rubric, erv_id),
                                              Group.lived_experience: (panel_rubric.rubric,
                                                                       prv_id)})
    with session_scope(engine) as s:
        repo.audit(session=s, action="demo.load", details={"runs": run_ids,
                                                          "ratings": n_ratings})
    apply_pending_statistics(engine)  # so the first dashboard view need not
    return DemoSummary(True, day_id, run_ids, n_replies, n_ratings)


def _criteria(rubric: Rubric) -> dict[str, str]:
    return {c.key: ("yes_no" if c.scale == ScaleKind.yes_no else "likert_5")
            for c in rubric.criteria}


def _simulate(*, engine: sa.Engine, run_ids: list[str], seed: int,
              rubrics: dict[Group, tuple[Rubric, int]]) -> tuple[int, int]:
    """Ratings from simulated experts and panel members on every demo reply."""
    with session_scope(engine) as s:
        rows = repo_demo.run_replies(session=s, run_ids=run_ids)
        labels = {rid: lbl for rid, lbl in zip(run_ids, PROMPT_QUALITY, strict=True)}
        item_ids = [r[0] for r in rows]
        base = np.array([PROMPT_QUALITY[labels[r[2]]] for r in rows])
        rng = np.random.default_rng(seed)
        # One latent quality per reply, shared by both groups; criteria vary around it.
        reply_quality = base + rng.normal(0, 0.7, len(rows))
        raters: dict[str, Participant] = {}
        n = 0
        for g_i, (group, (rubric, rv_id)) in enumerate(rubrics.items()):
            crit = _criteria(rubric)
            truth = {k: reply_quality + rng.normal(0, 0.4, len(rows)) for k in crit}
            points = simulate_ratings(
                len(item_ids), N_EXPERTS if group == Group.expert else N_PANEL, crit,
                EXPERT_NOISE_SD if group == Group.expert else PANEL_NOISE_SD,
                seed=seed + g_i, leniency_sd=0.3, missing_rate=MISSING_RATE,
                group=str(group), truth=truth, item_ids=item_ids,
                rater_ids=[f"DEMO-{'EXP' if group == Group.expert else 'ERV'}-{i + 1}"
                           for i in range(N_EXPERTS if group == Group.expert else N_PANEL)],
            )
            by_pair: dict[tuple[int, str], dict[str, object]] = defaultdict(dict)
            for p in points:
                by_pair[(int(p.item_id), str(p.rater_id))][p.criterion] = p.value
            for (turn_id, code), values in by_pair.items():
                if code not in raters:
                    raters[code] = repo.get_participant(session=s, code=code) or \
                        repo.create_participant(
                            session=s, code=code, is_demo=True, group=group,
                            role=Role.expert if group == Group.expert else Role.panel)
                verdict = score(rubric, values)  # type: ignore[arg-type]
                repo.upsert_rating(
                    session=s, rater_id=raters[code].id, turn_id=turn_id, rubric_version_id=rv_id,
                    values=values, status=RatingStatus.submitted, overall=verdict.overall,
                    unsafe=verdict.unsafe, source=RatingSource.simulated,
                    time_spent_s=float(rng.uniform(20, 120)),
                )
                n += 1
        return n, len(item_ids)
