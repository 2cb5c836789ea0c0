"""Training days, the rater's queue, submits, role-play moves and pairwise pairs (services)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from tests.training_support import (
    panel_member,
    reference_day,
    roleplay_replies,
    staff,
)
from workbench.domain.enums import (
    ConversationStatus,
    PairwiseChoice,
    RatingStatus,
)
from workbench.services import targets, training
from workbench.services.errors import UserError
from workbench.storage.tables import (
    Conversation,
    PairwiseJudgement,
    Rating,
    RatingScore,
    RubricVersion,
)

pytestmark = pytest.mark.usefixtures("fast_hashing")



def full_values(item: training.ScoringItem, score: int = 4) -> dict:
    return {c.key: (score if c.scale == "likert_5" else "yes") for c in item.rubric.criteria}


def test_create_day_records_rubric_versions_and_checks_its_setup(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    day = training.get_day(engine=eng, training_day_id=day_id)
    assert day.is_open and day.overlap == 2 and len(day.prompt_version_ids) == 1
    with Session(eng) as s:
        rvs = {rv.id: rv for rv in s.exec(select(RubricVersion))}
    assert rvs[day.expert_rubric_version_id].rubric_id == "expert"
    assert rvs[day.panel_rubric_version_id].rubric_id == "lived-experience"
    target = targets.list_targets(engine=eng)[0].id
    for over, key in [(dict(scenario_ids=[]), "day.no_scenarios"),
                      (dict(scenario_ids=["nope"]), "day.no_such_scenario"),
                      (dict(overlap=0), "day.bad_overlap"),
                      (dict(expert_rubric_id="lived-experience"), "day.rubric_wrong_audience"),
                      (dict(prompt_version_ids=[999]), "day.prompt_not_of_target"),
                      (dict(bot_target_ids=[]), "day.no_bot")]:
        fields = dict(name="x", day=date.today(), scenario_ids=sorted(library.scenarios)[:1],
                      bot_target_ids=[target])
        fields.update(over)
        with pytest.raises(UserError) as exc:
            training.create_day(engine=eng, library=library, **fields)
        assert exc.value.key == key


def test_queue_respects_overlap_own_roleplay_and_drafts(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, overlap=2)
    member = panel_member(eng, day_id)
    r1, r2 = roleplay_replies(eng, library, member)
    e1, e2, e3 = (staff(eng, f"e{i}") for i in (1, 2, 3))
    # Never the rater's own role-play.
    assert training.next_turn_id(engine=eng, rater_id=member.participant_id,
                                training_day_id=day_id) is None
    item = training.next_item(engine=eng, rater_id=e1.participant_id, training_day_id=day_id)
    assert item is not None and item.turn_id == r1  # oldest first
    assert item.scenario is not None and item.scenario.risk_level
    assert [role for role, _ in item.context] == ["user"]
    training.submit_rating(engine=eng, rater_id=e1.participant_id, turn_id=r1,
                   rubric_version_id=item.rubric_version_id, form=training.RatingInput(
                       values=full_values(item)))
    assert training.next_turn_id(engine=eng, rater_id=e1.participant_id,
                                training_day_id=day_id)[0] == r2  # type: ignore[index]
    # e2 keeps a draft of r1: it comes back first, and it holds r1 for a third rater.
    training.save_draft(engine=eng, rater_id=e2.participant_id, turn_id=r1,
                       rubric_version_id=item.rubric_version_id,
                       form=training.RatingInput(values={"safety": 3}, comment="half"))
    assert training.next_turn_id(engine=eng, rater_id=e3.participant_id,
                                training_day_id=day_id)[0] == r2  # type: ignore[index]
    resumed = training.next_item(engine=eng, rater_id=e2.participant_id, training_day_id=day_id)
    assert resumed is not None and resumed.turn_id == r1 and resumed.draft is not None
    assert resumed.draft.values == {"safety": 3} and resumed.draft.comment == "half"
    training.submit_rating(engine=eng, rater_id=e2.participant_id, turn_id=r1,
                   rubric_version_id=item.rubric_version_id,
                   form=training.RatingInput(values=full_values(item)))
    progress = training.day_progress(engine=eng, training_day_id=day_id)
    assert (progress.replies, progress.replies_scored, progress.replies_unscored) == (2, 1, 1)
    assert progress.conversations_started == 1 and progress.panel_members == 1
    # Skipping past a reply shows the ones after it.
    assert training.next_turn_id(engine=eng, rater_id=e3.participant_id, training_day_id=day_id,
                                after_turn_id=r2) is None


def test_submit_computes_the_verdict_and_never_duplicates(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library)
    r1, _ = roleplay_replies(eng, library, panel_member(eng, day_id))
    rater = staff(eng, "e1")
    item = training.next_item(engine=eng, rater_id=rater.participant_id, training_day_id=day_id)
    assert item is not None
    values = full_values(item)
    values["safety"] = 1  # critical: makes the reply unsafe
    span = item.reply.split(".")[0]
    form = training.RatingInput(values=values, ideal_reply="Ben je nu veilig?", unsafe_flag=True,
                               unsafe_span=span)
    args = dict(engine=eng, rater_id=rater.participant_id, turn_id=r1,
                rubric_version_id=item.rubric_version_id)
    with pytest.raises(UserError) as exc:
        training.submit_rating(**args, form=training.RatingInput(values=values, unsafe_flag=True))
    assert exc.value.key == "scoring.span_needed"
    with pytest.raises(UserError) as exc:
        training.submit_rating(**args, form=training.RatingInput(values=values, unsafe_flag=True,
                                                         unsafe_span="niet in het antwoord"))
    assert exc.value.key == "scoring.span_not_in_reply"
    with pytest.raises(UserError) as exc:
        training.submit_rating(**args, form=training.RatingInput(values={"safety": 4}))
    assert exc.value.key == "scoring.incomplete"
    first = training.submit_rating(**args, form=form)
    second = training.submit_rating(**args, form=training.RatingInput(values=full_values(item, 5)))
    assert first.unsafe and not first.already_submitted
    assert second.already_submitted and second.rating_id == first.rating_id
    with Session(eng) as s:
        ratings = s.exec(select(Rating)).all()
        assert len(ratings) == 1
        r = ratings[0]
        assert r.status == RatingStatus.submitted and r.unsafe and r.unsafe_flag
        assert r.unsafe_span == span and r.ideal_reply == "Ben je nu veilig?"
        assert r.values["would_send"] == 1 and r.values["safety"] == 1
        scores = s.exec(select(RatingScore).where(RatingScore.rating_id == r.id)).all()
        assert len(scores) == len(item.rubric.criteria)


def test_roleplay_moves_consent_and_exposure_cap(eng, library) -> None:  # type: ignore[no-untyped-def]
    day_id = reference_day(eng, library, exposure_cap=1)
    member = panel_member(eng, day_id)
    pid = member.participant_id
    first = training.roleplay_state(engine=eng, library=library, participant_id=pid)
    assert first.next_card is not None and first.played == 0
    with pytest.raises(UserError):
        training.begin_roleplay(engine=eng, library=library, participant_id=pid,
                       scenario_id=first.next_card.scenario_id, consent=None)
    training.decline_scenario(engine=eng, library=library, participant_id=pid,
                     scenario_id=first.next_card.scenario_id)
    second = training.roleplay_state(engine=eng, library=library, participant_id=pid)
    assert second.next_card is not None
    assert second.next_card.scenario_id != first.next_card.scenario_id and second.played == 0
    cid = training.begin_roleplay(engine=eng, library=library, participant_id=pid,
                         scenario_id=second.next_card.scenario_id, consent=False)
    training.send_message(engine=eng, participant_id=pid, conversation_id=cid, text="Hoi")
    other = panel_member(eng, day_id)
    with pytest.raises(UserError):
        training.send_message(engine=eng, participant_id=other.participant_id, conversation_id=cid,
                      text="niet van mij")
    training.set_roleplay_status(engine=eng, participant_id=pid, conversation_id=cid,
                        status=ConversationStatus.paused)
    paused = training.roleplay_state(engine=eng, library=library, participant_id=pid)
    assert paused.current_status == ConversationStatus.paused and paused.current_is_reference
    training.set_roleplay_status(engine=eng, participant_id=pid, conversation_id=cid,
                        status=ConversationStatus.stopped)
    done = training.roleplay_state(engine=eng, library=library, participant_id=pid)
    assert done.current_conversation_id is None and done.played == 1 and done.cap_reached
    with pytest.raises(UserError) as exc:
        training.begin_roleplay(engine=eng, library=library, participant_id=pid,
                       scenario_id=done.next_card.scenario_id, consent=True)  # type: ignore[union-attr]
    assert exc.value.key == "roleplay.cap_reached"
    with Session(eng) as s:
        convs = s.exec(select(Conversation).where(Conversation.participant_id == pid)
                       .order_by(Conversation.id)).all()
    assert [c.status for c in convs] == [ConversationStatus.skipped, ConversationStatus.stopped]
    assert convs[1].consent_to_use is False
    turns = training.transcript(engine=eng, conversation_id=cid)
    assert turns[0].consent_to_use is False


def two_versions_answering_the_same_turn(eng, library) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Scripted runs of one scenario by two prompt versions of the reference bot."""
    runner = staff(eng, "runner")
    target = targets.list_targets(engine=eng)[0]
    v1 = training.prompt_choices(engine=eng)[0].id
    targets.set_target_prompt(engine=eng, name=target.name, prompt="Kort en warm.", label="v2")
    v2 = next(c.id for c in training.prompt_choices(engine=eng) if c.is_current)
    sid = sorted(library.scenarios)[0]
    replies = []
    for pv in (v1, v2):
        cid = training.start_scripted(engine=eng, library=library,
                                      participant_id=runner.participant_id,
                             scenario_id=sid, prompt_version_id=pv)
        training.send_next_scripted(engine=eng, conversation_id=cid,
                                    participant_id=runner.participant_id)
        replies.append(training.complete_reply(engine=eng, conversation_id=cid).id or 0)
    return replies[0], replies[1]


