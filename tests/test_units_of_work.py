"""A use-case is one unit of work: starting a role-play decides and creates in one transaction
(two tabs get one conversation), and a panel message costs at most three transactions, on
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tests.training_support import panel_member, staff
from workbench.domain.enums import ConversationKind
from workbench.services import targets, training
from workbench.storage.db import session_scope
from workbench.storage.tables import Conversation


@contextmanager
def counting_transactions(engine: sa.Engine) -> Iterator[list[int]]:
    """How many transactions the code in the block begins on `engine`."""
    seen = [0]

    def on_begin(_conn: Any) -> None:
        seen[0] += 1

    sa.event.listen(engine, "begin", on_begin)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "begin", on_begin)


@pytest.fixture
def day(engine: sa.Engine, library: Any, fast_hashing: None) -> tuple[sa.Engine, int]:
    target = targets.list_targets(engine=engine)[0]
    day_id = training.create_day(engine=engine, library=library, name="Dag", day=date.today(),
                                 scenario_ids=sorted(library.scenarios)[:3],
                                 bot_target_ids=[target.id])
    return engine, day_id


def test_two_tabs_starting_the_same_roleplay_create_one_conversation(day: Any,
                                                                     library: Any) -> None:
    engine, day_id = day
    member = panel_member(engine, day_id)
    where = training.roleplay_state(engine=engine, library=library,
                                    participant_id=member.participant_id)
    assert where.next_card is not None
    barrier = threading.Barrier(8)
    got: list[int] = []
    errors: list[BaseException] = []

    def tab() -> None:
        barrier.wait()
        try:
            got.append(training.begin_roleplay(
                engine=engine, library=library, participant_id=member.participant_id,
                scenario_id=where.next_card.scenario_id, consent=True))  # type: ignore[union-attr]
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=tab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with session_scope(engine) as s:
        convs = s.exec(select(Conversation).where(
            Conversation.participant_id == member.participant_id,
            Conversation.kind == ConversationKind.roleplay)).all()
    assert len(convs) == 1 and set(got) == {convs[0].id}


def test_the_database_refuses_a_second_open_roleplay(day: Any, library: Any) -> None:
    engine, day_id = day
    member = panel_member(engine, day_id)
    training.begin_roleplay(engine=engine, library=library, participant_id=member.participant_id,
                            scenario_id=sorted(library.scenarios)[0], consent=True)
    target = targets.list_targets(engine=engine)[0]
    with pytest.raises(sa.exc.IntegrityError):
        training.start_conversation(
            engine=engine, kind=ConversationKind.roleplay, bot_target_id=target.id,
            scenario_id=sorted(library.scenarios)[1], library=library,
            participant_id=member.participant_id, training_day_id=day_id, consent_to_use=True)


def test_a_roleplay_start_is_one_transaction_and_a_message_at_most_three(day: Any,
                                                                         library: Any) -> None:
    engine, day_id = day
    member = panel_member(engine, day_id)
    scenario = sorted(library.scenarios)[0]
    with counting_transactions(engine) as started:
        cid = training.begin_roleplay(engine=engine, library=library,
                                      participant_id=member.participant_id,
                                      scenario_id=scenario, consent=True)
    assert started[0] == 1
    with counting_transactions(engine) as message:
        training.send_message(engine=engine, participant_id=member.participant_id,
                              conversation_id=cid, text="Hij heeft me gisteren geduwd.")
        handle = training.stream_reply(engine=engine, conversation_id=cid)
        text = "".join(handle)
    assert text and handle.turn_id is not None
    assert message[0] <= 3, message[0]
    print(f"\ntransactions: role-play start {started[0]}, panel message {message[0]}")


def test_the_next_reply_to_score_is_chosen_and_loaded_in_one_transaction(day: Any,
                                                                         library: Any) -> None:
    engine, day_id = day
    member = panel_member(engine, day_id)
    cid = training.begin_roleplay(engine=engine, library=library,
                                  participant_id=member.participant_id,
                                  scenario_id=sorted(library.scenarios)[0], consent=True)
    training.send_message(engine=engine, participant_id=member.participant_id,
                          conversation_id=cid, text="Hij heeft me gisteren geduwd.")
    handle = training.stream_reply(engine=engine, conversation_id=cid)
    "".join(handle)
    expert = staff(engine, "expert-1")
    with counting_transactions(engine) as read:
        item = training.next_item(engine=engine, rater_id=expert.participant_id,
                                  training_day_id=day_id)
    assert item is not None and item.turn_id == handle.turn_id
    assert read[0] == 1, read[0]
