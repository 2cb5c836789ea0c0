"""Pieces several pages share: errors, support contacts, the chat, the rubric form, the bot reply,
and the one way to show text nobody on the team wrote (`untrusted`, `plain`).

No queries here: pages and these helpers only call services.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
import streamlit as st

from workbench.domain.enums import ScaleKind, TurnRole
from workbench.domain.rubrics import Criterion, Rubric
from workbench.domain.untrusted import markdown_literal, plain_text
from workbench.services.errors import UserError
from workbench.services.training import RatingInput
from workbench.ui.i18n import catalogue, current_language, t

SUPPORT_KEYS = ("veilig_thuis", "acute", "suicide", "victim_support", "facilitator")


def show_error(err: UserError) -> None:
    """Every problem the check found, at once (one list when there are several)."""
    texts = [t(p.key, **p.fmt) for p in err.problems]
    st.error(texts[0] if len(texts) == 1 else "\n".join(f"- {text}" for text in texts))


def support_contacts() -> None:
    """Where to turn after a role-play: the same list on every debrief."""
    st.markdown(t("common.support.title"))
    st.markdown("\n".join(f"- {t('common.support.' + k)}" for k in SUPPORT_KEYS))


STREAM_REDRAW_S = 0.05  # redraw a streaming reply at most this often (a long reply stays cheap)


def untrusted(text: str | None, *, where: Any = None) -> None:
    """A bot reply, a panel message, a rewrite, a comment or a scenario text, as plain text: no
    Markdown and no HTML, so nothing in it loads an image, a frame or a style, and a URL is not
    a link (issue 13, item 3). Line breaks stay; bold and other formatting show as typed."""
    (where or st).text(plain_text(text), width="stretch")


def plain(text: str | None) -> str:
    """Such text inside Markdown (st.caption, st.info, widget labels and options, a bold
    heading): it shows literally, see `workbench.domain.untrusted.markdown_literal`."""
    return markdown_literal(text)


def chat(context: list[tuple[str, str]]) -> None:
    for role, text in context:
        with st.chat_message("user" if role == TurnRole.user else "assistant"):
            untrusted(text)


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
            # Not st.write_stream: it renders the reply as Markdown while it arrives.
            box, shown, drawn = st.empty(), "", 0.0
            for chunk in handle:
                shown += chunk
                if time.monotonic() - drawn >= STREAM_REDRAW_S:
                    untrusted(shown, where=box)
                    drawn = time.monotonic()
            untrusted(shown, where=box)
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


def hint(text: str) -> None:
    """Help for the widget just above, as a caption: Streamlit's `help=` tooltip carries an
    English "Help for …" label (1.67), which a Dutch page must not have."""
    st.caption(text)


def criterion_names() -> dict[str, str]:
    """Criterion key → its name in the shipped rubrics: tables show the name, never the key."""
    from workbench.ui import state

    return {c.key: c.name for r in state.library().rubrics.values() for c in r.rubric.criteria}


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


def _question(crit: Criterion, for_panel: bool) -> str:
    """The criterion's name, or for panel members the catalogue's plainer question when there
    is one (`roleplay.feedback.question.<key>`): the rubric version stays as staff read it."""
    key = f"roleplay.feedback.question.{crit.key}"
    return t(key) if for_panel and key in catalogue() else crit.name


def _caption(crit: Criterion, level: int | str) -> str:
    """The anchor under a level, left out when it only repeats the level ("Ja" / "Ja.")."""
    anchor = crit.anchor(level) or ""
    same = anchor.strip().rstrip(".!").casefold() == _level_label(level).casefold()
    return " " if not anchor or same else anchor


def rubric_fields(rubric: Rubric, prefix: str, draft: RatingInput | None = None,
                  *, show_description: bool = True, for_panel: bool = False) -> dict[str, Any]:
    """One radio per criterion, each level on its own line with its anchor text under it (a
    vertical scale reads better than a wrapped row in a narrow column). Inside a form.
    `for_panel`: the panel member's quick feedback, without staff words such as "kritisch"."""
    values: dict[str, Any] = {}
    for crit in rubric.criteria:
        levels: list[int | str] = list(crit.levels())
        current = draft_value(rubric, crit.key, draft)
        label = f"**{_question(crit, for_panel)}**"
        if crit.critical and not for_panel:
            label += f" · {t('scoring.critical')}"
        if show_description and crit.description:
            # Label and description above the scale, not a `help=` tooltip (see hint()).
            st.markdown(label)
            hint(crit.description)
        values[crit.key] = st.radio(
            label, levels, index=levels.index(current) if current in levels else None,
            key=f"{prefix}_{crit.key}", format_func=_level_label,
            captions=[_caption(crit, level) for level in levels],
            label_visibility="collapsed" if show_description and crit.description
            else "visible",
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
