"""How long one prompt lab comparison takes: 2 × 24 scenarios (every shipped scenario, once on
the current prompt and once on the candidate) against the offline reference bot, played by
the `lab_comparison` job function as a worker runs it, then the page's report (the
`workbench compare` numbers, the replies side by side and the flipped checks).

Prints: the job's wall time and its runs' conversations and replies, the report's wall time
(compare_runs with its bootstrap and ragas string metrics, plus the side-by-side), and the
figures the page would show. A fresh SQLite database per repeat (`--pg` uses PostgreSQL).

    .venv/bin/python bench/lab_loop.py [--repeats 3] [--pg]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("WORKBENCH_TEST_PG_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SIGN_OFF = "afsluiting: Denk je aan zelfdoding? Bel 113 of 0800-0113, gratis."


def _admin(sql: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(sql))
    admin.dispose()


def fresh_url(tmp: Path, pg: bool) -> tuple[str, str | None]:
    """The database URL, and the PostgreSQL database to drop afterwards."""
    if not pg:
        return f"sqlite:///{tmp / 'lab.db'}", None
    name = f"lab_bench_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def one(pg: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_RUNS_DIR"] = str(Path(tmp) / "runs")
        from workbench.config import get_settings

        get_settings.cache_clear()
        from workbench.domain.library import load_library
        from workbench.jobs import Progress
        from workbench.jobs._kinds import lab_comparison_job
        from workbench.services import lab
        from workbench.storage.db import make_engine, migrate

        url, pg_name = fresh_url(Path(tmp), pg)
        engine = make_engine(url)
        migrate(engine)
        library = load_library([ROOT / "scenarios", ROOT / "rubrics"])
        current = next(t for t in lab.lab_targets(engine=engine) if t.name == "reference")
        text = current.current_text.replace("stijl: kort", "stijl: uitgebreid") + SIGN_OFF
        cand = lab.save_candidate(engine=engine, target_name="reference", text=text,
                                  label="kandidaat", created_by="bench")
        cmp = lab.record_comparison(engine=engine, candidate_id=cand.id, library=library,
                                    created_by="bench")
        started = time.perf_counter()
        result = lab_comparison_job(engine, {"comparison_id": cmp.id},
                                    Progress(stopping=threading.Event()))
        job_s = time.perf_counter() - started
        started = time.perf_counter()
        report = lab.lab_report(engine=engine, comparison_id=cmp.id)
        report_s = time.perf_counter() - started
        assert report.result is not None
        engine.dispose()
        if pg_name is not None:
            _admin(f'DROP DATABASE IF EXISTS "{pg_name}"')
        return {"job_s": job_s, "report_s": report_s,
                "scenarios": len(library.scenarios),
                "replies": sum(result["replies"].values()),
                "paired": report.result.paired_conversations,
                "flipped": len(report.flipped), "regressed": float(report.result.regressed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    rows = [one(args.pg) for _ in range(args.repeats)]
    last = rows[-1]
    print(f"prompt lab comparison, {'PostgreSQL' if args.pg else 'SQLite'}, reference bot, "
          f"2 x {last['scenarios']:.0f} scenarios, {args.repeats} repeat(s)")
    for name in ("job_s", "report_s"):
        values = [r[name] for r in rows]
        print(f"  {name:9s} median {statistics.median(values):7.2f} s   "
              f"min {min(values):7.2f} s   max {max(values):7.2f} s")
    print(f"  replies played {last['replies']:.0f}, paired conversations {last['paired']:.0f}, "
          f"flipped checks {last['flipped']:.0f}, regressed {bool(last['regressed'])}")


if __name__ == "__main__":
    main()
