"""Every page of the app and who may see it. To add a page: write `app_pages/<name>.py` (start it
with `user = require_role(...)`), add its title to the catalogue (and, for the staff start page,
a `home.about.<url_path>` line), then one PageSpec line below.

The entry lists only the pages the signed-in role may see; a page not listed cannot be opened by
URL either (Streamlit falls back to the first page), and `require_role` checks again.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.domain.enums import Role

STAFF = frozenset({Role.facilitator, Role.expert, Role.developer, Role.manager})
EVERYONE = STAFF | {Role.panel}


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to workbench/ui/
    title_key: str  # catalogue key of the title in the navigation
    icon: str
    roles: frozenset[Role]  # who may open it; empty = only when signed out
    url_path: str


SIGN_IN = PageSpec("app_pages/sign_in.py", "nav.sign_in", ":material/login:", frozenset(),
                   "sign-in")

# Order matters: the first page a role may see is where it lands after signing in.
PAGES: list[PageSpec] = [
    PageSpec("app_pages/roleplay.py", "nav.roleplay", ":material/forum:",
             frozenset({Role.panel}), "roleplay"),
    PageSpec("app_pages/home.py", "nav.home", ":material/home:", STAFF, "home"),
    PageSpec("app_pages/facilitator.py", "nav.facilitator", ":material/event:",
             frozenset({Role.facilitator}), "facilitator"),
    PageSpec("app_pages/scoring.py", "nav.scoring", ":material/rule:",
             frozenset({Role.expert, Role.facilitator}), "scoring"),
    PageSpec("app_pages/scripted.py", "nav.scripted", ":material/playlist_play:",
             frozenset({Role.expert, Role.facilitator}), "scripted"),
    PageSpec("app_pages/pairwise.py", "nav.pairwise", ":material/compare:",
             frozenset({Role.expert, Role.facilitator, Role.panel}), "pairwise"),
    PageSpec("app_pages/bot_targets.py", "nav.bot_targets", ":material/smart_toy:",
             frozenset({Role.facilitator, Role.developer}), "bots"),
    PageSpec("app_pages/calibration.py", "curation.nav.calibration", ":material/tune:",
             frozenset({Role.facilitator, Role.expert}), "calibration"),
    PageSpec("app_pages/adjudication.py", "curation.nav.adjudication", ":material/gavel:",
             frozenset({Role.facilitator, Role.expert}), "adjudication"),
    PageSpec("app_pages/curation.py", "curation.nav.curation", ":material/verified:",
             frozenset({Role.facilitator, Role.expert}), "curation"),
    PageSpec("app_pages/participants.py", "curation.nav.participants", ":material/group:",
             frozenset({Role.facilitator}), "participants"),
    PageSpec("app_pages/staff.py", "staff.nav", ":material/badge:",
             frozenset({Role.facilitator}), "staff"),
    PageSpec("app_pages/dashboard.py", "dashboard.nav", ":material/monitoring:",
             frozenset({Role.manager, Role.facilitator, Role.developer}), "dashboard"),
    PageSpec("app_pages/judge.py", "judge.nav", ":material/fact_check:",
             frozenset({Role.developer, Role.facilitator, Role.expert}), "judge"),
    PageSpec("app_pages/export.py", "export.nav_title", ":material/download:",
             frozenset({Role.developer}), "export"),
    PageSpec("app_pages/jobs.py", "jobs.nav", ":material/pending_actions:",
             frozenset({Role.developer, Role.facilitator}), "jobs"),
    PageSpec("app_pages/prompt_lab.py", "lab.nav", ":material/science:",
             frozenset({Role.developer, Role.facilitator}), "promptlab"),
]


def pages_for(role: Role | None) -> list[PageSpec]:
    """The pages this role may see, in menu order; signed out, only the sign-in page."""
    if role is None:
        return [SIGN_IN]
    return [p for p in PAGES if role in p.roles]
