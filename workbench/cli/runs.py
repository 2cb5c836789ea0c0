"""CLI: bot targets (`workbench bot ...`), the reference bot server, runs and replay imports."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.cli.jobs import BACKGROUND_HELP, submit

app = typer.Typer()

import_app = typer.Typer(help="Import production logs for scoring.", no_args_is_help=True)
app.add_typer(import_app, name="import")

@app.command("run")
def run(
    bot: str = typer.Option(None, help="Bot target name."),
    scenario: list[str] = typer.Option(None, help="Scenario id (repeatable; default: all)."),
    concurrency: int = typer.Option(8, min=1, help="Bot requests in flight at once."),
    repeat: int = typer.Option(1, min=1, help="Play each scenario this many times."),
    resume: str = typer.Option(None, help="Finish an interrupted run by its id."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=common.SKIP_INVALID_HELP),
    background: bool = typer.Option(False, "--background", help=BACKGROUND_HELP),
) -> None:
    """Play every scripted scenario against a bot; prints the run id last (the job id with
    --background)."""
    from workbench.config import get_settings
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import (
        LeaseLost,
        RunBusy,
        RunSummary,
        WrongRunKind,
        create_run,
        execute_run,
    )

    s = get_settings()
    library = common.checked_library(skip_invalid=skip_invalid)
    engine = common.engine()
    if resume is None and bot is None:
        common.fail("give --bot NAME (or --resume RUN_ID)", code=common.EXIT_USAGE)
    if background:
        from workbench.services.jobs import enqueue_run

        return submit(enqueue_run, library=library, bot_name=bot, scenario_ids=list(
            scenario or []), repeat=repeat, concurrency=concurrency, resume=resume)
    try:
        run_id = resume or create_run(engine=engine, library=library, bot_name=bot,
                                      scenario_ids=list(scenario or []), repeat=repeat,
                                      concurrency=concurrency)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=False) as bar:
            task = bar.add_task(f"run {run_id}", total=None)

            def progress(_event: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            async def play() -> RunSummary:
                # SIGTERM (kill, systemd, docker stop) stops the run as Ctrl-C does, so its
                # lease is released at once instead of blocking a resume until it expires.
                task = asyncio.current_task()
                assert task is not None
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
                return await execute_run(
                    engine=engine, run_id=run_id, library=library, runs_dir=s.runs_dir,
                    progress=progress, concurrency=concurrency if resume is None else None,
                    lease_s=s.run_lease_s)

            summary = asyncio.run(play())
    except NotFound as exc:
        common.not_found(exc)
    except (RunBusy, LeaseLost) as exc:  # another runner plays the run
        common.fail(str(exc))
    except WrongRunKind as exc:  # a simulation: `workbench simulate --resume` plays it
        common.fail(str(exc), code=common.EXIT_USAGE)
    except asyncio.CancelledError:
        common.fail(f"stopped; `workbench run --resume {run_id}` continues the run")
    err.print(f"{summary.finished}/{summary.conversations} conversations finished, "
              f"{summary.replies} replies ({summary.retries} retries, "
              f"{summary.truncated_replies} cut off at max_tokens), {summary.failed} failed "
              f"{summary.errors or ''} in {summary.duration_s:.1f} s → {summary.out_dir}")
    typer.echo(summary.run_id)
    if summary.failed:
        common.fail(f"{summary.failed} of {summary.conversations} conversations failed; "
                    f"`workbench run --resume {summary.run_id}` retries them")


@import_app.command("transcripts")
def import_transcripts(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".jsonl or .csv"),
    target: str = typer.Option("replay", help="Replay bot target to file them under."),
    already_deidentified: bool = typer.Option(
        False, "--already-deidentified",
        help="Store the text as it is, without scrubbing personal data: only for a file that "
             "is de-identified already (the choice is audited)."),
    actor: str = typer.Option(None, help="Who imports, for the audit trail "
                                         "(default cli:<login name>)."),
) -> None:
    """Import production transcripts (JSONL messages or CSV conversation_id,turn,role,content),
    scrubbed of personal data; a conversation imported before is skipped."""
    import getpass

    from workbench.services.evaluation import import_transcripts as do_import

    try:
        report = do_import(engine=common.engine(), path=file, target_name=target,
                           scrub=not already_deidentified,
                           actor=actor or f"cli:{getpass.getuser()}")
    except ValueError as exc:  # e.g. the target exists and is not a replay target
        common.fail(str(exc), code=common.EXIT_USAGE)
    for problem in report.problems:
        typer.echo(f"{file}:{problem.removeprefix('line ')}")
    if report.scrubbed:
        found = ", ".join(f"{n} {kind}" for kind, n in sorted(report.findings.items()))
        scrubbing = f"scrubbed ({found or 'no personal data found'})"
    else:
        scrubbing = "NOT scrubbed (--already-deidentified; audited)"
    # One plain line (rich would wrap it), for people and for scripts alike.
    typer.echo(f"imported {report.conversations} conversation(s), {report.turns} turn(s), "
               f"{scrubbing}; {report.already_imported} already imported; "
               f"{len(report.problems)} problem(s)", err=True)
    if report.problems and not (report.conversations or report.already_imported):
        raise typer.Exit(common.EXIT_FAILED)
