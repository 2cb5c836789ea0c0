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
from workbench.storage.stats.reads import (
    apply_pending_statistics,
    rebuild_statistics,
)
from workbench.storage.stats.sql import DashboardFilter

__all__ = [
    "AGREEMENT_MAX_ITEMS",
    "all_figures",
    "apply_pending_statistics",
    "build_dashboard",
    "category",
    "COVERAGE_MIN_REPLIES",
    "Dashboard",
    "DashboardFilter",
    "describe_filter",
    "filter_options",
    "load_gate_file",
    "PromptReadiness",
    "rebuild_statistics",
    "render_report",
    "REPORT_LANGUAGES",
    "report_scope",
    "ReportResult",
    "t_interval",
    "tr",
    "write_report",
]
