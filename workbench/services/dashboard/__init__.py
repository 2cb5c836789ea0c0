"""What management sees: the dashboard's figures with honest intervals, the readiness
verdict per prompt version, and the self-contained board report.
"""

from workbench.services.dashboard._dashboard import (
    AGREEMENT_MAX_ITEMS,
    COVERAGE_MIN_REPLIES,
    Dashboard,
    PromptReadiness,
    build_dashboard,
    filter_options,
    load_gate_file,
    t_interval,
)
from workbench.services.dashboard._excerpts import (
    keep_excerpts_scrubbed,
    scrub_pending_excerpts,
)
from workbench.services.dashboard._figures import (
    all_figures,
    category,
    tr,
)
from workbench.services.dashboard._report import (
    REPORT_LANGUAGES,
    ReportResult,
    describe_filter,
    render_report,
    report_scope,
    write_report,
)
from workbench.services.dashboard._simulated import (
    simulated_overview,
)
from workbench.services.dashboard._stats import (
    apply_pending_statistics,
    check_statistics,
    rebuild_statistics,
)
from workbench.storage.repo_simulate import SimulatedCounts
from workbench.storage.stats.sql import DashboardFilter

__all__ = [
    "AGREEMENT_MAX_ITEMS",
    "all_figures",
    "apply_pending_statistics",
    "build_dashboard",
    "category",
    "check_statistics",
    "COVERAGE_MIN_REPLIES",
    "Dashboard",
    "DashboardFilter",
    "describe_filter",
    "filter_options",
    "keep_excerpts_scrubbed",
    "load_gate_file",
    "PromptReadiness",
    "rebuild_statistics",
    "render_report",
    "REPORT_LANGUAGES",
    "report_scope",
    "ReportResult",
    "scrub_pending_excerpts",
    "simulated_overview",
    "SimulatedCounts",
    "t_interval",
    "tr",
    "write_report",
]
