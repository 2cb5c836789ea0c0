"""The batch runner: play every scripted scenario against one bot target, resumable.

Turns run in order within a conversation; conversations run in parallel on asyncio, with at
most `concurrency` bot requests in flight. Each exchange (user turn + reply) is written whole
after the reply arrives (group-committed on one writer thread, see run_writer.py), so a
SIGKILL loses at most the exchanges in flight and `resume` redoes exactly those.
Conversations are unique per (run, scenario snapshot, repeat), so a resume can never
duplicate one.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from workbench import __version__
from workbench.bots import Bot, BotError, ReplyRequest
from workbench.domain.enums import (
    ConversationKind,
    ConversationStatus,
    RunStatus,
    TurnErrorKind,
    TurnRole,
)
from workbench.domain.library import Library
from workbench.domain.storable import clean_text
from workbench.services.evaluation._lease import (
    DEFAULT_LEASE_S,
    LeaseLost,
    RunLease,
    keep_lease,
    take_lease,
)
from workbench.services.evaluation._run_writer import ExchangeNotStored, Fence, TurnWriter
from workbench.services.evaluation._unfinished import unfinished_conversations
from workbench.services.targets import bot_for
from workbench.services.training import failure_fields, reply_fields
from workbench.storage import repo, repo_eval
from workbench.storage.db import session_scope
from workbench.storage.tables import (
    BotTarget,
    Conversation,
    PromptVersion,
    Run,
    ScenarioSnapshot,
    Turn,
)

Progress = Callable[[str, int, int], None]  # (event, done, total)


@dataclass
class _Job:
    conversation_id: int
    scenario_id: str
    turns: list[str]  # the scripted user turns
    done_exchanges: int  # exchanges already stored (user turn + ok reply)
    history: list[dict[str, str]] = field(default_factory=list)


@dataclass
class RunSummary:
    run_id: str
    out_dir: Path
    conversations: int
    finished: int
    failed: int
    replies: int
    errors: dict[str, int]
    duration_s: float
    retries: int = 0  # requests beyond one per reply, over every session of the run
    truncated_replies: int = 0  # replies the server stopped at max_tokens or a full context


class WrongRunKind(ValueError):
    """A simulation given to the scripted runner, or a scripted run to the simulator."""


def is_simulation(run: Run) -> bool:
    """A run made by `workbench simulate` (its settings are in the manifest's `simulation`)."""
    return "simulation" in (run.manifest or {})


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def create_run(
    *, engine: sa.Engine, library: Library, bot_name: str, scenario_ids: list[str] | None = None,
    repeat: int = 1, concurrency: int = 8, is_demo: bool = False, run_id: str | None = None,
) -> str:
    """Record a run and one conversation per (scenario, repeat); returns the run id."""
    with session_scope(engine) as s:
        target = current_target(session=s, bot_name=bot_name)
        return record_run(session=s, library=library, target=target,
                          prompt_version_id=target.current_prompt_version_id or 0,
                          scenario_ids=scenario_ids, repeat=repeat, concurrency=concurrency,
                          is_demo=is_demo, run_id=run_id)


def current_target(*, session: Session, bot_name: str) -> BotTarget:
    """The bot target a new run plays against; refused when it has no system prompt yet."""
    target = repo.get_bot_target(session=session, name=bot_name)
    if target.current_prompt_version_id is None:
        raise repo.NotFound(f"bot target '{bot_name}' has no system prompt yet")
    return target


def record_run(
    *, session: Session, library: Library, target: BotTarget, prompt_version_id: int,
    scenario_ids: list[str] | None = None, repeat: int = 1, concurrency: int = 8,
    is_demo: bool = False, run_id: str | None = None,
    kind: ConversationKind = ConversationKind.batch, manifest: dict[str, Any] | None = None,
    conversation_meta: dict[str, Any] | None = None,
) -> str:
    """The one way a run is recorded, inside the caller's unit of work: batch runs, the prompt
    lab's runs of a candidate that is not current yet, and simulations (`kind` simulated, their
    settings in `manifest`)."""
    ids = scenario_ids or sorted(library.scenarios)
    unknown = [i for i in ids if i not in library.scenarios]
    if unknown:
        raise repo.NotFound(f"no scenario with id {', '.join(repr(u) for u in unknown)}")
    if repeat < 1 or concurrency < 1:
        raise ValueError("repeat and concurrency must be at least 1")
    pv = session.get(PromptVersion, prompt_version_id)
    if pv is None or pv.bot_target_id != target.id:
        raise repo.NotFound(f"bot target '{target.name}' has no prompt version "
                            f"{prompt_version_id}")
    run = Run(id=run_id or new_run_id(), bot_target_id=target.id or 0,
              prompt_version_id=prompt_version_id, scenario_ids=ids,
              repeat=repeat, concurrency=concurrency, is_demo=is_demo, manifest=manifest or {})
    session.add(run)
    session.flush()
    for sid in ids:
        snap = repo.snapshot_scenario(session=session, loaded=library.scenarios[sid])
        for k in range(repeat):
            repo.create_conversation(
                session=session, kind=kind, run_id=run.id, repeat_index=k,
                scenario_snapshot_id=snap.id, bot_target_id=target.id,
                prompt_version_id=run.prompt_version_id, is_demo=is_demo,
                meta=conversation_meta or {})
    return run.id


def _pending_jobs(*, engine: sa.Engine, run_id: str) -> tuple[list[_Job], int]:
    """Conversations of the run that are not finished, with what they still have to play."""
    found, total = unfinished_conversations(engine=engine, run_id=run_id)
    jobs = []
    for u in found:
        done = sum(1 for m in u.history if m["role"] == TurnRole.assistant)
        # Exchanges are stored whole; only a failed reply leaves a user turn unanswered,
        # which play() answers first without storing that user turn again.
        jobs.append(_Job(u.conversation_id, u.scenario_id,
                         [t.text for t in u.scenario.scripted_turns], done, u.history))
    return jobs, total


async def execute_run(
    *, engine: sa.Engine, run_id: str, library: Library, runs_dir: Path,
    bot: Bot | None = None, progress: Progress | None = None, concurrency: int | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> RunSummary:
    """Play (or finish playing) a run; writes transcripts.jsonl and manifest.json at the end.

    Holds the run's lease while it plays (raises RunBusy when another runner holds it, and
    LeaseLost when another took it over meanwhile), and releases it when it ends."""
    lease = take_lease(engine=engine, run_id=run_id, lease_s=lease_s)
    try:
        return await _play_run(engine=engine, run_id=run_id, runs_dir=runs_dir, bot=bot,
                               progress=progress, concurrency=concurrency, lease=lease)
    finally:
        if not lease.lost:
            await asyncio.to_thread(lease.release)


async def _play_run(*, engine: sa.Engine, run_id: str, runs_dir: Path, bot: Bot | None,
                    progress: Progress | None, concurrency: int | None, lease: RunLease
                    ) -> RunSummary:
    started = time.perf_counter()
    with session_scope(engine) as s:
        run = s.get(Run, run_id)
        if run is None:
            raise repo.NotFound(f"no run with id '{run_id}'")
        if is_simulation(run):
            raise WrongRunKind(f"run {run_id} is a simulation; continue it with "
                               f"`workbench simulate --resume {run_id}`")
        pv = s.get(PromptVersion, run.prompt_version_id)
        assert pv is not None
        if bot is None:
            bot = bot_for(repo.get_bot_target_by_id(session=s, bot_target_id=run.bot_target_id))
        limit = concurrency or run.concurrency
        run.status = RunStatus.running
        s.add(run)
        system_prompt, prompt_sha, pv_id = pv.content, pv.sha256, pv.id
    # Scripted turns come from the run's snapshots (exact text), not from `library`.
    jobs, total = _pending_jobs(engine=engine, run_id=run_id)
    writer = TurnWriter(engine, fence=lease.fence)
    writer_task = asyncio.create_task(writer.serve())
    sem = asyncio.Semaphore(limit)
    errors: dict[str, int] = {}
    tally = {"retries": 0, "truncated_replies": 0}
    done_count = total - len(jobs)
    if progress:
        progress("start", done_count, total)

    def count(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def stored(commit: asyncio.Future[None] | None) -> bool:
        """Wait for an exchange's commit; False when the database refused it (the writer then
        ended the conversation as failed, with the reason)."""
        if commit is None:
            return True
        try:
            await commit
        except ExchangeNotStored:
            count(str(TurnErrorKind.not_stored))
            return False
        return True

    async def play(job: _Job) -> None:
        nonlocal done_count
        msgs = list(job.history)
        status = ConversationStatus.finished
        committed: asyncio.Future[None] | None = None  # the previous exchange's commit
        for i in range(job.done_exchanges, len(job.turns)):
            # A failed exchange left its user turn stored: resend it, do not store it again.
            owed = bool(msgs) and msgs[-1]["role"] == TurnRole.user
            user = [] if owed else [{"role": TurnRole.user, "content": job.turns[i]}]
            if not owed:
                msgs.append({"role": "user", "content": job.turns[i]})
            request = ReplyRequest(system_prompt=system_prompt, messages=list(msgs),
                                   prompt_version_hash=prompt_sha)
            try:
                # The limit is on requests in flight, not on conversations: between its turns a
                # conversation holds no slot, so 40 conversations keep 32 slots busy.
                async with sem:
                    result = await bot.acomplete(request)
            except BotError as err:
                count(str(err.kind))
                tally["retries"] += err.attempts - 1
                status = ConversationStatus.failed
                if await stored(committed):
                    await stored(writer.enqueue(
                        job.conversation_id,
                        [*user, failure_fields(err, prompt_version_id=pv_id)],
                        ConversationStatus.failed))
                committed = None
                break
            tally["retries"] += result.provenance.attempts - 1
            tally["truncated_replies"] += result.provenance.truncated
            fields = _storable_reply(reply_fields(result, prompt_version_id=pv_id))
            # The history holds what is stored: the next request, and a resume, send the same.
            msgs.append({"role": "assistant", "content": fields["content"]})
            last = i == len(job.turns) - 1
            if not await stored(committed):  # at most one exchange per conversation waits
                status, committed = ConversationStatus.failed, None
                break
            committed = writer.enqueue(job.conversation_id, [*user, fields],
                                       ConversationStatus.finished if last else None)
        else:
            if job.done_exchanges >= len(job.turns):  # nothing was left but the status
                committed = writer.enqueue(job.conversation_id, [], status)
        if not await stored(committed):
            status = ConversationStatus.failed
        done_count += 1
        if progress:
            progress("failed" if status == ConversationStatus.failed else "finished",
                     done_count, total)

    tasks = [asyncio.create_task(play(j)) for j in jobs]
    plays = asyncio.gather(*tasks)
    keeper = asyncio.create_task(keep_lease(lease, on_lost=plays.cancel))
    try:
        await plays
    except asyncio.CancelledError:
        if lease.lost:
            raise LeaseLost(f"run {run_id}: another runner took the run over after this "
                            "runner's lease expired; stopped") from None
        raise
    finally:
        keeper.cancel()
        for task in tasks:  # after one conversation raised, the others stop too
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await writer.close(writer_task)
        aclose = getattr(bot, "aclose", None)
        if aclose is not None:  # release this loop's pooled connections before it ends
            await aclose()
    if lease.lost:  # the keeper noticed only as the last conversation ended
        raise LeaseLost(f"run {run_id}: another runner took the run over; not finishing it")
    return finish_run(engine=engine, run_id=run_id, runs_dir=runs_dir, errors=errors,
                      duration_s=time.perf_counter() - started, tally=tally, fence=lease.fence)


def _storable_reply(fields: dict[str, Any]) -> dict[str, Any]:
    """The reply's text cleaned of what a database cannot store (a NUL, a lone surrogate),
    with a note in its provenance (`parameters["cleaned"]`)."""
    text, cleaned = clean_text(fields["content"])
    if not cleaned:
        return fields
    return {**fields, "content": text,
            "parameters": {**(fields.get("parameters") or {}), "cleaned": cleaned.note()}}


def finish_run(*, engine: sa.Engine, run_id: str, runs_dir: Path, errors: dict[str, int],
               duration_s: float, tally: dict[str, int] | None = None,
               fence: Fence | None = None) -> RunSummary:
    """Write transcripts.jsonl and manifest.json from the database and close the run (checking
    the run's lease first with `fence`, when the caller holds one)."""
    out = runs_dir / run_id
    out.mkdir(parents=True, exist_ok=True)
    with session_scope(engine) as s:
        if fence is not None:
            fence(s)
        run = s.get(Run, run_id)
        assert run is not None
        target = repo.get_bot_target_by_id(session=s, bot_target_id=run.bot_target_id)
        pv = s.get(PromptVersion, run.prompt_version_id)
        assert pv is not None
        rows = repo_eval.run_conversations_with_snapshots(session=s, run_id=run_id)
        lines, counts = [], {"conversations": 0, "finished": 0, "failed": 0, "replies": 0,
                             "failed_replies": 0}
        for conv, snap in rows:
            turns = repo.list_turns(session=s, conversation_id=conv.id or 0)
            counts["conversations"] += 1
            counts["finished"] += conv.status == ConversationStatus.finished
            counts["failed"] += conv.status == ConversationStatus.failed
            counts["replies"] += sum(t.role == "assistant" and t.status == "ok" for t in turns)
            counts["failed_replies"] += sum(t.status == "failed" for t in turns)
            lines.append(json.dumps(_transcript_line(conv, snap, turns), ensure_ascii=False))
        previous = dict(run.manifest or {})
        all_errors = dict(previous.get("errors", {}))
        for k, v in errors.items():
            all_errors[k] = all_errors.get(k, 0) + v
        # Attempts are not stored per turn: the manifest sums them over the run's sessions.
        tallies = {k: previous.get(k, 0) + (tally or {}).get(k, 0)
                   for k in ("retries", "truncated_replies")}
        manifest = {
            "run_id": run_id, "workbench_version": __version__,
            "bot_target": {"name": target.name, "kind": str(target.kind),
                           "base_url": target.base_url, "model": target.model,
                           "parameters": target.parameters},
            "prompt_version": {"id": pv.id, "label": pv.label, "sha256": pv.sha256},
            "scenarios": {snap.scenario_id: snap.sha256 for _, snap in rows},
            "repeat": run.repeat, "concurrency": run.concurrency,
            "counts": counts, "errors": all_errors, **tallies,
            # A simulation's settings, written when it was made, stay with it (resume reads them).
            **({"simulation": previous["simulation"]} if "simulation" in previous else {}),
            "started_at": run.started_at.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "sessions": [*previous.get("sessions", []), {"duration_s": round(duration_s, 3)}],
        }
        run.manifest = manifest
        run.status = RunStatus.finished if counts["failed"] == 0 else RunStatus.failed
        run.finished_at = datetime.now(UTC)
        s.add(run)
    _atomic_write(out / "transcripts.jsonl", "\n".join(lines) + ("\n" if lines else ""))
    _atomic_write(out / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return RunSummary(run_id, out, counts["conversations"], counts["finished"], counts["failed"],
                      counts["replies"], all_errors, duration_s, **tallies)


def _transcript_line(conv: Conversation, snap: ScenarioSnapshot, turns: list[Turn]
                     ) -> dict[str, Any]:
    return {
        "conversation_id": conv.id, "scenario_id": snap.scenario_id,
        "scenario_sha256": snap.sha256, "repeat": conv.repeat_index, "status": str(conv.status),
        **({"stop": conv.meta["stop"]} if (conv.meta or {}).get("stop") else {}),
        "messages": [
            {"role": str(t.role), "content": t.content, "status": str(t.status),
             **({"error": t.error_kind} if t.error_kind else {}),
             **({"latency_ms": t.latency_total_ms, "model": t.model}
                if t.role == TurnRole.assistant and t.status == "ok" else {})}
            for t in turns
        ],
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
