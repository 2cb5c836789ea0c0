"""Demo staff accounts, so `make run` can be tried at once. Only created next to demo data."""

from __future__ import annotations

import sqlalchemy as sa

DEMO_PASSWORD = "demo-workbench"
DEMO_STAFF = {
    "demo-facilitator": "facilitator",
    "demo-expert": "expert",
    "demo-developer": "developer",
    "demo-manager": "manager",
}


def ensure_demo_accounts(*, engine: sa.Engine) -> list[str]:
    """Create the demo staff accounts when the database holds demo data; lines to print."""
    from sqlmodel import select

    from workbench.domain.enums import Role
    from workbench.services.accounts import _auth as auth
    from workbench.storage.db import session_scope
    from workbench.storage.tables import TrainingDay

    with session_scope(engine) as s:
        has_demo = s.exec(select(TrainingDay.id).where(TrainingDay.is_demo)).first() is not None
    if not has_demo:
        return []
    from workbench.services.curation._withdrawal import set_lead

    lines = []
    for code, role in DEMO_STAFF.items():
        auth.ensure_staff(engine=engine, code=code, role=Role(role), password=DEMO_PASSWORD,
                          is_demo=True)
        lines.append(f"  DEMO account {code} / {DEMO_PASSWORD} ({role})")
    # The demo expert leads, so adjudication and curation can be tried without setup.
    set_lead(engine=engine, code="demo-expert", lead=True)
    return ["demo accounts (remove them before real use):", *lines]
