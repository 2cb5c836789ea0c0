"""CLI: the version, the schema, demo data and starting the app (`workbench start`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from workbench.cli import _common as common
from workbench.cli._common import err
from workbench.jobs import redact, run_app_with_worker

app = typer.Typer()


@app.command()
def version() -> None:
    """Print the workbench version."""
    from workbench import __version__

    common.console.print(__version__)


@app.command()
def migrate() -> None:
    """Create or upgrade the database to the newest schema."""
    from workbench.services.context import schema_revision

    common.console.print(f"database at revision {schema_revision(common.engine())}")

APP_SCRIPT = Path(__file__).parent.parent / "ui" / "streamlit_app.py"
# The server: streamlit_app.py's pages plus the route that sets the staff session cookie.
APP_SERVER = "workbench.ui.asgi"


@app.command()
def demo(
    force: bool = typer.Option(False, help="Add demo data even when the database has data."),
) -> None:
    """Fill an empty database with a demo training day, runs, simulated ratings and what a
    lead expert makes of them (adjudications, curated examples, A/B judgements)."""
    from workbench.config import get_settings
    from workbench.services.demo import load_demo

    s = get_settings()
    summary = load_demo(engine=common.engine(), library=common.checked_library(skip_invalid=False),
                        runs_dir=s.runs_dir, only_if_empty=not force)
    if not summary.created:
        err.print("the database already holds data; no demo data added (use --force)")
        return
    err.print(f"demo data: training day {summary.training_day_id}, runs "
              f"{', '.join(summary.run_ids)}, {summary.replies} replies, "
              f"{summary.ratings} simulated ratings (all marked DEMO)")
    if summary.curation is not None:
        c = summary.curation
        err.print(f"curated: {c.examples} examples ({c.gold} gold, {c.accepted} accepted), "
                  f"{c.adjudications} adjudications, {summary.rewrites} rewrites, "
                  f"{c.pairwise} A/B judgements")


@app.command()
def start(
    port: int = typer.Option(8501, help="Port on 127.0.0.1."),
    no_demo: bool = typer.Option(False, help="Do not load demo data into an empty database."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=common.SKIP_INVALID_HELP),
) -> None:
    """Migrate, load demo data when the database is empty, and start the app on 127.0.0.1 with
    one worker for the jobs (on the embedded queue unless WORKBENCH_QUEUE_URL says otherwise)."""
    from workbench.config import get_settings
    from workbench.services.demo import ensure_demo_accounts, is_empty, load_demo

    s = get_settings()
    library = common.checked_library(skip_invalid=skip_invalid)  # before anything is written
    engine = common.engine()  # migrates
    if not no_demo and is_empty(engine=engine):
        err.print("empty database: loading demo data (about half a minute)…")
        load_demo(engine=engine, library=library, runs_dir=s.runs_dir)

    for line in ensure_demo_accounts(engine=engine):
        err.print(line)
    cmd = [sys.executable, "-m", APP_SERVER,
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    err.print(f"workbench on http://127.0.0.1:{port}")
    env = {**os.environ, "RAGAS_DO_NOT_TRACK": "true"}
    # From the project root, so .streamlit/config.toml (theme, no deploy toolbar) applies.
    from workbench.config import PROJECT_ROOT

    cwd = PROJECT_ROOT if (PROJECT_ROOT / ".streamlit").is_dir() else None
    err.print(f"one worker on the queue {redact(s.resolved_queue_url())}", highlight=False)
    raise typer.Exit(run_app_with_worker(cmd, env=env, cwd=cwd))
