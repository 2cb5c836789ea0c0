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
    from workbench.domain.enums import Role
    from workbench.services import accounts
    from workbench.services.curation import set_lead
    from workbench.storage import repo_demo
    from workbench.storage.db import session_scope

    with session_scope(engine) as s:
        if not repo_demo.holds_demo_data(session=s, days_only=True):
            return []

    lines = []
    for code, role in DEMO_STAFF.items():
        accounts.ensure_staff(engine=engine, code=code, role=Role(role), password=DEMO_PASSWORD,
                          is_demo=True)
        lines.append(f"  DEMO account {code} / {DEMO_PASSWORD} ({role})")
    # The demo expert leads, so adjudication and curation can be tried without setup.
    set_lead(engine=engine, code="demo-expert", lead=True)
    return ["demo accounts (remove them before real use):", *lines]
