"""Database triggers that mark replies whose dashboard figures a write changed.

Every write that can change what the dashboard counts goes through one of these, whoever makes
it: the workbench's own services, a bulk load, or a hand-made SQL fix. Each inserts the reply's
turn id into ``reply_stat_pending``; the next dashboard read folds the marks into the stored
sums (`stats.stored.apply_pending`). So correctness no longer depends on every write path
remembering to mark (it did until migration 0005).

What marks:
- ``rating``: insert, update or delete of a rating that counts for the figures before or
  after the write (submitted, from a source of `rules` purpose "figures");
- ``rating_score``: a changed or removed value of such a rating, and an added one unless the
  reply is marked in the same transaction already (writing a rating adds its values right
  after its own row, which marked it: one mark per submit, not one per criterion);
- ``adjudication``: any insert, update or delete (the decision replaces the raters' verdict);
- ``turn``: a bot reply's withdrawal, status, role, prompt version or time changing, or its
  deletion;
- ``conversation``: its training day, scenario snapshot, bot, prompt version or demo flag
  changing marks all its bot replies;
- ``rubric_version``: a changed text marks every reply rated under it.

The sources are written into the trigger text from `domain.rules` when the triggers are made;
`tests/test_rules.py` fails if the rules and the stored triggers disagree, so a change of the
rules comes with a migration that calls `create_triggers` again.
"""

from __future__ import annotations

import sqlalchemy as sa

from workbench.domain.rules import COUNTED_SOURCES, Purpose

PENDING = "reply_stat_pending"
TRIGGERS = ("wb_mark_rating", "wb_mark_rating_score", "wb_mark_adjudication", "wb_mark_turn",
            "wb_mark_conversation", "wb_mark_rubric_version")


def _sources() -> str:
    return ", ".join(f"'{s.value}'" for s in sorted(COUNTED_SOURCES[Purpose.figures]))


def _counts(row: str) -> str:
    return f"{row}.status = 'submitted' AND {row}.source IN ({_sources()})"


_TURN_CHANGED = ("OLD.withdrawn IS NOT NEW.withdrawn OR OLD.status IS NOT NEW.status OR "
                 "OLD.role IS NOT NEW.role OR OLD.prompt_version_id IS NOT NEW.prompt_version_id "
                 "OR OLD.conversation_id IS NOT NEW.conversation_id OR "
                 "OLD.created_at IS NOT NEW.created_at")
_CONV_CHANGED = ("OLD.training_day_id IS NOT NEW.training_day_id OR "
                 "OLD.scenario_snapshot_id IS NOT NEW.scenario_snapshot_id OR "
                 "OLD.bot_target_id IS NOT NEW.bot_target_id OR "
                 "OLD.prompt_version_id IS NOT NEW.prompt_version_id OR "
                 "OLD.is_demo IS NOT NEW.is_demo")


def _mark(value: str) -> str:
    return f"INSERT INTO {PENDING} (turn_id) VALUES ({value});"


def _mark_score(rating_id: str, only_new: bool) -> str:
    """Mark the reply of a counted rating, from a rating_score row."""
    unmarked = (f" AND NOT EXISTS (SELECT 1 FROM {PENDING} p WHERE p.turn_id = r.turn_id)"
                if only_new else "")
    return (f"INSERT INTO {PENDING} (turn_id) SELECT r.turn_id FROM rating r "
            f"WHERE r.id = {rating_id} AND {_counts('r')}{unmarked};")


def _sqlite() -> list[str]:
    conv_turns = (f"INSERT INTO {PENDING} (turn_id) SELECT id FROM turn "
                  "WHERE conversation_id = NEW.id AND role = 'assistant';")
    rubric_turns = (f"INSERT INTO {PENDING} (turn_id) SELECT DISTINCT turn_id FROM rating "
                    "WHERE rubric_version_id = NEW.id;")
    out = []

    def trig(name: str, when: str, table: str, cond: str | None, body: str) -> None:
        clause = f" WHEN {cond}" if cond else ""
        out.append(f"CREATE TRIGGER {name} AFTER {when} ON {table}{clause} BEGIN {body} END")

    trig("wb_mark_rating_ins", "INSERT", "rating", _counts("NEW"), _mark("NEW.turn_id"))
    trig("wb_mark_rating_upd", "UPDATE", "rating",
         f"({_counts('OLD')}) OR ({_counts('NEW')})",
         _mark("NEW.turn_id") + f" INSERT INTO {PENDING} (turn_id) SELECT OLD.turn_id "
         f"WHERE OLD.turn_id IS NOT NEW.turn_id AND {_counts('OLD')};")
    trig("wb_mark_rating_del", "DELETE", "rating", _counts("OLD"), _mark("OLD.turn_id"))
    trig("wb_mark_rating_score_ins", "INSERT", "rating_score", None,
         _mark_score("NEW.rating_id", only_new=True))
    trig("wb_mark_rating_score_upd", "UPDATE", "rating_score", None,
         _mark_score("NEW.rating_id", only_new=False))
    trig("wb_mark_rating_score_del", "DELETE", "rating_score", None,
         _mark_score("OLD.rating_id", only_new=False))
    trig("wb_mark_adjudication_ins", "INSERT", "adjudication", None, _mark("NEW.turn_id"))
    trig("wb_mark_adjudication_upd", "UPDATE", "adjudication", None,
         _mark("NEW.turn_id") + " " + _mark("OLD.turn_id"))
    trig("wb_mark_adjudication_del", "DELETE", "adjudication", None, _mark("OLD.turn_id"))
    trig("wb_mark_turn_upd", "UPDATE", "turn",
         f"(OLD.role = 'assistant' OR NEW.role = 'assistant') AND ({_TURN_CHANGED})",
         _mark("NEW.id"))
    trig("wb_mark_turn_del", "DELETE", "turn", "OLD.role = 'assistant'", _mark("OLD.id"))
    trig("wb_mark_conversation_upd", "UPDATE", "conversation", _CONV_CHANGED, conv_turns)
    trig("wb_mark_rubric_version_upd", "UPDATE", "rubric_version",
         "OLD.content IS NOT NEW.content", rubric_turns)
    return out


