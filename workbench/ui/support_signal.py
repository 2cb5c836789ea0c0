""""Ik wil even iemand spreken": the panel member's button with its calm confirmation, and the
facilitator's list of who asked (code and time only) with "Afgehandeld"."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import streamlit as st

from workbench.services import training
from workbench.services.errors import UserError
from workbench.ui.components import hint, plain, show_error, support_contacts
from workbench.ui.i18n import t


def clock(at: datetime) -> str:
    """The time on the room's clock (the server's zone); stored times are UTC."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return f"{aware.astimezone():%H:%M}"


def ask_for_someone(engine: sa.Engine, participant_id: int, *, contacts: bool = True) -> None:
    """The button, or, once pressed, the confirmation that someone is coming (and stays so
    until a facilitator marks it handled). `contacts` adds the support numbers, for screens
    that do not show them already."""
    waiting = training.my_open_signal(engine=engine, participant_id=participant_id)
    if waiting is None:
        asked = st.button(t("signals.ask"), key="sig_ask", icon=":material/front_hand:")
        hint(t("signals.ask_help"))
        if asked:
            try:
                training.raise_signal(engine=engine, participant_id=participant_id)
            except UserError as err:
                show_error(err)
                return
            st.rerun()
        return
    st.success(t("signals.coming"), icon=":material/favorite:")
    st.caption(t("signals.your_code", code=waiting.participant_code))
    if contacts:
        support_contacts()


@st.fragment(run_every=5)
def signal_board(engine: sa.Engine, handled_by_id: int) -> None:
    """Every open signal, whatever day is picked below (a closed day's member included), with
    the longest waiting first; refreshed every few seconds, so a press shows up at once."""
    board = training.signal_board(engine=engine)
    with st.container(border=True):
        st.subheader(t("signals.board.title"))
        if not board.open:
            st.caption(t("signals.board.none"))
        for sig in board.open:
            row = st.container(horizontal=True, vertical_alignment="center")
            row.warning(t("signals.board.open", code=sig.participant_code,
                          time=clock(sig.raised_at),
                          day=plain(sig.day_name) if sig.day_name
                          else t("signals.board.no_day")),
                        icon=":material/front_hand:")
            if row.button(t("signals.board.handle"), key=f"sig_handle_{sig.id}"):
                try:
                    training.handle_signal(engine=engine, signal_id=sig.id,
                                           handled_by_id=handled_by_id)
                except UserError as err:
                    show_error(err)
                else:
                    st.rerun()
        if board.recently_handled:
            with st.expander(t("signals.board.recent")):
                st.markdown("\n".join(
                    "- " + t("signals.board.handled", code=s.participant_code,
                             by=s.handled_by or "", time=clock(s.handled_at or s.raised_at))
                    for s in board.recently_handled))
