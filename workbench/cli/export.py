"""CLI: `workbench export` (training and evaluation files) and `workbench scrub` (the PII
scrubber as a line filter). Thin: parse, call the service, print."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.cli.jobs import BACKGROUND_HELP, submit
from workbench.domain.export_formats import ExportFormat

app = typer.Typer()




@app.command("export")
def export_cmd(
    format: Annotated[ExportFormat, typer.Option(
        "--format", help="openai-sft | openai-dpo | trl-sft | trl-dpo | fewshot | eval-set | "
        "table")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) folder to write.")],
    training_day: int = typer.Option(None, help="Only this training day (id)."),
    state: Annotated[list[str] | None, typer.Option(
        help="Curation state (repeatable; default gold and accepted; for `table` default: "
        "every rating).")] = None,
    scenario: Annotated[list[str] | None, typer.Option(
        help="Scenario id (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        help="Form of violence or curator tag (repeatable).")] = None,
    risk: Annotated[list[str] | None, typer.Option(help="Risk level (repeatable).")] = None,
    rubric_version: int = typer.Option(None, help="Only this rubric version (id)."),
    min_score: float = typer.Option(None, help="Minimum overall score (1-5)."),
    include_no_consent: bool = typer.Option(False, help="Also role-play text without the "
                                            "player's consent (off by default)."),
    allow_residual: bool = typer.Option(False, help="Write even if PII remains after "
                                        "scrubbing (recorded in the audit log)."),
    seed: int = typer.Option(13, help="Seed of the train/validation split."),
    validation: float = typer.Option(0.1, help="Share of records for validation (by scenario)."),
    reject_below: float = typer.Option(4.0, help="DPO: bot replies scored below this are "
                                       "the rejected side."),
    no_pairwise: bool = typer.Option(False, help="DPO: leave out pairs from A/B judgements."),
    per_tag: int = typer.Option(2, help="fewshot: examples per scenario tag."),
    token_budget: int = typer.Option(1500, help="fewshot: token budget of the snippet."),
    exported_at: Annotated[datetime | None, typer.Option(
        help="Time to record in the manifest (default now; fix it to rebuild a manifest "
        "byte for byte).")] = None,
    workers: int = typer.Option(None, help="Scrub processes (default: automatic)."),
    actor: str = typer.Option(None, help="Who exports (default cli:<login name>)."),
    background: bool = typer.Option(False, "--background", help=BACKGROUND_HELP),
) -> None:
    """Write a scrubbed export with manifest.json; prints the folder last."""
    from workbench.services.export import (
        ExportFilters,
        ExportOptions,
        ExportTargetError,
        ResidualPIIError,
        write_export,
    )

    filters = ExportFilters(
        training_day_id=training_day, states=tuple(state) if state else None,
        scenario_ids=tuple(scenario or ()), tags=tuple(tag or ()), risk_levels=tuple(risk or ()),
        rubric_version_id=rubric_version, min_score=min_score,
        consent_only=not include_no_consent)
    options = ExportOptions(
        format=format, filters=filters, validation_fraction=validation, seed=seed,
        reject_below=reject_below, include_pairwise=not no_pairwise, fewshot_per_tag=per_tag,
        fewshot_token_budget=token_budget, allow_residual=allow_residual,
        exported_at=exported_at, workers=workers)
    if background:
        from workbench.services.jobs import enqueue_export

        return submit(enqueue_export, options=options, out_dir=out,
                      created_by=actor or f"cli:{getpass.getuser()}")
    try:
        result = write_export(engine=common.engine(), options=options, out_dir=out,
                        actor=actor or f"cli:{getpass.getuser()}")
    except ResidualPIIError as exc:
        err.print(f"[red]stopped:[/red] {exc}", markup=True, highlight=False)
        err.print("check the scrubber, or pass --allow-residual to write anyway (audited)")
        raise typer.Exit(1) from None
    except (ExportTargetError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    m = result.manifest
    split = m.get("split") or {}
    err.print(f"{m['format']}: {m['counts'].get('records', 0)} record(s)"
              + (f" (train {split['train']}, validation {split['validation']})" if split else "")
              + f"; scrubbed {sum(m['scrubber']['findings'].values())} finding(s)"
              + (f"; [yellow]{m['residual']['count']} residual allowed[/yellow]"
                 if result.residuals else ""))
    typer.echo(str(result.out_dir))


@app.command("scrub")
def scrub_cmd(
    jsonl: bool = typer.Option(False, "--jsonl", help='Read {"text": ...} lines; write them '
                               "scrubbed with findings (type, start, end)."),
    conversation: bool = typer.Option(False, help="Treat all lines as one conversation "
                                      "(shared placeholder numbers)."),
) -> None:
    """Scrub stdin, one text per line, to stdout, one line per input line in the same order."""
    from workbench.domain.privacy import ScrubContext, get_scrubber

    scrubber = get_scrubber()
    shared = ScrubContext()
    contexts: dict[str, ScrubContext] = {}
    for n, raw in enumerate(sys.stdin, start=1):
        line = raw.rstrip("\r\n") if raw.endswith("\n") else raw
        if not jsonl:
            ctx = shared if conversation else ScrubContext()
            sys.stdout.write(scrubber.scrub(line, context=ctx).text + "\n")
            sys.stdout.flush()
            continue
        if not line.strip():
            sys.stdout.write("\n")
            continue
        obj = _json_text(line, n)
        group = obj.get("conversation")
        ctx = shared if conversation else (
            contexts.setdefault(str(group), ScrubContext()) if group is not None
            else ScrubContext())
        result = scrubber.scrub(obj["text"], context=ctx)
        # Spans refer to the input text; the found text itself is never echoed.
        obj = {**obj, "text": result.text, "findings": [
            {"type": f.type, "start": f.start, "end": f.end} for f in result.findings]}
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def _json_text(line: str, n: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        err.print(f"line {n}: not JSON ({exc.msg})")
        raise typer.Exit(1) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        err.print(f'line {n}: expected an object with a "text" string')
        raise typer.Exit(1)
    return obj
