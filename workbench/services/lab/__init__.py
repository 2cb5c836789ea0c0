"""The prompt lab: a candidate prompt from a target's current one (diff, few-shot block of
gold examples), its comparison against current on the scripted suite (two runs, one job, the
numbers of `workbench compare`), and its promotion to current with an audited reason.
"""

from workbench.services.lab._candidates import (
    CandidateView,
    LabError,
    LabTarget,
    fewshot_filters,
    get_candidate,
    gold_fewshot,
    lab_targets,
    list_candidates,
    promote_candidate,
    save_candidate,
)
from workbench.services.lab._comparisons import (
    COMPARE_MIN_KAPPA,
    COMPARE_SEED,
    MAX_REPEAT,
    ComparisonView,
    FlippedCheck,
    LabReport,
    ReplyPair,
    ScenarioSide,
    attach_job,
    compare_comparison,
    get_comparison,
    lab_report,
    list_comparisons,
    record_comparison,
    release_comparison,
)

__all__ = [
    "attach_job",
    "CandidateView",
    "compare_comparison",
    "COMPARE_MIN_KAPPA",
    "COMPARE_SEED",
    "ComparisonView",
    "fewshot_filters",
    "FlippedCheck",
    "get_candidate",
    "get_comparison",
    "gold_fewshot",
    "lab_report",
    "lab_targets",
    "LabError",
    "LabReport",
    "LabTarget",
    "list_candidates",
    "list_comparisons",
    "MAX_REPEAT",
    "promote_candidate",
    "record_comparison",
    "release_comparison",
    "ReplyPair",
    "save_candidate",
    "ScenarioSide",
]
