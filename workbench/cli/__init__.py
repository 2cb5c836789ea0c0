"""The `workbench` command: a thin typer shell over the services.

One module per command group; each holds a typer app with its commands, merged into the main
app here by name. Nothing registers itself on import. Exit codes are the same for every
command (`_common`: 0 done, 1 the work or a check failed, 2 used wrongly).
"""

from __future__ import annotations

import os

import typer

from workbench.cli import (
    accounts,
    bots,
    curation,
    dashboard,
    evaluation,
    export,
    jobs,
    library,
    runs,
    simulate,
    start,
)

__all__ = ["app", "main"]

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

app = typer.Typer(
    name="workbench", help="Make a helpline chatbot better with the people who know it best.",
    no_args_is_help=True, add_completion=False,
)
for group in (start, library, bots, runs, evaluation, export, curation, accounts,
              dashboard, jobs):
    app.add_typer(group.app)
app.add_typer(simulate.app)  # workbench simulate


def main() -> None:
    app()
