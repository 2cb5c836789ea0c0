"""Every table of the workbench, in one import (the Alembic migrations mirror these modules):
`from workbench.storage.tables import Turn, Rating, ...`. The models live in modules by area,
each under the size a reader takes in at once."""

from __future__ import annotations

from workbench.storage.tables._base import (
    utcnow,
)
from workbench.storage.tables._conversations import (
    Adjudication,
    Conversation,
    CuratedExample,
    PairwiseJudgement,
    Rating,
    RatingScore,
    Turn,
)
from workbench.storage.tables._jobs import (
    Job,
    JobWorker,
)
from workbench.storage.tables._lab import (
    LabComparison,
    PromptCandidate,
)
from workbench.storage.tables._library import (
    BotTarget,
    PromptVersion,
    RubricVersion,
    Run,
    ScenarioSnapshot,
)
from workbench.storage.tables._people import (
    JoinCode,
    LoginAttempt,
    LoginThrottle,
    Participant,
    StaffSession,
    TrainingDay,
)
from workbench.storage.tables._records import (
    AuditEvent,
    ExportRecord,
)
from workbench.storage.tables._signals import (
    SupportSignal,
)
from workbench.storage.tables._stats import (
    CUBE_COUNT_COLUMNS,
    CUBE_REAL_PREFIXES,
    CUBE_SUM_COLUMNS,
    CUBE_SUM_PREFIXES,
    GROUP_KEYS,
    dashboard_criterion_cube,
    dashboard_cube,
    reply_excerpt,
    reply_stat,
    reply_stat_pending,
)

__all__ = [
    "Job",
    "JobWorker",
    "Adjudication",
    "AuditEvent",
    "BotTarget",
    "Conversation",
    "CUBE_COUNT_COLUMNS",
    "CUBE_REAL_PREFIXES",
    "CUBE_SUM_COLUMNS",
    "CUBE_SUM_PREFIXES",
    "CuratedExample",
    "dashboard_criterion_cube",
    "dashboard_cube",
    "ExportRecord",
    "GROUP_KEYS",
    "JoinCode",
    "LabComparison",
    "LoginAttempt",
    "LoginThrottle",
    "PairwiseJudgement",
    "Participant",
    "PromptCandidate",
    "PromptVersion",
    "Rating",
    "RatingScore",
    "reply_excerpt",
    "reply_stat",
    "reply_stat_pending",
    "RubricVersion",
    "Run",
    "ScenarioSnapshot",
    "StaffSession",
    "SupportSignal",
    "TrainingDay",
    "Turn",
    "utcnow",
]
