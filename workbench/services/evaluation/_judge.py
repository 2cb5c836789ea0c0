"""The rubric judge: score bot replies with the experts' rubric through any OpenAI-compatible
judge target, and store the valid answers as ratings with source `judge`.

A judge target is an ordinary bot target (kind openai); its rater is the participant
`judge:<target name>` (role judge), so the UNIQUE (rater, reply, rubric version) constraint makes
re-running idempotent: a reply this judge already rated under the rubric version is skipped.
Calls go through the Bot protocol (`OpenAICompatBot.acomplete`), sharing its timeouts, retries
and error kinds. An answer that does not fit the rubric is asked again (`retries` times, telling
the judge what was wrong) and then recorded as a judge failure (audit event `judge.failure`);
it never becomes a score. A changed judge prompt template gets a new `judge_prompt_sha`, but the
same judge keeps its earlier ratings: give a new prompt a new judge target name to re-score.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench.bots import BotError, OpenAICompatBot, ReplyRequest
from workbench.domain.enums import BotKind, RatingSource, RatingStatus, Role
from workbench.domain.library import Library
from workbench.domain.rubrics import Rubric
from workbench.domain.scoring import score
from workbench.services.evaluation._expectations import scenario_facts
from workbench.services.evaluation._judge_prompt import (
    InvalidJudgement,
    Judgement,
    build_material,
    judge_retry_message,
    judge_system_prompt,
    judge_template_sha,
    parse_judgement,
    response_format,
)
from workbench.services.targets import split_client_settings
from workbench.storage import repo
from workbench.storage import repo_eval as q
from workbench.storage.db import session_scope
from workbench.storage.snapshots import scenario_of
from workbench.storage.tables import BotTarget, Participant, Run, Turn

DEFAULT_RUBRIC = "expert"
RAW_EXCERPT_CHARS = 500
WRITE_BATCH = 32
Progress = Callable[[int, int], None]  # (done, total)


class JudgeSetupError(ValueError):
    pass


def judge_code(target_name: str) -> str:
    """The participant code under which a judge target's ratings are stored."""
    return f"judge:{target_name}"


@dataclass(frozen=True)
class JudgeItem:
    turn_id: int
    rubric_version_id: int
    rubric: Rubric
    material: str  # the one user message: rubric, scenario, conversation, reply


@dataclass
class JudgeSummary:
    judge: str
    total: int  # replies in scope
    judged: int = 0  # new judge ratings stored
    skipped: int = 0  # already rated by this judge under the rubric version
    failed: int = 0  # recorded as judge failures
    failure_kinds: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass(frozen=True)
class _Outcome:
    item: JudgeItem
    judgement: Judgement | None
    model: str | None
    attempts: int
    failure_kind: str | None = None  # invalid_output, or a BotError kind
    problems: tuple[str, ...] = ()
    raw: str = ""


def ensure_judge_rater(*, session: Session, target_name: str) -> Participant:
    code = judge_code(target_name)
    found = repo.get_participant(session=session, code=code)
    if found is None:
        return repo.create_participant(session=session, code=code, role=Role.judge)
    if found.role != Role.judge:
        raise JudgeSetupError(f"participant '{code}' exists but is not a judge")
    return found


def judge_bot(target: BotTarget, *, json_mode: bool = False,
              constrained: dict[str, Any] | None = None) -> OpenAICompatBot:
    """The Bot behind a judge target. `json_mode` asks for `response_format` json_object, which
    only some servers support; `constrained` is a whole `response_format` (a rubric's answer
    schema, see `response_format`); without either the judge relies on its instructions."""
    _require_judge_target(target)
    assert target.base_url and target.model
    params, client = split_client_settings(target.parameters)
    if constrained is not None:
        params["response_format"] = constrained
    elif json_mode:
        params["response_format"] = {"type": "json_object"}
    return OpenAICompatBot(base_url=target.base_url, model=target.model, parameters=params,
                           api_key_env=target.api_key_env, **client)


def _require_judge_target(target: BotTarget) -> None:
    if target.kind != BotKind.openai or not (target.base_url and target.model):
        raise JudgeSetupError(f"judge target '{target.name}' must be an openai target with a "
                              "base URL and a model")


