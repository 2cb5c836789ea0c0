"""The dashboard's section on simulated conversations (`workbench simulate`): shown apart,
because the live figures never count them (domain/rules.py, COUNTED_KINDS)."""

from __future__ import annotations

import sqlalchemy as sa

from workbench.storage import repo_simulate
from workbench.storage.db import session_scope
from workbench.storage.repo_simulate import SimulatedCounts


def simulated_overview(engine: sa.Engine, *, bot_target_id: int | None = None
                       ) -> SimulatedCounts:
    """How many simulated conversations there are, why they ended, and how people scored
    their replies (the figures' rating rule, on simulated replies only)."""
    with session_scope(engine) as s:
        return repo_simulate.simulated_counts(session=s, bot_target_id=bot_target_id)
