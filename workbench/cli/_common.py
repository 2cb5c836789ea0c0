"""What every command group shares: the consoles, the engine, the library and one way to fail.

Exit codes, the same for every command:
- 0: done;
- 1: the work ran and failed, or a check failed: a problem in the library, a run with failed
  conversations, a regression found by `compare --fail-on-regression`, residual personal
  data in an export, a difference found by `check-stats`, a request a rule refused;
- 2: the command could not do what was asked: typer's usage errors, an option value outside
  its choices, or a run, bot, judge, training day or participant that does not exist. So a
  script can tell "it regressed" (1) from "it was misconfigured" (2).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    import sqlalchemy as sa

    from workbench.domain.library import Library

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Piped output (scripts, tests) would be cut at 80 columns; tables stay whole there.
console = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

SKIP_INVALID_HELP = "Leave out library files with problems (each is named) instead of refusing."


def engine() -> sa.Engine:
    """The migrated engine of the configured database (one per process)."""
    from workbench.config import get_settings
    from workbench.services.context import get_engine

    return get_engine(get_settings())


def fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    """Print `error: message` on stderr and exit (1 by default; 2 for a usage problem)."""
    err.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def not_found(exc: Exception) -> NoReturn:
    """Something named on the command line does not exist: a usage error (exit 2)."""
    fail(str(exc), code=EXIT_USAGE)


def checked_library(*, skip_invalid: bool) -> Library:
    """The configured library for `run` and `start`: one with problems is refused (exit 1)
    unless `skip_invalid`, and then every file left out is named."""
    from workbench.config import get_settings
    from workbench.services.context import load_shipped_library

    lib = load_shipped_library(get_settings())
    for note in lib.notes:
        typer.echo(note, err=True)
    if lib.ok:
        return lib
    for problem in lib.problems:  # plain echo: rich would read `[0]` in a field as markup
        typer.echo(str(problem), err=True)
    if not skip_invalid:
        typer.echo(f"error: the library has {len(lib.problems)} problem(s) in "
                   f"{len(lib.skipped)} file(s); fix them (workbench validate) or pass "
                   "--skip-invalid to leave those files out", err=True)
        raise typer.Exit(EXIT_FAILED)
    for path in lib.skipped:
        typer.echo(f"skipped: {path}", err=True)
    typer.echo(f"--skip-invalid: {len(lib.skipped)} file(s) left out; {len(lib.scenarios)} "
               f"scenario(s) and {len(lib.rubrics)} rubric(s) in use", err=True)
    return lib