def test_pairwise_pairs_same_context_and_records_the_sides(eng, library) -> None:  # type: ignore[no-untyped-def]
    a, b = two_versions_answering_the_same_turn(eng, library)
    rater = staff(eng, "judge1")
    item = training.next_pair(engine=eng, rater_id=rater.participant_id)
    assert item is not None and (item.turn_a_id, item.turn_b_id) == (a, b)
    assert item.left_turn_id == training.left_turn_for(rater.participant_id, a, b)
    assert {item.left_turn_id, item.right_turn_id} == {a, b}
    assert [role for role, _ in item.context] == ["user"]
    jid = training.record_pair(engine=eng, rater_id=rater.participant_id, item=item,
                          preferred="left", reason="warmer")
    assert training.record_pair(engine=eng, rater_id=rater.participant_id, item=item,
                           preferred="right") == jid
    with Session(eng) as s:
        j = s.exec(select(PairwiseJudgement)).one()
    assert j.left_turn_id == item.left_turn_id and j.reason == "warmer"
    assert j.choice == (PairwiseChoice.a if item.left_turn_id == a else PairwiseChoice.b)
    assert training.next_pair(engine=eng, rater_id=rater.participant_id) is None
    # Sides are drawn per rater: over many raters both sides occur.
    assert {training.left_turn_for(r, a, b) for r in range(20)} == {a, b}


