"""Simulated users against a bot: `workbench simulate`.

A simulation is a run (same table, lease, writer, transcripts and manifest) whose
conversations are of their own kind, `simulated`: a simulated user (domain/simulated_user.py:
the deterministic scripted user, or a bot target as the user model) plays each scenario's
persona, adapting to the bot's replies, until a stop rule fires. The judge, the checks and
experts score its replies like any other; the dashboard's live figures never count them
(domain/rules.py), and show them in a section of their own.

Each exchange (user message + bot reply) is stored whole, as in a batch run; the simulated
user's next message is a function of the stored history, so `--resume` continues exactly
where a killed simulation stopped (a user model may then say something else than it would
have: it is asked again).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench.bots import Bot, BotError, ReplyRequest
from workbench.domain.enums import (
    BotErrorKind,
    ConversationKind,
    ConversationStatus,
    RunStatus,
    SimulationStop,
    TurnRole,
    TurnStatus,
)
from workbench.domain.library import Library
from workbench.domain.simulated_user import (
    Message,
    Next,
    Persona,
    check_max_turns,
    persona_prompt,
    read_user_model,
    scripted_next,
    stop_after,
    user_model_messages,
)
from workbench.services.evaluation._lease import (
    DEFAULT_LEASE_S,
    LeaseLost,
    RunLease,
    keep_lease,
    take_lease,
)
from workbench.services.evaluation._run_writer import ExchangeNotStored, TurnWriter
from workbench.services.evaluation._runs import (
    Progress,
    RunSummary,
    WrongRunKind,
    _storable_reply,
    current_target,
    finish_run,
    is_simulation,
    record_run,
)
from workbench.services.evaluation._unfinished import unfinished_conversations
from workbench.services.targets import bot_for
from workbench.services.training import failure_fields, reply_fields
from workbench.storage import repo, repo_eval, repo_simulate
from workbench.storage.db import session_scope
from workbench.storage.tables import PromptVersion, Run

SCRIPTED_USER = "scripted"  # the name the offline user goes by in manifests and turns
# Ends that are a result (the conversation is over); the others leave it to `--resume`.
FINISHED_STOPS = frozenset({SimulationStop.max_turns, SimulationStop.goal_reached,
                            SimulationStop.safety, SimulationStop.script_done,
                            SimulationStop.context_overflow})


@dataclass
class SimulationSummary:
    run: RunSummary
    stops: dict[str, int] = field(default_factory=dict)  # conversations by why they ended


@dataclass
class _Job:
    conversation_id: int
    persona: Persona
    history: list[Message]


def create_simulation(
    *, engine: sa.Engine, library: Library, bot_name: str, user_model: str | None = None,
    scenario_ids: list[str] | None = None, max_turns: int = 8, repeat: int = 1,
    concurrency: int = 4, run_id: str | None = None,
) -> str:
    """Record a simulation: a run with one `simulated` conversation per (scenario, repeat).
    `user_model` names the bot target that plays the user (None: the scripted user)."""
    check_max_turns(max_turns)
    with session_scope(engine) as s:
        target = current_target(session=s, bot_name=bot_name)
        if user_model is not None:
            repo.get_bot_target(session=s, name=user_model)  # raises NotFound
        return record_run(
            session=s, library=library, target=target,
            prompt_version_id=target.current_prompt_version_id or 0, scenario_ids=scenario_ids,
            repeat=repeat, concurrency=concurrency, run_id=run_id,
            kind=ConversationKind.simulated,
            manifest={"simulation": {"user_model": user_model, "max_turns": max_turns}},
            conversation_meta={"simulated_user": user_model or SCRIPTED_USER})


def _pending(*, engine: sa.Engine, run_id: str) -> tuple[list[_Job], int]:
    found, total = unfinished_conversations(engine=engine, run_id=run_id)
    return [_Job(u.conversation_id, Persona.of(u.scenario), u.history) for u in found], total


UserMove = Callable[[Persona, list[Message]], Awaitable[Next]]


def _user_model_move(user_bot: Bot, sem: asyncio.Semaphore, errors: dict[str, int]
                     ) -> UserMove:
    async def move(persona: Persona, history: list[Message]) -> Next:
        prompt = persona_prompt(persona)
        request = ReplyRequest(system_prompt=prompt,
                               messages=user_model_messages(persona, history),
                               prompt_version_hash=hashlib.sha256(prompt.encode()).hexdigest())
        try:
            async with sem:
                result = await user_bot.acomplete(request)
        except BotError as err:
            key = f"user_model:{err.kind}"
            errors[key] = errors.get(key, 0) + 1
            return Next(stop=SimulationStop.context_overflow
                        if err.kind == BotErrorKind.context_overflow
                        else SimulationStop.user_model_failed)
        return read_user_model(result.text)
    return move


async def _scripted_move(persona: Persona, history: list[Message]) -> Next:
    return scripted_next(persona, history)


async def execute_simulation(
    *, engine: sa.Engine, run_id: str, runs_dir: Path, bot: Bot | None = None,
    user_bot: Bot | None = None, progress: Progress | None = None,
    concurrency: int | None = None, lease_s: float = DEFAULT_LEASE_S,
) -> SimulationSummary:
    """Play (or finish playing) a simulation; writes transcripts.jsonl and manifest.json.
    Holds the run's lease like a batch run (RunBusy, LeaseLost); WrongRunKind for a run that
    is not a simulation."""
    lease = take_lease(engine=engine, run_id=run_id, lease_s=lease_s)
    try:
        return await _play(engine=engine, run_id=run_id, runs_dir=runs_dir, bot=bot,
                           user_bot=user_bot, progress=progress, concurrency=concurrency,
                           lease=lease)
    finally:
        if not lease.lost:
            await asyncio.to_thread(lease.release)


def _load(engine: sa.Engine, run_id: str, bot: Bot | None, user_bot: Bot | None
          ) -> tuple[dict[str, Any], Bot, Bot | None, PromptVersion, int]:
    with session_scope(engine) as s:
        run = s.get(Run, run_id)
        if run is None:
            raise repo.NotFound(f"no run with id '{run_id}'")
        if not is_simulation(run):
            raise WrongRunKind(f"run {run_id} is a batch run of scripted scenarios, not a "
                               f"simulation; continue it with `workbench run --resume {run_id}`")
        settings = dict(run.manifest["simulation"])
        pv = s.get(PromptVersion, run.prompt_version_id)
        assert pv is not None
        s.expunge(pv)
        if bot is None:
            bot = bot_for(repo.get_bot_target_by_id(session=s, bot_target_id=run.bot_target_id))
        if user_bot is None and settings.get("user_model"):
            user_bot = bot_for(repo.get_bot_target(session=s, name=settings["user_model"]))
        run.status = RunStatus.running
        s.add(run)
        return settings, bot, user_bot, pv, run.concurrency


async def _play(*, engine: sa.Engine, run_id: str, runs_dir: Path, bot: Bot | None,
                user_bot: Bot | None, progress: Progress | None, concurrency: int | None,
                lease: RunLease) -> SimulationSummary:
    started = time.perf_counter()
    settings, bot, user_bot, pv, run_concurrency = _load(engine, run_id, bot, user_bot)
    max_turns = check_max_turns(int(settings["max_turns"]))
    jobs, total = _pending(engine=engine, run_id=run_id)
    writer = TurnWriter(engine, fence=lease.fence)
    writer_task = asyncio.create_task(writer.serve())
    sem = asyncio.Semaphore(concurrency or run_concurrency)
    errors: dict[str, int] = {}
    user_name = settings.get("user_model") or SCRIPTED_USER
    user_move = (_user_model_move(user_bot, sem, errors) if user_bot is not None
                 else _scripted_move)
    done_count = total - len(jobs)
    if progress:
        progress("start", done_count, total)

    def count(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def end(job: _Job, turns: list[dict[str, Any]], stop: SimulationStop) -> None:
        status = (ConversationStatus.finished if stop in FINISHED_STOPS
                  else ConversationStatus.failed)
        try:
            await writer.enqueue(job.conversation_id, turns, status)
        except ExchangeNotStored:
            count(str(SimulationStop.not_stored))
            stop = SimulationStop.not_stored
        await asyncio.to_thread(_record_stop, engine, lease, job.conversation_id, stop)

    async def play(job: _Job) -> None:
        nonlocal done_count
        msgs = job.history
        stop: SimulationStop | None = None
        while stop is None:
            # A failed exchange left its user turn stored: resend it, do not store it again.
            owed = bool(msgs) and msgs[-1]["role"] == TurnRole.user
            user: list[dict[str, Any]] = []
            if not owed:
                stop = stop_after(job.persona, msgs, max_turns=max_turns) if msgs else None
                if stop is not None:
                    await end(job, [], stop)
                    break
                move = await user_move(job.persona, msgs)
                if move.stop is not None or move.message is None:
                    stop = move.stop or SimulationStop.user_model_failed
                    await end(job, [], stop)
                    break
                msgs.append({"role": TurnRole.user.value, "content": move.message})
                user = [{"role": TurnRole.user, "content": move.message,
                         "status": TurnStatus.ok, "model": user_name,
                         "parameters": {"simulated_user": user_name}}]
            request = ReplyRequest(system_prompt=pv.content, messages=list(msgs),
                                   prompt_version_hash=pv.sha256)
            try:
                async with sem:
                    result = await bot.acomplete(request)
            except BotError as err:
                count(str(err.kind))
                stop = (SimulationStop.context_overflow
                        if err.kind == BotErrorKind.context_overflow
                        else SimulationStop.bot_failed)
                await end(job, [*user, failure_fields(err, prompt_version_id=pv.id)], stop)
                break
            fields = _storable_reply(reply_fields(result, prompt_version_id=pv.id))
            msgs.append({"role": TurnRole.assistant.value, "content": fields["content"]})
            try:
                await writer.enqueue(job.conversation_id, [*user, fields])
            except ExchangeNotStored:
                count(str(SimulationStop.not_stored))
                stop = SimulationStop.not_stored
                await asyncio.to_thread(_record_stop, engine, lease, job.conversation_id, stop)
        done_count += 1
        if progress:
            progress("finished" if stop in FINISHED_STOPS else "failed", done_count, total)

    tasks = [asyncio.create_task(play(j)) for j in jobs]
    plays = asyncio.gather(*tasks)
    keeper = asyncio.create_task(keep_lease(lease, on_lost=plays.cancel))
    try:
        await plays
    except asyncio.CancelledError:
        if lease.lost:
            raise LeaseLost(f"run {run_id}: another runner took the simulation over after "
                            "this runner's lease expired; stopped") from None
        raise
    finally:
        keeper.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await writer.close(writer_task)
        for b in (bot, user_bot):
            aclose = getattr(b, "aclose", None)
            if aclose is not None:  # release this loop's pooled connections before it ends
                await aclose()
    if lease.lost:
        raise LeaseLost(f"run {run_id}: another runner took the simulation over; not "
                        "finishing it")
    summary = finish_run(engine=engine, run_id=run_id, runs_dir=runs_dir, errors=errors,
                         duration_s=time.perf_counter() - started, fence=lease.fence)
    with session_scope(engine) as s:
        stops: dict[str, int] = {}
        for conv in repo_eval.run_conversations(session=s, run_id=run_id):
            key = str((conv.meta or {}).get("stop") or "open")
            stops[key] = stops.get(key, 0) + 1
    return SimulationSummary(summary, stops)


def _record_stop(engine: sa.Engine, lease: RunLease, conversation_id: int,
                 stop: SimulationStop) -> None:
    with session_scope(engine) as s:
        lease.fence(s)
        repo_simulate.set_stop(session=s, conversation_id=conversation_id, stop=stop)
