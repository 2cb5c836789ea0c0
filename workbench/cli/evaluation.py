"""CLI: automatic evaluation — the rubric judge, ragas metrics and the regression gate."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from workbench.cli import _common as common
from workbench.cli._common import console, err
from workbench.cli.jobs import BACKGROUND_HELP, submit

app = typer.Typer()






def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@app.command()
def judge(
    run_id: str,
    judge_name: str = typer.Option(..., "--judge", help="Name of the judge's bot target."),
    concurrency: int = typer.Option(8, help="Judge requests in flight at once."),
    retries: int = typer.Option(2, help="Times an invalid answer is asked again."),
    json_mode: bool = typer.Option(False, help="Ask for response_format json_object (only if "
                                               "the judge's server supports it)."),
    json_schema: str = typer.Option(None, help="Constrain each answer to its rubric's JSON "
                                               "schema, in the form the server takes: openai "
                                               "(OpenAI, vLLM) or llama-cpp."),
    background: bool = typer.Option(False, "--background", help=BACKGROUND_HELP),
) -> None:
    """Score every reply of a run with the rubric judge (skips replies it already scored)."""
    from workbench.bots import BotError
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import SCHEMA_FORMS, JudgeSetupError, judge_run

    if json_schema is not None and json_schema not in SCHEMA_FORMS:
        common.fail(f"--json-schema must be one of: {', '.join(SCHEMA_FORMS)}",
                    code=common.EXIT_USAGE)
    if background:
        from workbench.services.jobs import enqueue_judge

        return submit(enqueue_judge, run_id=run_id, judge=judge_name, concurrency=concurrency,
                      retries=retries, json_mode=json_mode, json_schema=json_schema)
    try:
        summary = judge_run(common.engine(), run_id, judge_name, concurrency, retries=retries,
                            json_mode=json_mode, json_schema=json_schema)
    except (NotFound, JudgeSetupError) as exc:
        common.not_found(exc)
    except BotError as exc:
        common.fail(str(exc))
    console.print(f"judge '{summary.judge}': {summary.judged} scored, {summary.skipped} "
                  f"already scored, {summary.failed} failed of {summary.total} replies "
                  f"in {summary.duration_s:.1f} s")
    if summary.failure_kinds:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(summary.failure_kinds.items()))
        err.print(f"judge failures (recorded, not scored): {kinds}")


@app.command()
def metrics(
    run_id: str,
    judge_name: str = typer.Option(None, "--judge", help="Judge target for the ragas LLM "
                                                         "metrics; without it nothing is sent."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    background: bool = typer.Option(False, "--background", help=BACKGROUND_HELP),
) -> None:
    """ragas metrics of a run: string metrics against gold references, LLM metrics with --judge."""
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import run_metrics

    if background:
        from workbench.services.jobs import enqueue_metrics

        return submit(enqueue_metrics, run_id=run_id, judge=judge_name)

    try:
        result = run_metrics(common.engine(), run_id, judge_target_name=judge_name)
    except (NotFound, ValueError) as exc:
        common.not_found(exc)
    means = result.means()
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, "judge": judge_name, "replies": len(
            result.replies), "means": {k: {"mean": m, "n": n} for k, (m, n) in means.items()},
            "errors": result.errors}, indent=2))
        return
    table = Table("metric", "mean", "replies")
    for name, (mean, n) in means.items():
        table.add_row(name, _fmt(mean), str(n))
    console.print(table)
    with_ref = sum(r.reference_source is not None for r in result.replies)
    err.print(f"{len(result.replies)} replies, {with_ref} with a gold reference")
    for e in result.errors[:10]:
        err.print(f"[yellow]{e}[/yellow]")


@app.command()
def compare(
    run_a: str,
    run_b: str,
    fail_on_regression: bool = typer.Option(False, help="Exit 1 when the expectation pass "
                                                        "rate or a trusted critical criterion "
                                                        "gets worse beyond the CI."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    judge_name: str = typer.Option(None, "--judge", help="Judge whose scores to compare "
                                                         "(default: the one that rated both)."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    min_kappa: float = typer.Option(0.6, help="Trust a judge criterion from this kappa up."),
) -> None:
    """Compare run B against run A per measure, with a paired bootstrap 95% CI of B − A."""
    from workbench.services.errors import NotFound
    from workbench.services.evaluation import TrustThresholds, compare_runs

    try:
        result = compare_runs(engine=common.engine(), run_a=run_a, run_b=run_b, judge=judge_name,
                              seed=seed, thresholds=TrustThresholds(min_kappa=min_kappa))
    except NotFound as exc:
        common.not_found(exc)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2))
    else:
        table = Table("measure", "gate", "n", "A", "B", "B − A", "95% CI", "")
        for r in result.rows:
            ci = "–" if r.ci_low is None else f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
            flag = "[red]REGRESSION[/red]" if r.regression else ("worse" if r.worse else "")
            table.add_row(r.measure, "yes" if r.gate else "", str(r.n), _fmt(r.mean_a),
                          _fmt(r.mean_b), "–" if r.diff is None else f"{r.diff:+.3f}", ci, flag)
        console.print(table)
        err.print(f"{result.paired_conversations} paired conversations, "
                  f"{result.paired_replies} paired replies"
                  + (f"; judge '{result.judge}' trusted on {', '.join(result.trusted) or 'none'}"
                     if result.judge else ""))
        for note in result.notes:
            err.print(f"note: {note}")
    if fail_on_regression and result.regressed:
        err.print("[red]regression: B is worse than A beyond the confidence interval[/red]")
        raise typer.Exit(1)