def _items(session: Session, replies: list[q.Reply], library: Library, rubric_id: str | None,
           rater_id: int) -> tuple[list[JudgeItem], int]:
    """What to ask the judge for each reply not yet judged; and how many were skipped."""
    versions: dict[str, tuple[int, Rubric]] = {}
    items: list[JudgeItem] = []
    for reply in replies:
        scenario = (scenario_of(session=session, snapshot_id=reply.scenario_snapshot_id)
                    if reply.scenario_snapshot_id is not None else None)
        rid = rubric_id or (scenario.rubric if scenario is not None else DEFAULT_RUBRIC)
        if rid not in versions:
            loaded = library.rubric(rid)
            if loaded is None:
                raise JudgeSetupError(f"no rubric with id '{rid}' in the library")
            rv = repo.record_rubric_version(session=session, loaded=loaded)
            versions[rid] = (rv.id or 0, loaded.rubric)
        rv_id, rubric = versions[rid]
        facts = scenario_facts(scenario, reply) if scenario is not None else None
        items.append(JudgeItem(reply.turn_id, rv_id, rubric, build_material(
            rubric, scenario=facts, context=list(reply.context), reply=reply.text)))
    done: set[int] = set()
    for rv_id, _ in versions.values():
        ids = [i.turn_id for i in items if i.rubric_version_id == rv_id]
        done |= q.judged_turn_ids(session=session, rater_id=rater_id, rubric_version_id=rv_id,
                                  turn_ids=ids)
    todo = [i for i in items if i.turn_id not in done]
    return todo, len(items) - len(todo)


async def judge_item(bot: OpenAICompatBot, item: JudgeItem, *, retries: int = 2) -> _Outcome:
    """Ask the judge until its answer fits the rubric, at most `retries` extra times."""
    sha = judge_template_sha(item.rubric.language)
    messages = [{"role": "user", "content": item.material}]
    problems: list[str] = []
    raw = ""
    for attempt in range(1, retries + 2):
        request = ReplyRequest(system_prompt=judge_system_prompt(item.rubric),
                               messages=list(messages), prompt_version_hash=sha)
        try:
            result = await bot.acomplete(request)
        except BotError as err:
            return _Outcome(item, None, bot.model, attempt, str(err.kind),
                            (*problems, str(err)), err.partial_text[:RAW_EXCERPT_CHARS])
        raw = result.text
        try:
            return _Outcome(item, parse_judgement(item.rubric, raw), result.provenance.model,
                            attempt)
        except InvalidJudgement as exc:
            problems.append(f"attempt {attempt}: {exc}")
            # The judge sees its own answer and what was wrong with it: a real model fixes a
            # missing criterion far more often that way than when simply asked again.
            messages += [{"role": "assistant", "content": raw},
                         {"role": "user", "content": judge_retry_message(item.rubric,
                                                                         exc.problems)}]
    return _Outcome(item, None, bot.model, retries + 1, "invalid_output", tuple(problems),
                    raw[:RAW_EXCERPT_CHARS])


def _rating_row(o: _Outcome, rater_id: int) -> dict[str, Any]:
    item, judgement = o.item, o.judgement
    assert judgement is not None
    verdict = score(item.rubric, dict(judgement.values))
    return {
        "rater_id": rater_id, "turn_id": item.turn_id,
        "rubric_version_id": item.rubric_version_id,
        # Stored as ints so rating_score can mirror them: yes/no becomes 1/0.
        "values": {k: int(v) for k, v in judgement.values.items()},
        "overall": verdict.overall, "unsafe": verdict.unsafe, "judge_model": o.model,
        "judge_prompt_sha": judge_template_sha(item.rubric.language),
        "comment": json.dumps(judgement.reasons, ensure_ascii=False),
    }


def _store(engine: sa.Engine, outcomes: list[_Outcome], rater_id: int, target_name: str) -> None:
    """Write a batch of outcomes in one transaction: ratings in bulk, failures as audit events."""
    rows = [_rating_row(o, rater_id) for o in outcomes if o.judgement is not None]
    try:
        with session_scope(engine) as s:
            q.insert_judge_ratings(session=s, rows=rows)
            _audit_failures(s, [o for o in outcomes if o.judgement is None], target_name)
    except sa.exc.IntegrityError:
        # Another run of the same judge got there first: the one-by-one upsert keeps its rating.
        with session_scope(engine) as s:
            for row in rows:
                repo.upsert_rating(session=s, status=RatingStatus.submitted,
                                   source=RatingSource.judge, **row)
            _audit_failures(s, [o for o in outcomes if o.judgement is None], target_name)


def _audit_failures(s: Session, failed: list[_Outcome], target_name: str) -> None:
    for o in failed:
        repo.audit(session=s, action=q.JUDGE_FAILURE, actor=judge_code(target_name),
                   entity="turn", entity_id=o.item.turn_id, details={
                       "judge": target_name, "model": o.model, "kind": o.failure_kind,
                       "rubric_version_id": o.item.rubric_version_id,
                       "judge_prompt_sha": judge_template_sha(o.item.rubric.language),
                       "attempts": o.attempts, "problems": list(o.problems),
                       "raw_excerpt": o.raw})