def _postgresql() -> list[str]:
    def fn(name: str, body: str) -> str:
        return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$")

    def trig(name: str, table: str, events: str, when: str = "") -> str:
        return (f"CREATE TRIGGER {name} AFTER {events} ON {table} FOR EACH ROW{when} "
                f"EXECUTE FUNCTION {name}()")

    pg_turn = _TURN_CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    pg_conv = _CONV_CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")
    return [
        fn("wb_mark_rating",
           f"IF TG_OP <> 'DELETE' AND {_counts('NEW')} THEN {_mark('NEW.turn_id')} END IF; "
           f"IF TG_OP <> 'INSERT' AND {_counts('OLD')} AND (TG_OP = 'DELETE' OR "
           f"OLD.turn_id IS DISTINCT FROM NEW.turn_id OR NOT ({_counts('NEW')})) THEN "
           f"{_mark('OLD.turn_id')} END IF;"),
        trig("wb_mark_rating", "rating", "INSERT OR UPDATE OR DELETE"),
        fn("wb_mark_rating_score",
           f"IF TG_OP = 'INSERT' THEN {_mark_score('NEW.rating_id', only_new=True)} "
           f"ELSIF TG_OP = 'UPDATE' THEN {_mark_score('NEW.rating_id', only_new=False)} "
           f"ELSE {_mark_score('OLD.rating_id', only_new=False)} END IF;"),
        trig("wb_mark_rating_score", "rating_score", "INSERT OR UPDATE OR DELETE"),
        fn("wb_mark_adjudication",
           f"IF TG_OP <> 'DELETE' THEN {_mark('NEW.turn_id')} END IF; "
           f"IF TG_OP <> 'INSERT' THEN {_mark('OLD.turn_id')} END IF;"),
        trig("wb_mark_adjudication", "adjudication", "INSERT OR UPDATE OR DELETE"),
        fn("wb_mark_turn",
           f"IF TG_OP = 'DELETE' THEN IF OLD.role = 'assistant' THEN {_mark('OLD.id')} END IF; "
           f"ELSIF (OLD.role = 'assistant' OR NEW.role = 'assistant') AND ({pg_turn}) THEN "
           f"{_mark('NEW.id')} END IF;"),
        trig("wb_mark_turn", "turn", "UPDATE OR DELETE"),
        fn("wb_mark_conversation",
           f"IF {pg_conv} THEN INSERT INTO {PENDING} (turn_id) SELECT id FROM turn "
           "WHERE conversation_id = NEW.id AND role = 'assistant'; END IF;"),
        trig("wb_mark_conversation", "conversation", "UPDATE"),
        fn("wb_mark_rubric_version",
           f"IF OLD.content IS DISTINCT FROM NEW.content THEN INSERT INTO {PENDING} (turn_id) "
           "SELECT DISTINCT turn_id FROM rating WHERE rubric_version_id = NEW.id; END IF;"),
        trig("wb_mark_rubric_version", "rubric_version", "UPDATE"),
    ]


def drop_triggers(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        for name, table in zip(TRIGGERS, ("rating", "rating_score", "adjudication", "turn",
                                         "conversation", "rubric_version"), strict=True):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
        return
    names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                 "AND name LIKE 'wb_mark_%'").scalars().all()
    for name in names:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def create_triggers(conn: sa.Connection) -> None:
    """(Re)create the marking triggers for the current counting rules (idempotent)."""
    drop_triggers(conn)
    for statement in _postgresql() if conn.dialect.name == "postgresql" else _sqlite():
        conn.exec_driver_sql(statement)


def trigger_sources(conn: sa.Connection) -> set[str]:
    """The rating sources the stored triggers count (for the test that they match the rules)."""
    if conn.dialect.name == "postgresql":
        text = conn.exec_driver_sql(
            "SELECT pg_get_functiondef('wb_mark_rating'::regproc)").scalar() or ""
    else:
        text = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                    "AND name = 'wb_mark_rating_ins'").scalar() or ""
    start = text.index("source IN (") + len("source IN (")
    return {s.strip().strip("'") for s in text[start:text.index(")", start)].split(",")}


# --- excerpts: a withdrawn or edited reply loses its stored scrubbed excerpt ------------------

_FORGET = "DELETE FROM reply_excerpt WHERE turn_id = NEW.id;"
_FORGET_WHEN = "NEW.withdrawn OR OLD.content IS NOT NEW.content"


def create_excerpt_triggers(conn: sa.Connection) -> None:
    drop_excerpt_triggers(conn)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION wb_forget_excerpt() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN IF {_FORGET_WHEN.replace(' IS NOT ', ' IS DISTINCT FROM ')} THEN "
            f"{_FORGET} END IF; RETURN NULL; END $$")
        conn.exec_driver_sql("CREATE TRIGGER wb_forget_excerpt AFTER UPDATE ON turn "
                             "FOR EACH ROW EXECUTE FUNCTION wb_forget_excerpt()")
    else:
        conn.exec_driver_sql(f"CREATE TRIGGER wb_forget_excerpt AFTER UPDATE ON turn "
                             f"WHEN {_FORGET_WHEN} BEGIN {_FORGET} END")


def drop_excerpt_triggers(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS wb_forget_excerpt ON turn")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS wb_forget_excerpt()")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS wb_forget_excerpt")