def test_queue_progress_and_pairs_on_both_databases(engine, library) -> None:  # type: ignore[no-untyped-def]
    """The queue's SQL, the progress counts and a pair, on SQLite and on PostgreSQL."""
    day_id = reference_day(engine, library, overlap=1)
    r1, r2 = roleplay_replies(engine, library, panel_member(engine, day_id))
    rater = staff(engine, "pg-expert")
    item = training.next_item(engine=engine, rater_id=rater.participant_id, training_day_id=day_id)
    assert item is not None and item.turn_id == r1
    # The counter beside the form: 1 of 2, then a draft still counts as open.
    progress = training.queue_progress(engine=engine, rater_id=rater.participant_id,
                                       training_day_id=day_id)
    assert progress is not None and (progress.done, progress.open) == (0, 2)
    training.save_draft(engine=engine, rater_id=rater.participant_id, turn_id=r1,
                        rubric_version_id=item.rubric_version_id,
                        form=training.RatingInput(values={"safety": 3}))
    progress = training.queue_progress(engine=engine, rater_id=rater.participant_id,
                                       training_day_id=day_id)
    assert progress is not None and (progress.position, progress.total) == (1, 2)
    for turn_id in (r1, r1, r2):
        training.submit_rating(engine=engine, rater_id=rater.participant_id, turn_id=turn_id,
                       rubric_version_id=item.rubric_version_id,
                       form=training.RatingInput(values=full_values(item)))
    p = training.day_progress(engine=engine, training_day_id=day_id)
    assert (p.replies, p.replies_scored, p.replies_unscored, p.ratings_submitted) == (2, 2, 0, 2)
    assert training.next_item(engine=engine, rater_id=staff(engine, "e2").participant_id,
                             training_day_id=day_id) is None  # overlap 1 is met
    progress = training.queue_progress(engine=engine, rater_id=rater.participant_id,
                                       training_day_id=day_id)
    assert progress is not None and (progress.done, progress.open, progress.position) == (2, 0, 2)
    later = training.queue_progress(engine=engine, rater_id=staff(engine, "e3").participant_id,
                                    training_day_id=day_id)
    assert later is not None and later.total == 0  # nothing left for them: no counter
    a, b = two_versions_answering_the_same_turn(engine, library)
    pair = training.next_pair(engine=engine, rater_id=rater.participant_id)
    assert pair is not None and (pair.turn_a_id, pair.turn_b_id) == (a, b)


def test_nul_bytes_in_the_form_are_dropped_not_a_crash(engine, library) -> None:  # type: ignore[no-untyped-def]
    """A pasted NUL (PostgreSQL refuses it in text) in the comment, the rewrite or the quote."""
    day_id = reference_day(engine, library)
    r1, _ = roleplay_replies(engine, library, panel_member(engine, day_id))
    rater = staff(engine, "nul-expert")
    item = training.next_item(engine=engine, rater_id=rater.participant_id, training_day_id=day_id)
    assert item is not None
    span = item.reply.split(".")[0]
    form = training.RatingInput(values=full_values(item), comment="kort\x00 en\x00 goed",
                                ideal_reply="Bel 112 of 0800-2000.\x00", unsafe_flag=True,
                                unsafe_span=span[:3] + "\x00" + span[3:])
    training.submit_rating(engine=engine, rater_id=rater.participant_id, turn_id=r1,
                           rubric_version_id=item.rubric_version_id, form=form)
    with Session(engine) as s:
        r = s.exec(select(Rating)).one()
    assert (r.comment, r.ideal_reply, r.unsafe_span) == ("kort en goed", "Bel 112 of 0800-2000.",
                                                         span)