def judge_reasons(comment: str | None) -> dict[str, str]:
    """The per-criterion reasons of a judge rating (stored as JSON in its comment)."""
    try:
        data = json.loads(comment or "{}")
    except json.JSONDecodeError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


async def ajudge_turns(
    engine: sa.Engine, turn_ids: Collection[int] | None, judge_target_name: str,
    concurrency: int = 8, *, run_id: str | None = None, library: Library | None = None,
    rubric_id: str | None = None, retries: int = 2, json_mode: bool = False,
    json_schema: str | None = None, reason_chars: int = 120,
    bot: OpenAICompatBot | None = None, progress: Progress | None = None,
) -> JudgeSummary:
    """Judge these replies (or every reply of `run_id`), at most `concurrency` requests in
    flight; writes happen on one writer thread while the next answers arrive.

    `json_schema` ("openai" or "llama-cpp") constrains each answer to its rubric's schema
    (one judge client per rubric version, since the schema differs per rubric), with reasons
    of at most `reason_chars` characters (a small local model takes seconds per reason)."""
    if concurrency < 1 or retries < 0:
        raise ValueError("concurrency must be >= 1 and retries >= 0")
    started = time.perf_counter()
    if library is None:
        from workbench.services.context import load_shipped_library

        library = load_shipped_library()
    with session_scope(engine) as s:
        target = repo.get_bot_target(session=s, name=judge_target_name)
        if bot is None:
            _require_judge_target(target)
        rater_id = ensure_judge_rater(session=s, target_name=judge_target_name).id or 0
        if run_id is not None:
            if s.get(Run, run_id) is None:
                raise repo.NotFound(f"no run with id '{run_id}'")
            replies = q.replies_of_run(session=s, run_id=run_id)
        else:
            convs = {t.conversation_id for t in (s.get(Turn, i) for i in turn_ids or [])
                     if t is not None}
            wanted = set(turn_ids or [])
            replies = [r for r in q.replies_of_conversations(session=s, conversation_ids=convs)
                       if r.turn_id in wanted]
        items, skipped = _items(s, replies, library, rubric_id, rater_id)
    own_bot = bot is None
    judge = bot or judge_bot(target, json_mode=json_mode)
    by_rubric: dict[int, OpenAICompatBot] = {}
    if json_schema is not None and own_bot:
        for item in items:
            if item.rubric_version_id not in by_rubric:
                by_rubric[item.rubric_version_id] = judge_bot(
                    target, constrained=response_format(item.rubric, json_schema,
                                                        reason_chars=reason_chars))
    summary = JudgeSummary(judge=judge_target_name, total=len(items) + skipped, skipped=skipped)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-writer")
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    kinds: Counter[str] = Counter()
    pending: list[_Outcome] = []
    last_flush = time.monotonic()

    async def flush() -> None:
        nonlocal last_flush
        batch = pending[:]
        pending.clear()
        last_flush = time.monotonic()
        if batch:
            await loop.run_in_executor(writer, _store, engine, batch, rater_id,
                                       judge_target_name)

    async def one(item: JudgeItem) -> None:
        async with sem:
            outcome = await judge_item(by_rubric.get(item.rubric_version_id, judge), item,
                                       retries=retries)
        if outcome.judgement is None:
            summary.failed += 1
            kinds[outcome.failure_kind or "unknown"] += 1
        else:
            summary.judged += 1
        pending.append(outcome)
        # Batched writes: one transaction per WRITE_BATCH answers (or per second when they
        # trickle in), so storage costs little CPU next to the requests in flight. A crash
        # loses at most one batch, which the next run asks again.
        if len(pending) >= WRITE_BATCH or time.monotonic() - last_flush > 1.0:
            await flush()
        if progress:
            progress(summary.judged + summary.failed, len(items))

    try:
        await asyncio.gather(*(one(i) for i in items))
        await flush()
    finally:
        writer.shutdown(wait=True)
        if own_bot:
            for each in (judge, *by_rubric.values()):
                await each.aclose()
                each.close()
    summary.failure_kinds = dict(kinds)
    summary.duration_s = time.perf_counter() - started
    return summary


def judge_run(engine: sa.Engine, run_id: str, judge_target_name: str, concurrency: int = 8,
              **options: object) -> JudgeSummary:
    """Score every ok bot reply of a run with the judge (see `ajudge_turns` for options)."""
    return asyncio.run(ajudge_turns(engine, None, judge_target_name, concurrency,
                                    run_id=run_id, **options))  # type: ignore[arg-type]
