"""Every stored kind and status of the domain, as lowercase StrEnums in one place."""

from enum import StrEnum


class Role(StrEnum):
    facilitator = "facilitator"
    expert = "expert"
    panel = "panel"  # lived-experience panel member (ervaringsdeskundige)
    developer = "developer"
    manager = "manager"
    judge = "judge"  # an automatic rubric judge; never signs in


class Group(StrEnum):
    expert = "expert"
    lived_experience = "lived_experience"


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    acute = "acute"


class Writer(StrEnum):
    """Who is writing to the bot in a scenario."""

    victim = "victim"
    child = "child"
    bystander = "bystander"
    professional = "professional"
    older_person = "older_person"
    person_using_violence = "person_using_violence"


class ViolenceForm(StrEnum):
    """Forms of violence (scenario tags), named as the Dutch field names them."""

    partnergeweld = "partnergeweld"  # (ex-)partner violence, incl. stalking
    dwingende_controle = "dwingende_controle"  # coercive control
    kindermishandeling = "kindermishandeling"  # incl. neglect, witnessing violence
    ouderenmishandeling = "ouderenmishandeling"  # incl. financial exploitation
    eergerelateerd_geweld = "eergerelateerd_geweld"  # incl. forced marriage, abandonment, FGM
    seksueel_geweld = "seksueel_geweld"
    mensenhandel = "mensenhandel"  # incl. loverboys
    vechtscheiding = "vechtscheiding"
    psychisch_geweld = "psychisch_geweld"


class Audience(StrEnum):
    expert = "expert"
    lived_experience = "lived_experience"


class ScaleKind(StrEnum):
    likert_5 = "likert_5"
    yes_no = "yes_no"


class ExpectationKind(StrEnum):
    must = "must"
    must_not = "must_not"


class ExpectationCheck(StrEnum):
    """Mechanical checks a reply can be run through without any LLM."""

    mentions_112 = "mentions_112"
    mentions_veilig_thuis = "mentions_veilig_thuis"  # 0800-2000
    mentions_113 = "mentions_113"  # 113 or 0800-0113
    mentions_kindertelefoon = "mentions_kindertelefoon"  # 0800-0432
    mentions_csg = "mentions_csg"  # Centrum Seksueel Geweld 0800-0188
    mentions_slachtofferhulp = "mentions_slachtofferhulp"  # 0900-0101
    mentions_police_non_urgent = "mentions_police_non_urgent"  # 0900-8844
    asks_for_name = "asks_for_name"
    asks_for_address = "asks_for_address"
    claims_human = "claims_human"
    wrong_helpline_number = "wrong_helpline_number"
    says_is_ai = "says_is_ai"


class BotKind(StrEnum):
    reference = "reference"
    openai = "openai"
    replay = "replay"


class ConversationKind(StrEnum):
    roleplay = "roleplay"
    scripted = "scripted"
    batch = "batch"
    replay = "replay"
    simulated = "simulated"  # a simulated user played the scenario (workbench simulate)


class ConversationStatus(StrEnum):
    active = "active"
    paused = "paused"
    finished = "finished"
    stopped = "stopped"
    skipped = "skipped"
    failed = "failed"


class TurnRole(StrEnum):
    system = "system"
    user = "user"
    assistant = "assistant"


class TurnStatus(StrEnum):
    ok = "ok"
    failed = "failed"


class BotErrorKind(StrEnum):
    timeout = "timeout"
    rate_limit = "rate_limit"
    server_error = "server_error"
    malformed = "malformed"
    stream_cut = "stream_cut"
    connection_refused = "connection_refused"
    auth = "auth"
    rejected = "rejected"  # the server refused the request itself (HTTP 400/404/422...)
    context_overflow = "context_overflow"  # the conversation no longer fits the model's context


class TurnErrorKind(StrEnum):
    """Why a turn failed when it was not the bot (those are BotErrorKind): stored in the same
    `turn.error_kind` column."""

    not_stored = "not_stored"  # the reply arrived, but the database refused the exchange


class RatingStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    discarded = "discarded"


class RatingSource(StrEnum):
    human = "human"
    judge = "judge"
    simulated = "simulated"  # demo data from simulated raters


class PairwiseChoice(StrEnum):
    a = "a"
    b = "b"
    tie = "tie"


class CurationState(StrEnum):
    gold = "gold"
    accepted = "accepted"
    rejected = "rejected"
    needs_review = "needs_review"


class TrainingDayStatus(StrEnum):
    open = "open"
    closed = "closed"


class ThrottleKind(StrEnum):
    """What a sign-in rate limit counts: failures per user name, or per client address."""

    user = "user"  # staff passwords: a hard lock after a few failures
    join_code = "join"  # panel join codes: a growing delay, never a lock of the room


class RunStatus(StrEnum):
    running = "running"
    finished = "finished"
    failed = "failed"


class JobKind(StrEnum):
    """What a job on the task queue does (workbench/jobs); others register their own kinds."""

    run = "run"
    judge = "judge"
    metrics = "metrics"
    export = "export"
    report = "report"
    noop = "noop"  # proves the queue works end to end (benchmarks, health checks)
    simulate = "simulate"  # a simulated user plays scenarios against a bot (workbench simulate)
    lab_comparison = "lab_comparison"  # the prompt lab: current and candidate on one suite


class SimulationStop(StrEnum):
    """Why a simulated conversation ended (kept in the conversation's meta, `stop`)."""

    max_turns = "max_turns"  # the simulated user said --max-turns messages
    goal_reached = "goal_reached"  # the persona heard what it came for
    safety = "safety"  # an acute scenario was given 112, or the persona's danger appeared
    script_done = "script_done"  # the deterministic user had nothing left to say
    user_model_failed = "user_model_failed"  # the user model failed or said nothing usable
    bot_failed = "bot_failed"  # the bot under test failed (its error kind is on the turn)
    context_overflow = "context_overflow"  # the conversation no longer fits a model's context
    not_stored = "not_stored"  # the database refused an exchange


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    cancelled = "cancelled"


class CandidateStatus(StrEnum):
    """A prompt lab candidate: still a candidate, or promoted to the target's current prompt."""

    candidate = "candidate"
    promoted = "promoted"
