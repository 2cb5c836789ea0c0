"""Compare the stored dashboard sums with a recomputation from the ratings (`check-stats`).

The marks still waiting are folded in first: a mark not yet applied is not a difference. Then
every reply's contribution is computed again with the same SQL the refresh uses, added up per
cube row, and compared with what is stored: counts exactly, the sums of means within a
rounding tolerance. Anything else is a difference, reported row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from workbench.storage.stats.sql import SUM_COLUMNS
from workbench.storage.stats.stored import (
    _Delta,
    apply_pending,
    contributions,
)
from workbench.storage.tables import (
    CUBE_COUNT_COLUMNS,
    dashboard_criterion_cube,
    dashboard_cube,
    reply_stat,
)

REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Difference:
    table: str
    key: str  # cube key and rubric version (and criterion), or a turn id
    column: str
    stored: float | None
    expected: float | None

    def __str__(self) -> str:
        return (f"{self.table} [{self.key}] {self.column}: stored {self.stored}, "
                f"recomputed {self.expected}")


def _same(column: str, a: float, b: float) -> bool:
    if column in CUBE_COUNT_COLUMNS:
        return int(round(a)) == int(round(b)) and float(a).is_integer()
    return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)


def differences(conn: sa.Connection, *, limit: int = 1000) -> list[Difference]:
    """Where the stored sums differ from the ratings (at most `limit`, cube rows first)."""
    apply_pending(conn)
    expected_stats = contributions(conn, None)
    delta = _Delta()
    for contrib in expected_stats.values():
        delta.add(contrib, 1)
    out: list[Difference] = []

    stored: dict[tuple[str, int], list[Any]] = {
        (r.cube_key, r.rubric_version_id): [getattr(r, c) for c in SUM_COLUMNS]
        for r in conn.execute(sa.select(dashboard_cube))}
    zero = [0] * len(SUM_COLUMNS)
    for key in sorted(set(stored) | set(delta.cube)):
        have, want = stored.get(key, zero), delta.cube.get(key, zero)
        for column, a, b in zip(SUM_COLUMNS, have, want, strict=True):
            if not _same(column, float(a or 0), float(b or 0)):
                out.append(Difference("dashboard_cube", f"{key[0]} v{key[1]}", column,
                                      None if key not in stored else float(a or 0),
                                      None if key not in delta.cube else float(b or 0)))

    crit = {(r.cube_key, r.rubric_version_id, r.criterion): (r.n, r.s)
            for r in conn.execute(sa.select(dashboard_criterion_cube))}
    for ckey in sorted(set(crit) | set(delta.crit)):
        have_pair, want_pair = crit.get(ckey, (0, 0)), delta.crit.get(ckey, [0, 0])
        for column, a, b in zip(("n", "s"), have_pair, want_pair, strict=True):
            if int(a or 0) != int(b or 0):
                out.append(Difference("dashboard_criterion_cube",
                                      f"{ckey[0]} v{ckey[1]} {ckey[2]}", column,
                                      float(a or 0), float(b or 0)))

    recorded = {int(t) for t in conn.execute(sa.select(reply_stat.c.turn_id)).scalars()}
    for turn_id in sorted(recorded ^ set(expected_stats)):
        out.append(Difference("reply_stat", f"turn {turn_id}", "present",
                              float(turn_id in recorded), float(turn_id in expected_stats)))
    return out[:limit]
