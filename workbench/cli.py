"""The `workbench` command: a thin typer shell over the services."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.console import Console

from workbench import __version__

os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")

app = typer.Typer(
    name="workbench", help="Make a helpline chatbot better with the people who know it best.",
    no_args_is_help=True, add_completion=False,
)
# Piped output (scripts, tests) would be cut at 80 columns; tables stay whole there.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


@app.command()
def version() -> None:
    """Print the workbench version."""
    console.print(__version__)


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
    for problem in lib.problems:
        typer.echo(str(problem))
    if lib.problems:
        err.print(f"{len(lib.problems)} problem(s)")
        raise typer.Exit(1)
    err.print(f"ok: {len(lib.scenarios)} scenario(s), {len(lib.rubrics)} rubric(s)")


@app.command()
def migrate() -> None:
    """Create or upgrade the database to the newest schema."""
    from workbench.config import get_settings
    from workbench.services.context import get_engine
    from workbench.storage.db import current_revision

    engine = get_engine(get_settings())
    console.print(f"database at revision {current_revision(engine)}")


def main() -> None:
    from workbench import cli_commands  # noqa: F401  (registers the other command groups)

    app()
