"""40 wrong passwords at once: how many are checked before the lockout holds?

Each of N threads (released together by a barrier) signs in to one staff account with a wrong
password; a second round does the same with join codes from one client address. Run against
SQLite (a temp file) and PostgreSQL (a throwaway database on 127.0.0.1:5432, user postgres,
created and dropped here). argon2id runs at test cost, so the race is the database's.

    .venv/bin/python bench/lockout_race.py [--threads 40] [--rounds 5] [--skip-postgres]

Prints, per database and round: passwords verified (the limit is 5), the outcomes, join codes
looked up (10 free per address) and the wall time. No asserts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.domain.enums import BotKind, Role  # noqa: E402
from workbench.domain.library import load_library  # noqa: E402
from workbench.services import accounts, training  # noqa: E402
from workbench.services.accounts import _auth  # noqa: E402
from workbench.storage import repo  # noqa: E402
from workbench.storage.db import make_engine, migrate, session_scope  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Counting(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.n = 0
        self.lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
        with self.lock:
            self.n += 1
        return super().verify(hash, password)


def at_once(n: int, attempt) -> tuple[Counter[str], float]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    out: list[str] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            attempt(i)
            out.append("ok")
        except accounts.AuthError as err:
            out.append(err.key)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(out), time.perf_counter() - t0


def bench(url: str, threads: int, rounds: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    hasher = Counting()
    _auth.HASHER = hasher
    lib = load_library([ROOT / "scenarios", ROOT / "rubrics"])
    with session_scope(engine) as s:
        target = repo.create_bot_target(session=s, name="reference", kind=BotKind.reference)
        repo.set_prompt(session=s, target=target, content="Je bent behulpzaam.", label="v1")
        target_id = target.id or 0
    day_id = training.create_day(engine=engine, library=lib, name="Bench", day=date.today(),
                                 scenario_ids=sorted(lib.scenarios)[:1],
                                 bot_target_ids=[target_id], overlap=1)
    accounts.issue_join_code(engine=engine, training_day_id=day_id)
    name = engine.dialect.name
    for r in range(rounds):
        code = f"exp{r}"
        accounts.create_staff(engine=engine, code=code, role=Role.expert,
                              password="lang-genoeg-wachtwoord")
        hasher.n = 0
        outcomes, wall = at_once(threads, lambda i, c=code: accounts.sign_in(
            engine=engine, code=c, password=f"wrong-{i:04d}-guess"))
        print(f"{name:10} round {r + 1}: {threads} wrong passwords -> {hasher.n} verified "
              f"(limit {accounts.MAX_FAILURES}), {dict(outcomes)}, {wall:.2f} s")
        joins, wall = at_once(threads, lambda i, r=r: accounts.redeem_join_code(
            engine=engine, code=f"ZZZZ-ZZZZ-{i:04d}", client=f"203.0.113.{r}"))
        print(f"{name:10} round {r + 1}: {threads} wrong join codes from one address -> "
              f"{joins['auth.bad_join_code']} looked up ({accounts.JOIN_FREE_FAILURES} free), "
              f"{dict(joins)}, {wall:.2f} s")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", args.threads, args.rounds)
    if args.skip_postgres:
        return
    db = f"wb_lockout_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        bench(PG_ADMIN.rsplit("/", 1)[0] + f"/{db}", args.threads, args.rounds)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": db})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}"'))
        admin.dispose()


if __name__ == "__main__":
    main()
