"""CLI: bot targets (`workbench bot ...`), the reference bot server, runs and replay imports."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from workbench.cli import _common as common
from workbench.cli._common import console, err
from workbench.domain.enums import BotKind

app = typer.Typer()

bot_app = typer.Typer(help="Bot targets and their prompt versions.", no_args_is_help=True)
app.add_typer(bot_app, name="bot")






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
        view = add_target(engine=common.engine(), name=name, kind=kind, base_url=base_url,
                          model=model,
                          prompt=prompt_file.read_text(encoding="utf-8"),
                          label=label or prompt_file.stem, api_key_env=api_key_env,
                          parameters=params)
    except BotSetupError as exc:
        common.fail(str(exc))
    console.print(f"added bot target '{view.name}' ({view.kind}), prompt "
                  f"'{view.prompt_label}' {view.prompt_sha[:12] if view.prompt_sha else ''}")


@bot_app.command("list")
def bot_list() -> None:
    """List bot targets with their current prompt version."""
    from workbench.services.targets import list_targets

    table = Table("name", "kind", "model", "base_url", "api key env", "prompt", "sha256",
                  "versions")
    for v in list_targets(engine=common.engine()):
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
        view = set_target_prompt(engine=common.engine(), name=name,
                                 prompt=prompt_file.read_text(encoding="utf-8"), label=label)
    except NotFound as exc:
        common.not_found(exc)
    console.print(f"'{view.name}' now uses prompt '{view.prompt_label}' "
                  f"{(view.prompt_sha or '')[:12]}")


@app.command("serve-bot")
def serve_bot(port: int = typer.Option(8765, help="Port on 127.0.0.1.")) -> None:
    """Serve the offline reference bot over the OpenAI protocol on 127.0.0.1."""
    from workbench.bots.server import run_reference_server

    err.print(f"reference bot on http://127.0.0.1:{port}/v1 (Ctrl-C stops)")
    run_reference_server(port)


