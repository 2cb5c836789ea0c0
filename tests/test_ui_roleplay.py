"""Live role-play as a panel member, with the offline reference bot: join with a code, content
warning and consent, skip, chat, privacy warning, feedback, pause, stop and debrief."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.training_support import (
    app,
    button,
    reference_day,
    texts,
)
from workbench.bots.base import BaseBot, ConnectionRefused
from workbench.domain.enums import BotKind, ConversationStatus, RatingStatus, TurnRole
from workbench.services import accounts
from workbench.storage.tables import Conversation, Rating, Turn

pytestmark = pytest.mark.usefixtures("fast_hashing")



def join(code: str):  # type: ignore[no-untyped-def]
    at = app().run()
    at.text_input(key="auth_join_code").input(code)
    button(at, "Meedoen").click().run()
    assert not at.exception
    return at


def conversations_of(eng: sa.Engine) -> list[Conversation]:
    with Session(eng) as s:
        return list(s.exec(select(Conversation).order_by(Conversation.id)))


def turns_of(eng: sa.Engine, cid: int) -> list[Turn]:
    with Session(eng) as s:
        return list(s.exec(select(Turn).where(Turn.conversation_id == cid).order_by(Turn.index)))


def test_full_roleplay_with_consent_skip_feedback_pause_and_stop(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    at = join(code)
    page = texts(at)
    assert "Voordat je begint" in page and "Dit scenario gaat over" in page
    assert [b.label for b in at.button][:3] == ["Overslaan", "Pauze", "Nu stoppen"]
    assert button(at, "Beginnen").disabled  # consent must be answered first

    button(at, "Overslaan").click().run()  # skip the first scenario at its warning
    assert conversations_of(eng)[0].status == ConversationStatus.skipped

    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    assert not at.exception
    assert "Jouw rol:" in at.expander[0].label
    assert "basislijn" in texts(at)  # the reference bot says it is the offline baseline
    assert [b.label for b in at.button][:3] == ["Overslaan", "Pauze", "Nu stoppen"]

    at.chat_input[0].set_value("Hoi, ik weet niet of ik hier goed zit.").run()
    assert not at.exception
    conv = conversations_of(eng)[-1]
    assert conv.consent_to_use is True and conv.status == ConversationStatus.active
    turns = turns_of(eng, conv.id or 0)
    assert [t.role for t in turns] == [TurnRole.user, TurnRole.assistant]
    assert turns[0].consent_to_use is True
    assert [m.name for m in at.chat_message] == ["user", "assistant"]

    # Quick feedback on the reply with the lived-experience rubric.
    at.radio(key=f"rp_fb_{turns[1].id}_felt_safe").set_value(4)
    at.radio(key=f"rp_fb_{turns[1].id}_felt_heard").set_value(5)
    button(at, "Feedback geven").click().run()
    with Session(eng) as s:
        fb = s.exec(select(Rating)).one()
    assert fb.status == RatingStatus.submitted and fb.values["felt_safe"] == 4
    assert fb.turn_id == turns[1].id

    # Something that looks like a real phone number is held back with a gentle question.
    at.chat_input[0].set_value("Bel me op 06-12345678 als hij weg is").run()
    assert "echte persoonlijke gegevens" in texts(at)
    assert len(turns_of(eng, conv.id or 0)) == 2
    button(at, "Niet versturen, ik pas het aan").click().run()
    assert "echte persoonlijke gegevens" not in texts(at)
    # Back in the input to change (issue 14, item 4), and still not sent.
    assert at.chat_input[0].proto.value == "Bel me op 06-12345678 als hij weg is"
    assert at.chat_input[0].proto.set_value and len(turns_of(eng, conv.id or 0)) == 2

    at.chat_input[0].set_value("Hij heeft me gisteren geslagen.").run()
    assert len(turns_of(eng, conv.id or 0)) == 4
    assert len(at.chat_message) == 4

    button(at, "Pauze").click().run()
    assert "Je hebt pauze" in texts(at)
    assert conversations_of(eng)[-1].status == ConversationStatus.paused
    button(at, "Verder gaan").click().run()
    assert conversations_of(eng)[-1].status == ConversationStatus.active
    assert len(at.chat_message) == 4

    button(at, "Nu stoppen").click().run()
    page = texts(at)
    assert conversations_of(eng)[-1].status == ConversationStatus.stopped
    for contact in ("0800-2000", "112", "0800-0113", "0900-0101", "begeleider"):
        assert contact in page
    assert "Je bent gestopt" in page


def test_refresh_continues_the_open_conversation(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    code = accounts.issue_join_code(engine=eng, training_day_id=day_id)
    at = join(code)
    at.radio[0].set_value("no").run()
    button(at, "Beginnen").click().run()
    at.chat_input[0].set_value("Hoi, mag ik iets vragen?").run()
    assert len(at.chat_message) == 2
    again = join(code)  # a new browser session: the same code brings the same person back
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    assert len(conversations_of(eng)) == 1 and conversations_of(eng)[0].consent_to_use is False


def test_exposure_cap_ends_the_day_with_a_debrief(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, exposure_cap=1)
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    at.chat_input[0].set_value("Hoi.").run()
    button(at, "Klaar met dit scenario").click().run()
    assert "Dank je wel voor het spelen" in texts(at)
    assert "Volgend scenario" not in [b.label for b in at.button]  # cap of 1 reached
    assert conversations_of(eng)[0].status == ConversationStatus.finished
    fresh = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    assert "Voordat je begint" in texts(fresh)  # another member starts normally
    again = app()
    again.session_state["auth_participant_id"] = conversations_of(eng)[0].participant_id
    again.run()
    assert "Dat is genoeg voor vandaag" in texts(again)
    assert "0800-2000" in texts(again)


class FlakyBot(BaseBot):
    """Refuses the first connection, then answers."""

    kind = BotKind.reference
    model = "flaky"
    parameters: dict = {}

    def __init__(self) -> None:
        self.calls = 0

    def _iter_chunks(self, request, meta):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == 1:
            raise ConnectionRefused("nobody home")
        yield from ("Fijn ", "dat ", "je ", "schrijft.")


def test_a_bot_failure_keeps_the_message_and_offers_try_again(eng, library, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bot = FlakyBot()
    from workbench.services.training import _conversations

    monkeypatch.setattr(_conversations, "bot_for", lambda target, **kw: bot)
    day_id = reference_day(eng, library)
    at = join(accounts.issue_join_code(engine=eng, training_day_id=day_id))
    at.radio[0].set_value("yes").run()
    button(at, "Beginnen").click().run()
    at.chat_input[0].set_value("Hallo?").run()
    assert "niet bereikbaar" in texts(at) and "Je bericht is bewaard" in texts(at)
    assert at.chat_input[0].disabled  # no new message on top of an unanswered one
    conv = conversations_of(eng)[-1]
    assert [(t.role, t.status) for t in turns_of(eng, conv.id or 0)] ==\
        [(TurnRole.user, "ok"), (TurnRole.assistant, "failed")]
    button(at, "Opnieuw proberen").click().run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert turns_of(eng, conv.id or 0)[-1].content == "Fijn dat je schrijft."
    assert not at.chat_input[0].disabled


def test_skip_pause_stop_also_stay_in_the_sidebar(eng, library) -> None:  # type: ignore[no-untyped-def]
    """The controls are repeated in the sidebar, which stays in view while the chat scrolls."""
    at = join(accounts.issue_join_code(engine=eng, training_day_id=reference_day(eng, library)))
    keys = {b.key for b in at.sidebar.button}
    assert {"rp_skip_side", "rp_pause_side", "rp_stop_side"} <= keys
