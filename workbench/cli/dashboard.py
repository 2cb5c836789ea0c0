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
    from workbench.services.dashboard import REPORT_LANGUAGES, write_report

    if language not in REPORT_LANGUAGES:
        common.fail(f"--language must be one of: {', '.join(REPORT_LANGUAGES)}",
                    code=common.EXIT_USAGE)
    if background:
        from workbench.services.jobs import enqueue_report

        return submit(enqueue_report, out=out, training_day_id=training_day, language=language)
    try:
        result = write_report(common.engine(), out, training_day_id=training_day,
                              lang=language)
    except LookupError as exc:
        common.not_found(exc)
    err.print(f"report: {result.path} ({result.replies} scored replies; newest prompt version: "
              f"{result.verdict})")
    typer.echo(str(result.path))


@app.command("rebuild-stats")
def rebuild_stats() -> None:
    """Recompute the dashboard's stored statistics from the ratings (database triggers keep
    them current for every write; this is for a restore that ran with triggers disabled)."""
    from workbench.services.dashboard import rebuild_statistics

    replies = rebuild_statistics(common.engine())
    err.print(f"rebuild-stats: stored statistics recomputed for {replies} scored replies")


@app.command("check-stats")
def check_stats(
    limit: int = typer.Option(50, min=1, help="Differences to print at most."),
) -> None:
    """Compare the dashboard's stored statistics with a recomputation from the ratings; exit 1
    and list the differences when they disagree."""
    from workbench.services.dashboard import check_statistics

    found = check_statistics(common.engine(), limit=max(limit, 1000))
    if not found:
        err.print("check-stats: the stored statistics equal a recomputation from the ratings")
        return
    for difference in found[:limit]:
        typer.echo(str(difference))
    common.fail(f"{len(found)}{'+' if len(found) >= 1000 else ''} difference(s) between the "
                "stored statistics and the ratings; `workbench rebuild-stats` recomputes them")
