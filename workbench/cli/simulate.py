"""CLI: `workbench simulate` — a simulated user plays scenarios against a bot target."""

from __future__ import annotations

import asyncio
import signal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.cli.jobs import BACKGROUND_HELP, submit
from workbench.domain.simulated_user import MAX_TURNS_LIMIT

app = typer.Typer()


@app.command("simulate")
def simulate(
    bot: str = typer.Option(None, help="Bot target under test."),
    user_model: str = typer.Option(
        None, "--user-model",
        help="Bot target that plays the user from the scenario's persona, situation and "
             "role-play guidance (default: the offline scripted user, no LLM)."),
    scenario: list[str] = typer.Option(None, help="Scenario id (repeatable; default: all)."),
    max_turns: int = typer.Option(8, "--max-turns", min=1, max=MAX_TURNS_LIMIT,
                                  help="At most this many user messages per conversation."),
    repeat: int = typer.Option(1, min=1, help="Play each scenario this many times."),
    concurrency: int = typer.Option(4, min=1, help="Requests in flight at once."),
    resume: str = typer.Option(None, help="Finish an interrupted simulation by its run id."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=common.SKIP_INVALID_HELP),
    background: bool = typer.Option(False, "--background", help=BACKGROUND_HELP),
) -> None:
    """Play scenarios with a simulated user until a stop rule fires (max turns, the persona's
    goal, a safety stop); stored as `simulated` conversations, never counted in the live
    figures. Prints the run id last (the job id with --background)."""
    from workbench.config import get_settings
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import (
        LeaseLost,
        RunBusy,
        SimulationSummary,
        WrongRunKind,
        create_simulation,
        execute_simulation,
    )

    s = get_settings()
    if resume is None and bot is None:
        common.fail("give --bot NAME (or --resume RUN_ID)", code=common.EXIT_USAGE)
    library = common.checked_library(skip_invalid=skip_invalid)
    engine = common.engine()
    if background:
        from workbench.services.jobs import enqueue_simulation

        return submit(enqueue_simulation, library=library, bot_name=bot, user_model=user_model,
                      scenario_ids=list(scenario or []), max_turns=max_turns, repeat=repeat,
                      concurrency=concurrency, resume=resume)
    try:
        run_id = resume or create_simulation(
            engine=engine, library=library, bot_name=bot, user_model=user_model,
            scenario_ids=list(scenario or []), max_turns=max_turns, repeat=repeat,
            concurrency=concurrency)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=False) as bar:
            task = bar.add_task(f"simulation {run_id}", total=None)

            def progress(_event: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            async def play() -> SimulationSummary:
                # SIGTERM stops it as Ctrl-C does, so the lease is released at once.
                current = asyncio.current_task()
                assert current is not None
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, current.cancel)
                return await execute_simulation(
                    engine=engine, run_id=run_id, runs_dir=s.runs_dir, progress=progress,
                    concurrency=concurrency if resume is None else None,
                    lease_s=s.run_lease_s)

            summary = asyncio.run(play())
    except NotFound as exc:
        common.not_found(exc)
    except WrongRunKind as exc:
        common.fail(str(exc), code=common.EXIT_USAGE)
    except (RunBusy, LeaseLost) as exc:  # another runner plays it
        common.fail(str(exc))
    except asyncio.CancelledError:
        common.fail(f"stopped; `workbench simulate --resume {run_id}` continues it")
    r = summary.run
    stops = ", ".join(f"{n} {why}" for why, n in sorted(summary.stops.items()))
    err.print(f"{r.finished}/{r.conversations} conversations finished ({stops}), "
              f"{r.replies} replies, {r.failed} failed {r.errors or ''} in "
              f"{r.duration_s:.1f} s → {r.out_dir}", highlight=False)
    typer.echo(r.run_id)
    if r.failed:
        common.fail(f"{r.failed} of {r.conversations} conversations failed; "
                    f"`workbench simulate --resume {r.run_id}` retries them")
