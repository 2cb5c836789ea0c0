"""The dashboard's stored sums as use-cases: fold the marks of recent writes, rebuild them from
the ratings, and check them against a recomputation."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.storage.db import session_scope
from workbench.storage.stats import check, reads, stored


def apply_pending_statistics(engine: sa.Engine) -> int:
    """Fold the replies changed since the last look into the stored cubes (writes only mark
    them); returns how many. Checked on the read-only engine first, so a quiet database costs
    one small read and no write lock."""
    with reads.reader(engine).connect() as conn:
        if not reads.has_pending(conn):
            return 0
    with session_scope(engine) as s:
        return stored.apply_pending(s.connection())


def rebuild_statistics(engine: sa.Engine) -> int:
    """Recompute the stored statistics from the ratings; returns the counted replies. The
    triggers keep them current for every write, this is for peace of mind after a restore
    that ran with triggers disabled."""
    with session_scope(engine) as s:
        return stored.rebuild(s.connection())


def check_statistics(engine: sa.Engine, *, limit: int = 1000) -> list[check.Difference]:
    """Where the stored sums differ from a recomputation from the ratings ([] when none)."""
    with session_scope(engine) as s:
        return check.differences(s.connection(), limit=limit)
