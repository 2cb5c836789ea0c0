"""CLI: the agreement table (`workbench agreement`) and participants (`workbench participant ...`:
withdraw consent, mark lead experts)."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from workbench.cli import _common as common
from workbench.cli._common import console, err

app = typer.Typer()

participant_app = typer.Typer(help="Participants: consent withdrawal and lead experts.",
                              no_args_is_help=True)
app.add_typer(participant_app, name="participant")




@app.command()
def agreement(
    training_day: int = typer.Option(None, "--training-day", help="Only this training day."),
    rubric_version: int = typer.Option(None, "--rubric-version", help="Only this rubric version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    n_boot: int = typer.Option(1000, "--boot", help="Bootstrap resamples for the 95% interval."),
) -> None:
    """Krippendorff's α per criterion: within experts, within the panel, and between them."""
    from workbench.domain.agreement import format_alpha
    from workbench.services.curation import agreement_report

    report = agreement_report(engine=common.engine(), training_day_id=training_day,
                              rubric_version_id=rubric_version, n_boot=n_boot)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    if not report.entries:
        err.print("no submitted ratings to compare yet")
        return
    table = Table(title=f"Agreement ({report.n_ratings} ratings of {report.n_replies} replies)")
    for column in ("scope", "rubric", "criterion", "α [95% CI]", "verdict", "items", "raters",
                   "% agree", "notes"):
        table.add_column(column, justify="right" if column in ("items", "raters", "% agree")
                         else "left")
    notes: list[str] = []
    for e in report.entries:
        r = e.result
        marks = []
        for warning in r.warnings:
            if warning not in notes:
                notes.append(warning)
            marks.append(str(notes.index(warning) + 1))
        table.add_row(e.scope, e.rubric, e.criterion, format_alpha(r), r.verdict,
                      str(r.n_items), str(r.n_raters),
                      "—" if r.percent_agreement is None else f"{r.percent_agreement:.0%}",
                      ",".join(marks))
    console.print(table)
    for i, note in enumerate(notes, 1):
        console.print(f"  {i}. {note}")
    console.print("α ≥ 0.800 reliable, ≥ 0.667 tentative (Krippendorff); 'between' compares the "
                  "groups' per-reply verdicts.")
    if report.excluded_withdrawn:
        console.print(f"{report.excluded_withdrawn} withdrawn rating(s) left out.")


@participant_app.command("withdraw")
def participant_withdraw(
    code: str,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Withdraw a participant's role-play text and ratings from curated sets and exports."""
    from workbench.services.curation import ParticipantError, withdraw_participant

    if not yes:
        typer.confirm(f"Withdraw everything {code} wrote and rated from reuse?", abort=True)
    try:
        r = withdraw_participant(engine=common.engine(), code=code, actor="cli")
    except ParticipantError as exc:
        if exc.key == "curation.errors.participant_not_found":
            common.fail(f"no participant with code {code!r}", code=common.EXIT_USAGE)
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    again = " (was already withdrawn; caught what was new)" if r.already_withdrawn else ""
    console.print(f"withdrawn {r.code}{again}: {r.turns} turn(s), {r.ratings} rating(s), "
                  f"{r.curated_examples} curated example(s); cleared "
                  f"{r.curated_ideal_replies + r.adjudication_ideal_replies} ideal reply(ies)")


@participant_app.command("lead")
def participant_lead(
    code: str,
    remove: bool = typer.Option(False, "--remove", help="Take the lead role away."),
) -> None:
    """Make an expert a lead expert, who may adjudicate and curate."""
    from workbench.services.curation import ParticipantError, set_lead

    try:
        row = set_lead(engine=common.engine(), code=code, lead=not remove, actor="cli")
    except ParticipantError as exc:
        err.print(f"[red]error:[/red] {exc.key} ({code})")
        raise typer.Exit(1) from exc
    console.print(f"{row.code}: {'lead expert' if row.is_lead else 'not a lead'}")
