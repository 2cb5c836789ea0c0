"""CLI: check the scenario and rubric library (`workbench validate`)."""

from __future__ import annotations

from pathlib import Path

import typer

from workbench.cli._common import EXIT_FAILED, err

app = typer.Typer()


@app.command()
def validate(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the library)."),
) -> None:
    """Check scenario and rubric YAML files; print `path:line: field: message` per problem."""
    from workbench.config import get_settings
    from workbench.domain.library import load_library

    s = get_settings()
    targets = list(paths) if paths else [s.scenarios_dir, s.rubrics_dir]
    lib = load_library(targets, reference_rubrics=[] if not paths else [s.rubrics_dir])
    for note in lib.notes:
        typer.echo(note, err=True)
    for problem in lib.problems:
        typer.echo(str(problem))
    if lib.problems:
        err.print(f"{len(lib.problems)} problem(s)")
        raise typer.Exit(EXIT_FAILED)
    err.print(f"ok: {len(lib.scenarios)} scenario(s), {len(lib.rubrics)} rubric(s)")
