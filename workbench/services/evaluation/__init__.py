"""Evaluation without people in the room: batch runs of the scripted suite, simulated users
(`workbench simulate`), imported transcripts, the rubric judge and its alignment with experts,
expectation checks, ragas metrics and the regression gate that compares two runs.
"""

from workbench.services.evaluation._alignment import (
    AlignmentReport,
    CriterionRow,
    JudgeChoice,
    TrustThresholds,
    alignment_report,
    judge_choices,
    judge_failure_count,
    trusted_criteria,
)
from workbench.services.evaluation._compare import (
    Comparison,
    ComparisonRow,
    compare_runs,
)
from workbench.services.evaluation._expectations import (
    ConversationChecks,
    Reference,
    TurnExpectation,
    expectation_outcomes_for_turn,
)
from workbench.services.evaluation._judge import (
    JudgeSetupError,
    JudgeSummary,
    ajudge_turns,
    judge_code,
    judge_reasons,
    judge_run,
)
from workbench.services.evaluation._judge_prompt import (
    SCHEMA_FORMS,
    InvalidJudgement,
    Judgement,
    ScenarioFacts,
    answer_schema,
    build_material,
    judge_retry_message,
    judge_system_prompt,
    judge_template_sha,
    parse_judgement,
)
from workbench.services.evaluation._lease import (
    LeaseLost,
    RunBusy,
)
from workbench.services.evaluation._ragas import (
    ReplyMetrics,
    RunMetrics,
    run_metrics,
    string_scores,
)
from workbench.services.evaluation._replay import (
    ImportReport,
    import_transcripts,
)
from workbench.services.evaluation._run_replies import (
    RunConversation,
    RunReply,
    run_replies,
)
from workbench.services.evaluation._runs import (
    RunSummary,
    WrongRunKind,
    create_run,
    execute_run,
    new_run_id,
    record_run,
)
from workbench.services.evaluation._simulate import (
    SCRIPTED_USER,
    SimulationSummary,
    create_simulation,
    execute_simulation,
)

__all__ = [
    "ajudge_turns",
    "alignment_report",
    "AlignmentReport",
    "answer_schema",
    "build_material",
    "compare_runs",
    "Comparison",
    "ComparisonRow",
    "ConversationChecks",
    "create_run",
    "create_simulation",
    "CriterionRow",
    "execute_run",
    "execute_simulation",
    "expectation_outcomes_for_turn",
    "import_transcripts",
    "ImportReport",
    "InvalidJudgement",
    "judge_choices",
    "judge_code",
    "judge_failure_count",
    "judge_reasons",
    "judge_retry_message",
    "judge_run",
    "judge_system_prompt",
    "judge_template_sha",
    "JudgeChoice",
    "Judgement",
    "JudgeSetupError",
    "JudgeSummary",
    "LeaseLost",
    "new_run_id",
    "parse_judgement",
    "record_run",
    "Reference",
    "ReplyMetrics",
    "run_metrics",
    "run_replies",
    "RunBusy",
    "RunConversation",
    "RunMetrics",
    "RunReply",
    "RunSummary",
    "ScenarioFacts",
    "SCHEMA_FORMS",
    "SCRIPTED_USER",
    "SimulationSummary",
    "string_scores",
    "trusted_criteria",
    "TrustThresholds",
    "TurnExpectation",
    "WrongRunKind",
]
