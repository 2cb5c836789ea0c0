"""Pieces several pages share: errors, support contacts, the chat, the rubric form, the bot reply.

No queries here: pages and these helpers only call services.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
import streamlit as st

from workbench.domain.enums import ScaleKind, TurnRole
from workbench.domain.rubrics import Rubric
from workbench.services.errors import UserError
from workbench.services.training import RatingInput
from workbench.ui.i18n import current_language, t

SUPPORT_KEYS = ("veilig_thuis", "acute", "suicide", "victim_support", "facilitator")


def show_error(err: UserError) -> None:
    """Every problem the check found, at once (one list when there are several)."""
    texts = [t(p.key, **p.fmt) for p in err.problems]
    st.error(texts[0] if len(texts) == 1 else "\n".join(f"- {text}" for text in texts))


def support_contacts() -> None:
    """Where to turn after a role-play: the same list on every debrief."""
    st.markdown(t("common.support.title"))
    st.markdown("\n".join(f"- {t('common.support.' + k)}" for k in SUPPORT_KEYS))


def chat(context: list[tuple[str, str]]) -> None:
    for role, text in context:
        with st.chat_message("user" if role == TurnRole.user else "assistant"):
            st.markdown(text)


def bot_error_text(kind: object) -> str:
    return t(f"common.bot_error.{kind}") if kind else t("common.bot_error.unknown")


def stream_reply(engine: sa.Engine, conversation_id: int, error_key: str) -> int | None:
    """Stream the bot's next reply into a chat bubble; on failure remember the error kind under
    `error_key` (the page offers "try again") and return None.

    A click during streaming makes Streamlit stop this run; the rest of the reply is then still
    read and stored, so an interruption never loses a reply.
    """
    from workbench.bots import BotError
    from workbench.services import training

    st.session_state.pop(error_key, None)
    handle = training.stream_reply(engine=engine, conversation_id=conversation_id)
    try:
        with st.chat_message("assistant"):
            st.write_stream(handle)
    except BotError as err:
        st.session_state[error_key] = str(err.kind)
        return None
    finally:
        if handle.turn_id is None and handle.error is None:
            try:
                for _ in handle:
                    pass
            except BotError:
                pass  # stored as a failed turn; the page offers "try again"
    return handle.turn_id


def _level_label(level: int | str) -> str:
    return t(f"common.level.{level}") if isinstance(level, str) else str(level)


def draft_value(rubric: Rubric, key: str, draft: RatingInput | None) -> Any:
    """A stored draft value as the form shows it (yes/no were stored as 1/0)."""
    if draft is None or draft.values.get(key) is None:
        return None
    value = draft.values[key]
    if rubric.criterion(key).scale == ScaleKind.yes_no:
        if isinstance(value, str):
            return value
        return "yes" if value else "no"
    return int(value)


def rubric_fields(rubric: Rubric, prefix: str, draft: RatingInput | None = None,
                  *, show_description: bool = True) -> dict[str, Any]:
    """One radio per criterion, each level on its own line with its anchor text under it (a
    vertical scale reads better than a wrapped row in a narrow column). Inside a form."""
    values: dict[str, Any] = {}
    for crit in rubric.criteria:
        levels: list[int | str] = list(crit.levels())
        current = draft_value(rubric, crit.key, draft)
        label = f"**{crit.name}**" + (f" · {t('scoring.critical')}" if crit.critical else "")
        values[crit.key] = st.radio(
            label, levels, index=levels.index(current) if current in levels else None,
            key=f"{prefix}_{crit.key}", format_func=_level_label,
            captions=[crit.anchor(level) or " " for level in levels],
            help=crit.description if show_description else None,
        )
    return values


def elapsed(key: str) -> float:
    """Seconds since this item was first shown in this browser session."""
    started = st.session_state.setdefault(key, time.monotonic())
    return round(time.monotonic() - started, 1)


def baseline_label() -> str:
    """The notice that the reference bot is the offline baseline, not the real chatbot."""
    from workbench.bots.reference import BASELINE_LABEL

    return BASELINE_LABEL.get(current_language()) or BASELINE_LABEL["nl"]
