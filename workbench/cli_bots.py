"""CLI: bot targets (`workbench bot ...`), the reference bot server, runs and replay imports."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from workbench.cli import app, console, err
from workbench.domain.enums import BotKind

bot_app = typer.Typer(help="Bot targets and their prompt versions.", no_args_is_help=True)
import_app = typer.Typer(help="Import production logs for scoring.", no_args_is_help=True)
app.add_typer(bot_app, name="bot")
app.add_typer(import_app, name="import")


def _engine():  # type: ignore[no-untyped-def]
    from workbench.config import get_settings
    from workbench.services.context import get_engine

    return get_engine(get_settings())


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(1)


@bot_app.command("add")
def bot_add(
    name: str,
    kind: BotKind = typer.Option(BotKind.openai, help="reference | openai | replay"),
    base_url: str = typer.Option(None, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1"),
    model: str = typer.Option(None, help="Model name the server expects."),
    prompt_file: Path = typer.Option(..., exists=True, dir_okay=False, help="System prompt file."),
    label: str = typer.Option(None, help="Label of this prompt version (default: file name)."),
    api_key_env: str = typer.Option(None, help="Name of the env var holding the API key."),
    temperature: float = typer.Option(None, help="Sampling temperature, if the bot takes one."),
    max_tokens: int = typer.Option(None, help="Reply length cap in tokens."),
) -> None:
    """Add a bot target with its first system prompt."""
    from workbench.services.targets import BotSetupError, add_target

    params = {k: v for k, v in {"temperature": temperature, "max_tokens": max_tokens}.items()
              if v is not None}
    try:
        view = add_target(engine=_engine(), name=name, kind=kind, base_url=base_url, model=model,
                          prompt=prompt_file.read_text(encoding="utf-8"),
                          label=label or prompt_file.stem, api_key_env=api_key_env,
                          parameters=params)
    except BotSetupError as exc:
        _fail(str(exc))
    console.print(f"added bot target '{view.name}' ({view.kind}), prompt "
                  f"'{view.prompt_label}' {view.prompt_sha[:12] if view.prompt_sha else ''}")


@bot_app.command("list")
def bot_list() -> None:
    """List bot targets with their current prompt version."""
    from workbench.services.targets import list_targets

    table = Table("name", "kind", "model", "base_url", "api key env", "prompt", "sha256",
                  "versions")
    for v in list_targets(engine=_engine()):
        table.add_row(v.name, v.kind, v.model or "", v.base_url or "", v.api_key_env or "",
                      v.prompt_label or "", (v.prompt_sha or "")[:12], str(v.n_prompt_versions))
    console.print(table)


@bot_app.command("set-prompt")
def bot_set_prompt(
    name: str,
    prompt_file: Path = typer.Option(..., exists=True, dir_okay=False),
    label: str = typer.Option(..., help="Human label of the new prompt version."),
) -> None:
    """Give a bot target a new system prompt (a new prompt version when the text is new)."""
    from workbench.services.errors import NotFound
    from workbench.services.targets import set_target_prompt

    try:
        view = set_target_prompt(engine=_engine(), name=name,
                                 prompt=prompt_file.read_text(encoding="utf-8"), label=label)
    except NotFound as exc:
        _fail(str(exc))
    console.print(f"'{view.name}' now uses prompt '{view.prompt_label}' "
                  f"{(view.prompt_sha or '')[:12]}")


@app.command("serve-bot")
def serve_bot(port: int = typer.Option(8765, help="Port on 127.0.0.1.")) -> None:
    """Serve the offline reference bot over the OpenAI protocol on 127.0.0.1."""
    from workbench.bots.server import run_reference_server

    err.print(f"reference bot on http://127.0.0.1:{port}/v1 (Ctrl-C stops)")
    run_reference_server(port)


@app.command("run")
def run(
    bot: str = typer.Option(None, help="Bot target name."),
    scenario: list[str] = typer.Option(None, help="Scenario id (repeatable; default: all)."),
    concurrency: int = typer.Option(8, min=1, help="Bot requests in flight at once."),
    repeat: int = typer.Option(1, min=1, help="Play each scenario this many times."),
    resume: str = typer.Option(None, help="Finish an interrupted run by its id."),
) -> None:
    """Play every scripted scenario against a bot; prints the run id last."""
    from workbench.config import get_settings
    from workbench.services.context import load_shipped_library
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import create_run, execute_run

    s = get_settings()
    library = load_shipped_library(s)
    engine = _engine()
    if resume is None and bot is None:
        _fail("give --bot NAME (or --resume RUN_ID)")
    try:
        run_id = resume or create_run(engine=engine, library=library, bot_name=bot,
                                      scenario_ids=list(scenario or []), repeat=repeat,
                                      concurrency=concurrency)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=False) as bar:
            task = bar.add_task(f"run {run_id}", total=None)

            def progress(_event: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = asyncio.run(execute_run(
                engine=engine, run_id=run_id, library=library, runs_dir=s.runs_dir,
                progress=progress, concurrency=concurrency if resume is None else None))
    except NotFound as exc:
        _fail(str(exc))
    err.print(f"{summary.finished}/{summary.conversations} conversations finished, "
              f"{summary.replies} replies ({summary.retries} retries, "
              f"{summary.truncated_replies} cut off at max_tokens), {summary.failed} failed "
              f"{summary.errors or ''} in {summary.duration_s:.1f} s → {summary.out_dir}")
    typer.echo(summary.run_id)
    if summary.failed:
        err.print(f"[red]error:[/red] {summary.failed} of {summary.conversations} conversations "
                  f"failed; `workbench run --resume {summary.run_id}` retries them")
        raise typer.Exit(1)


@import_app.command("transcripts")
def import_transcripts(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help=".jsonl or .csv"),
    target: str = typer.Option("replay", help="Replay bot target to file them under."),
) -> None:
    """Import production transcripts (JSONL messages or CSV conversation_id,turn,role,content)."""
    from workbench.services.evaluation import import_transcripts as do_import

    report = do_import(engine=_engine(), path=file, target_name=target)
    for problem in report.problems:
        typer.echo(f"{file}:{problem.removeprefix('line ')}")
    err.print(f"imported {report.conversations} conversation(s), {report.turns} turn(s); "
              f"{len(report.problems)} problem row(s)")
    if report.problems and not report.conversations:
        raise typer.Exit(1)
