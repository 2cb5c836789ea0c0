"""CLI: the static readiness report for a board meeting (one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.cli.jobs import BACKGROUND_HELP, submit

app = typer.Typer()


@app.command()
def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    training_day: Annotated[int | None, typer.Option(
        "--training-day", help="Only this training day (default: all data).")] = None,
    language: Annotated[str, typer.Option("--language", help="nl (default) or en.")] = "nl",
    background: Annotated[bool, typer.Option("--background", help=BACKGROUND_HELP)] = False,
) -> None:
    """Write the dashboard figures and the readiness verdict as one offline HTML file."""
    from workbench.config import get_settings
    from workbench.services.context import get_engine
    from workbench.services.dashboard import REPORT_LANGUAGES, write_report

    if language not in REPORT_LANGUAGES:
        common.fail(f"--language must be one of: {', '.join(REPORT_LANGUAGES)}",
                    code=common.EXIT_USAGE)
    if background:
        from workbench.services.jobs import enqueue_report

        return submit(enqueue_report, out=out, training_day_id=training_day, language=language)
    try:
        result = write_report(get_engine(get_settings()), out, training_day_id=training_day,
                              lang=language)
    except LookupError as exc:
        common.not_found(exc)
    err.print(f"report: {result.path} ({result.replies} scored replies; newest prompt version: "
              f"{result.verdict})")
    typer.echo(str(result.path))


@app.command("rebuild-stats")
def rebuild_stats() -> None:
    """Recompute the dashboard's stored statistics from the ratings (after a restore or a bulk
    load that bypassed the workbench; its own writes keep them current)."""
    from workbench.config import get_settings
    from workbench.services.context import get_engine
    from workbench.services.dashboard import rebuild_statistics

    replies = rebuild_statistics(get_engine(get_settings()))
    err.print(f"rebuild-stats: stored statistics recomputed for {replies} scored replies")
