"""Helpers for the training-day tests: accounts, a day with the reference bot, a panel member
with role-play replies, and driving the Streamlit app with AppTest."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from workbench.domain.enums import Role
from workbench.domain.library import Library
from workbench.services import accounts, targets, training

APP = Path(__file__).resolve().parent.parent / "workbench" / "ui" / "streamlit_app.py"
PASSWORD = "lang-genoeg-wachtwoord"
TIMEOUT = 30




def staff(engine: sa.Engine, code: str, role: Role = Role.expert) -> accounts.SignedIn:
    return accounts.create_staff(engine=engine, code=code, role=role, password=PASSWORD)


def reference_day(engine: sa.Engine, library: Library, **over: Any) -> int:
    """An open training day for today with the reference bot and the first three scenarios."""
    target = targets.list_targets(engine=engine)[0]
    fields: dict[str, Any] = dict(
        name="Testdag", day=date.today(), scenario_ids=sorted(library.scenarios)[:3],
        bot_target_ids=[target.id], overlap=2, exposure_cap=3,
    )
    fields.update(over)
    return training.create_day(engine=engine, library=library, **fields)


def panel_member(engine: sa.Engine, day_id: int) -> accounts.SignedIn:
    code = accounts.issue_join_code(engine=engine, training_day_id=day_id)
    return accounts.redeem_join_code(engine=engine, code=code)


def roleplay_replies(engine: sa.Engine, library: Library, member: accounts.SignedIn,
                     texts: tuple[str, ...] = ("Hoi, ik weet niet of ik hier goed zit.",
                                               "Hij heeft me gisteren geslagen.")) -> list[int]:
    """A role-play by `member` on their next scenario; returns the bot reply turn ids."""
    where = training.roleplay_state(engine=engine, library=library,
                                    participant_id=member.participant_id)
    assert where.next_card is not None
    cid = training.begin_roleplay(engine=engine, library=library,
                                  participant_id=member.participant_id,
                         scenario_id=where.next_card.scenario_id, consent=True)
    replies = []
    for text in texts:
        training.send_message(engine=engine, participant_id=member.participant_id,
                              conversation_id=cid,
                      text=text)
        replies.append(training.complete_reply(engine=engine, conversation_id=cid).id or 0)
    return replies


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def signed_in_app(user: accounts.SignedIn) -> AppTest:
    """The app as `user` after signing in (the session holds only their participant id)."""
    at = app()
    at.session_state["auth_participant_id"] = user.participant_id
    at.session_state["auth_language"] = user.language
    return at.run()


def texts(at: AppTest) -> str:
    """All visible text of the last run, for plain `in` checks."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "text", "toast"):
        parts += [str(getattr(el, "value", "")) for el in getattr(at, kind)]
    return "\n".join(parts)


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    """The (form submit) button with this exact label."""
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; have {[b.label for b in at.button]}"
    return found[0]
